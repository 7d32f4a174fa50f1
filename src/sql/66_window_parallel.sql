-- The point-in-time join's window strategy may read a source group's
-- events in parallel workers (docs/pit-join.md): a query that names the
-- group's view must not lose parallel mode to the view's function, which
-- itself still runs only in the leader.
ALTER FUNCTION featstore.window_timeline(text) PARALLEL RESTRICTED;
