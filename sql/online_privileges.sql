-- online reads and privileges: online_features and verify_online read a
-- group only for roles that could SELECT its table, and the status view
-- hides errors (which may quote key values) from roles that could not.
-- The worker serves this database (test/featstore.conf).
\set SHOW_CONTEXT never
CREATE FUNCTION fs_test_wait_online() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..300 LOOP
		IF NOT EXISTS (SELECT 1 FROM featstore.online_queue_depth())
		   AND (SELECT state FROM featstore.online_worker_status()) = 'idle' THEN
			RETURN 'caught up';
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN 'timed out: ' || (SELECT string_agg(group_name || '=' || queued_entities, ', ')
							   FROM featstore.online_queue_depth());
END
$$;
CREATE ROLE online_alice LOGIN IN ROLE featstore_editor;
CREATE ROLE online_bob LOGIN IN ROLE featstore_reader;
CREATE SCHEMA online_alice AUTHORIZATION online_alice;

-- alice, an editor, keeps salaries in a group of her own schema
SET ROLE online_alice;
SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY op_customer (customer_id bigint);
	CREATE FEATURE GROUP online_alice.secret_fg ENTITY op_customer
		FEATURES (salary bigint 'Yearly salary', grade text 'Pay grade') ONLINE;
$$);
INSERT INTO online_alice.secret_fg (customer_id, event_timestamp, salary, grade)
VALUES (1, now() - interval '1 hour', 50000, 'B'),
	   (2, now() - interval '1 hour', 999999, 'A');
RESET ROLE;
SELECT fs_test_wait_online();

-- she reads her own group
SET ROLE online_alice;
SELECT status, features FROM featstore.online_features('secret_fg', '2');
SELECT * FROM featstore.verify_online('secret_fg');
RESET ROLE;

-- bob, a reader with no USAGE on her schema, reads neither Redis nor the
-- comparison, and learns no value from the error
SET ROLE online_bob;
SELECT status, features FROM featstore.online_features('secret_fg', '2');
SELECT * FROM featstore.verify_online('secret_fg');
RESET ROLE;

-- USAGE on the schema is not enough
SET ROLE online_alice;
GRANT USAGE ON SCHEMA online_alice TO online_bob;
SET ROLE online_bob;
SELECT status, features FROM featstore.online_features('secret_fg', '2');
SELECT * FROM featstore.verify_online('secret_fg');
RESET ROLE;

-- nor SELECT on some of the columns featstore reads; all of them are
SET ROLE online_alice;
GRANT SELECT (customer_id, event_timestamp, created_at, salary) ON online_alice.secret_fg TO online_bob;
SET ROLE online_bob;
SELECT status, features FROM featstore.online_features('secret_fg', '2');
RESET ROLE;
SET ROLE online_alice;
GRANT SELECT (grade) ON online_alice.secret_fg TO online_bob;
SET ROLE online_bob;
SELECT status, features FROM featstore.online_features('secret_fg', '2');
SELECT * FROM featstore.verify_online('secret_fg');
RESET ROLE;

-- SELECT on the table, without USAGE on the schema, is not enough either;
-- the hint asks only for what is missing
SET ROLE online_alice;
REVOKE SELECT (customer_id, event_timestamp, created_at, salary, grade) ON online_alice.secret_fg FROM online_bob;
GRANT SELECT ON online_alice.secret_fg TO online_bob;
REVOKE USAGE ON SCHEMA online_alice FROM online_bob;
SET ROLE online_bob;
SELECT status, features FROM featstore.online_features('secret_fg', '2');
RESET ROLE;

-- the privileges are the current role's: a SECURITY DEFINER function of a
-- role that may read the group reads it for its callers
CREATE FUNCTION online_alice.salary_of(id text) RETURNS jsonb LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT features->'salary' FROM featstore.online_features('secret_fg', id) $$;
ALTER FUNCTION online_alice.salary_of(text) OWNER TO online_alice;
SET ROLE online_alice;
GRANT USAGE ON SCHEMA online_alice TO online_bob;
REVOKE SELECT ON online_alice.secret_fg FROM online_bob;
SET ROLE online_bob;
SELECT online_alice.salary_of('1') AS salary_through_alice;
SELECT status FROM featstore.online_features('secret_fg', '1');
RESET ROLE;

-- an error of the worker may quote key values (here an entity key that is
-- not a bigint, queued by hand): roles that cannot read the group see
-- "<insufficient privilege>" in its place
INSERT INTO featstore.online_queue (group_name, keys, entities)
VALUES ('secret_fg', ARRAY[['c2-999999']], 1);
DO $$
BEGIN
	FOR i IN 1..100 LOOP
		EXIT WHEN (SELECT last_error FROM featstore.materialization_status
					WHERE group_name = 'secret_fg') LIKE '%c2-999999%';
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SELECT last_error LIKE '%c2-999999%' AS superuser_sees_it
  FROM featstore.materialization_status WHERE group_name = 'secret_fg';
SET ROLE online_bob;
SELECT group_name, last_error, last_error_at IS NOT NULL AS has_error_time
  FROM featstore.materialization_status WHERE group_name = 'secret_fg';
SELECT coalesce(last_error, '') NOT LIKE '%c2-999999%' AS key_hidden FROM featstore.online_worker_status();
SELECT count(*) AS errors_with_the_key FROM featstore.online_group_status() WHERE last_error LIKE '%c2-999999%';
RESET ROLE;
DELETE FROM featstore.online_queue WHERE keys = ARRAY[['c2-999999']];
SELECT fs_test_wait_online();

SELECT command FROM featstore.exec($$
	DROP FEATURE GROUP secret_fg;
	DROP ENTITY op_customer;
$$);
SELECT fs_test_wait_online();
DROP FUNCTION online_alice.salary_of(text);
DROP SCHEMA online_alice;
DROP ROLE online_alice;
DROP ROLE online_bob;
DROP FUNCTION fs_test_wait_online();
