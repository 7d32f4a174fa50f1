-- featstore 0.2.0 -> 0.3.0
-- Security and exactness (issue 8): every function pins its search_path,
-- group tables are read as their owners, online reads check privileges.
\echo Use "ALTER EXTENSION featstore UPDATE TO '0.3.0'" to load this file. \quit

-- reads:
COMMENT ON COLUMN featstore.materialization_status.last_error IS 'The latest error of the worker or of this group; <insufficient privilege> for roles that cannot read every group it may concern (it may quote key values)';
