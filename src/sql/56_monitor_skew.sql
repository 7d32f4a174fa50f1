-- featstore monitoring, skew checks (issue 11, part ops): what a check that
-- could not be done records, and featstore.check_skew().  docs/monitoring.md,
-- "Skew checks".

-- A scheduled check that cannot reach Redis (or fails otherwise) is recorded
-- as not done: done false, its error, sample_size and differences 0.  It is
-- not a skew alert; the freshness checks' worker_failing covers Redis.
ALTER TABLE featstore.skew_checks
	ADD COLUMN done boolean NOT NULL DEFAULT true,
	ADD COLUMN error text,
	ADD CONSTRAINT skew_checks_done_error CHECK (done = (error IS NULL));
COMMENT ON COLUMN featstore.skew_checks.done IS 'Whether the check was done; false: it could not be (Redis unreachable, say), see error; sample_size and differences are then 0';
COMMENT ON COLUMN featstore.skew_checks.error IS 'Why a check was not done: its error message; NULL when done';

CREATE FUNCTION featstore.check_skew(group_name text, sample integer DEFAULT 1000)
RETURNS featstore.skew_checks
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'check_skew';
COMMENT ON FUNCTION featstore.check_skew(text, integer) IS 'Compare Redis with the point-in-time join at now() for a sample of an online group''s entities (verify_online''s comparison), record the result in featstore.skew_checks, open or resolve the group''s skew alert, and return the check';
REVOKE ALL ON FUNCTION featstore.check_skew(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.check_skew(text, integer) TO featstore_reader;
