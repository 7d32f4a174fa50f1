-- PII and column privileges in the online reads (issue 12's gap):
-- online_features and verify_online accept a role that may SELECT the key
-- columns, event_timestamp, created_at and every non-PII feature.  A PII
-- feature whose column it may not SELECT is masked (NULL, in the one NOTICE
-- of the statement) whether or not it is a member of featstore_pii_reader;
-- a non-PII column without SELECT is still 42501.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
CREATE FUNCTION pcol_wait_online() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..300 LOOP
		IF NOT EXISTS (SELECT 1 FROM featstore.online_queue_depth())
		   AND (SELECT state FROM featstore.online_worker_status()) = 'idle' THEN
			RETURN 'caught up';
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN 'timed out';
END
$$;

CREATE ROLE pcol_owner LOGIN IN ROLE featstore_editor;
-- a team granted the non-PII columns only, not in featstore_pii_reader
CREATE ROLE pcol_team LOGIN IN ROLE featstore_reader;
-- a PII reader granted the same columns: no SELECT on a PII column, no value
CREATE ROLE pcol_reader_nogrant LOGIN IN ROLE featstore_reader, featstore_pii_reader;
-- a PII reader granted the PII column email too (not phone)
CREATE ROLE pcol_reader_email LOGIN IN ROLE featstore_reader, featstore_pii_reader;
-- a non-member granted email: still masked, it is not a PII reader
CREATE ROLE pcol_outsider_email LOGIN IN ROLE featstore_reader;
-- granted the keys and the PII columns but not the non-PII plan
CREATE ROLE pcol_partial LOGIN IN ROLE featstore_reader, featstore_pii_reader;
-- no privilege on the table at all
CREATE ROLE pcol_none LOGIN IN ROLE featstore_reader, featstore_pii_reader;
CREATE SCHEMA pcol AUTHORIZATION pcol_owner;
GRANT USAGE ON SCHEMA pcol TO PUBLIC;

SET ROLE pcol_owner;
SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY pcol_user (user_id bigint);
	CREATE FEATURE GROUP pcol.pcol_profile ENTITY pcol_user
		FEATURES (email text 'E-mail address' PII,
				  plan text 'Subscription plan',
				  phone text 'Phone number' PII)
		ONLINE;
$$);
INSERT INTO pcol.pcol_profile (user_id, event_timestamp, created_at, email, plan, phone) VALUES
	(1, '2026-11-01 10:00+00', '2026-11-01 10:00+00', 'ann@example.com', 'gold', '+33 1 11'),
	(2, '2026-11-02 10:00+00', '2026-11-02 10:00+00', 'bob@example.com', 'free', '+33 2 22');
GRANT SELECT (user_id, event_timestamp, created_at, plan) ON pcol.pcol_profile
	TO pcol_team, pcol_reader_nogrant;
GRANT SELECT (user_id, event_timestamp, created_at, plan, email) ON pcol.pcol_profile
	TO pcol_reader_email, pcol_outsider_email;
GRANT SELECT (user_id, event_timestamp, created_at, email, phone) ON pcol.pcol_profile
	TO pcol_partial;
RESET ROLE;
SELECT pcol_wait_online();

-- the team: both PII features masked, one NOTICE for the statement
SET ROLE pcol_team;
SELECT status, features FROM featstore.online_features('pcol_profile', '1');
SELECT u, o.features FROM unnest(ARRAY['1', '2']) u, featstore.online_features('pcol_profile', u) o
 ORDER BY u;
SELECT count(*) AS differences FROM featstore.verify_online('pcol_profile');
-- the PII columns themselves stay PostgreSQL's to refuse
SELECT email FROM pcol.pcol_profile;

-- a PII reader without the PII columns' SELECT: masked all the same
SET ROLE pcol_reader_nogrant;
SELECT status, features FROM featstore.online_features('pcol_profile', '1');
SELECT count(*) AS differences FROM featstore.verify_online('pcol_profile');

-- a PII reader with SELECT on email sees email; phone stays masked
SET ROLE pcol_reader_email;
SELECT status, features FROM featstore.online_features('pcol_profile', '1');

-- a non-member with SELECT on email: masked, as it is not a PII reader
SET ROLE pcol_outsider_email;
SELECT status, features FROM featstore.online_features('pcol_profile', '2');

-- no SELECT on the non-PII feature plan: today's 42501, naming the column
SET ROLE pcol_partial;
SELECT status, features FROM featstore.online_features('pcol_profile', '1');
SELECT count(*) FROM featstore.verify_online('pcol_profile');
-- no privilege at all
SET ROLE pcol_none;
SELECT status, features FROM featstore.online_features('pcol_profile', '1');
SELECT count(*) FROM featstore.verify_online('pcol_profile');
RESET ROLE;

-- a stale Redis value: verify_online reports it with the masked features
-- NULL on both sides, for each role as its privileges say
SET session_replication_role = replica;
INSERT INTO pcol.pcol_profile (user_id, event_timestamp, created_at, email, plan, phone)
	VALUES (2, '2026-11-07 10:00+00', '2026-11-07 10:00+00', 'new@example.com', 'gold', '+33 9 99');
RESET session_replication_role;
SET ROLE pcol_team;
SELECT entity, problem, expected->'features' AS expected, actual->'features' AS actual
  FROM featstore.verify_online('pcol_profile');
SET ROLE pcol_reader_nogrant;
SELECT entity, problem, expected->'features' AS expected, actual->'features' AS actual
  FROM featstore.verify_online('pcol_profile');
SET ROLE pcol_reader_email;
SELECT entity, problem, expected->'features' AS expected, actual->'features' AS actual
  FROM featstore.verify_online('pcol_profile');
-- and nothing of the masked values anywhere in the whole rows
SET ROLE pcol_team;
SELECT count(*) AS rows_with_values FROM featstore.verify_online('pcol_profile') v
 WHERE v::text ~ '@example|\+33';
RESET ROLE;
-- the owner of the table is not a PII reader: masked by membership
SET ROLE pcol_owner;
SELECT entity, problem, expected->'features' AS expected, actual->'features' AS actual
  FROM featstore.verify_online('pcol_profile');
RESET ROLE;
-- a superuser sees everything
SELECT entity, problem, expected->'features' AS expected, actual->'features' AS actual
  FROM featstore.verify_online('pcol_profile');
SELECT featstore.materialize('pcol_profile');
SELECT pcol_wait_online();
SELECT count(*) AS differences FROM featstore.verify_online('pcol_profile');

-- clean up
SET ROLE pcol_owner;
SELECT command, object_name FROM featstore.exec($$
	DROP FEATURE GROUP pcol_profile;
	DROP ENTITY pcol_user;
$$);
RESET ROLE;
SELECT pcol_wait_online();
DROP SCHEMA pcol;
DROP ROLE pcol_owner, pcol_team, pcol_reader_nogrant, pcol_reader_email, pcol_outsider_email,
	pcol_partial, pcol_none;
DROP FUNCTION pcol_wait_online();
