-- scheduled SQL transformations (issue 10, part 2): CREATE FEATURE GROUP ...
-- AS query SCHEDULE ..., its errors, featstore.refresh() and the record of
-- runs.  The worker serves this database, so the scheduled group below may
-- run at any moment: only SCHEDULE MANUAL groups show rows and runs.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT coalesce(max(id), 0) AS history_before FROM featstore.definition_history \gset
SELECT featstore.exec($$CREATE ENTITY user (user_id bigint)$$);
SELECT featstore.exec($$CREATE ENTITY account (region text, account_id integer)$$);
CREATE SCHEMA app;
CREATE TABLE app.users (user_id bigint, birth_date date, country text, flag boolean DEFAULT false,
	seen timestamp, code text);
INSERT INTO app.users VALUES (1, '1990-05-01', 'FR', false, '2026-01-01', '7'),
	(2, '2001-01-01', 'DE', false, '2026-01-02', '8');
CREATE TABLE app.accounts (region text, account_id integer, balance numeric(12,2));
INSERT INTO app.accounts VALUES ('eu', 1, 10.50), ('us', 1, -3);

-- the issue's spelling, as shown
DO LANGUAGE featstore $$
CREATE FEATURE GROUP user_profile ENTITY user
    AS SELECT user_id, now() AS event_timestamp, date_part('year', age(birth_date))::int AS age_years, country
       FROM app.users
    SCHEDULE '1 hour'
    FEATURES (age_years integer 'Age in whole years', country text 'Country code');
$$;
SELECT group_name, query, columns, schedule_text, schedule, next_run_at IS NOT NULL AS scheduled
  FROM featstore.transformations;

-- SCHEDULE MANUAL, a compound text key, a WITH query with commas and
-- parentheses, columns in another order, an assignment cast (numeric to
-- double precision), the group options after FEATURES, and a trailing comment
SELECT * FROM featstore.exec($$
CREATE FEATURE GROUP IF NOT EXISTS public.account_balance ENTITY account
    AS WITH b AS (SELECT region, account_id, sum(balance) AS total FROM app.accounts GROUP BY 1, 2)
       SELECT total AS balance, (total < 0) AS negative, timestamptz '2026-06-01 00:00+00' AS event_timestamp,
              account_id, region
         FROM b   -- the accounts
    SCHEDULE MANUAL
    FEATURES (balance double precision, negative boolean 'below zero')
    TTL '30 days' TAGS ('finance') DESCRIPTION 'balances'
$$);
SELECT group_name, query, columns, schedule_text, schedule, next_run_at
  FROM featstore.transformations WHERE group_name = 'account_balance';
SELECT featstore.refresh('account_balance');
SELECT region, account_id, event_timestamp, balance, negative FROM account_balance ORDER BY 1, 2;
SELECT featstore.refresh('account_balance');
SELECT count(*) FROM account_balance;

-- a failing run appends nothing, is recorded, and refresh() says so
DO LANGUAGE featstore $$
CREATE FEATURE GROUP flaky ENTITY user
    AS SELECT user_id, timestamptz '2026-06-01 00:00+00' AS event_timestamp,
              100 / CASE WHEN flag THEN 0 ELSE 1 END AS v
         FROM app.users
    SCHEDULE MANUAL
    FEATURES (v integer);
$$;
SELECT featstore.refresh('flaky');
UPDATE app.users SET flag = true WHERE user_id = 2;
SELECT featstore.refresh('flaky');
SELECT featstore.refresh('flaky');
UPDATE app.users SET flag = false;
SELECT featstore.refresh('flaky');
SELECT count(*) FROM flaky;
SELECT id - min(id) OVER () AS run, status, rows, error, sqlstate, trigger, run_by = current_user AS by_me,
	   finished_at >= started_at AS timed
  FROM featstore.transformation_runs WHERE group_name = 'flaky' ORDER BY id;
SELECT group_name, schedule, last_run_status, last_run_rows, consecutive_failures, last_error,
	   last_success_at = last_run_at AS last_ok, next_run_at, stale
  FROM featstore.transformation_status WHERE group_name IN ('flaky', 'account_balance') ORDER BY 1;

-- refresh() of what is not a transformation, or by a role that does not own the table
DO LANGUAGE featstore $$ CREATE FEATURE GROUP plain ENTITY user FEATURES (x integer) $$;
SELECT featstore.refresh('plain');
SELECT featstore.refresh('nothing');
SELECT featstore.refresh(NULL);
CREATE ROLE xform_other;
GRANT featstore_editor TO xform_other;
GRANT USAGE ON SCHEMA app TO xform_other;
SET ROLE xform_other;
SELECT featstore.refresh('flaky');
RESET ROLE;

-- ALTER FEATURE GROUP ... SET SCHEDULE plans the next run again: one new
-- schedule after the last success (or at once); MANUAL: none
SELECT * FROM featstore.exec($$ALTER FEATURE GROUP flaky SET SCHEDULE '2 hours', SET DESCRIPTION 'every two hours'$$);
SELECT schedule_text, schedule, next_run_at - last_success_at AS wait FROM featstore.transformations WHERE group_name = 'flaky';
SELECT * FROM featstore.exec($$ALTER FEATURE GROUP flaky SET SCHEDULE MANUAL$$);
SELECT schedule_text, schedule, next_run_at FROM featstore.transformations WHERE group_name = 'flaky';
DO LANGUAGE featstore $$ ALTER FEATURE GROUP flaky SET SCHEDULE '1 month' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP flaky SET SCHEDULE 5 $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP plain SET SCHEDULE '1 hour' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP flaky SET TIMETABLE '1 hour' $$;
SET ROLE xform_other;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP flaky SET SCHEDULE '1 hour' $$;
RESET ROLE;

-- errors of the grammar, each at its place with a hint; nothing is created
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp FROM app.users FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT 1; SELECT 2 SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT 1 SCHEDULE 60 FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT 1 SCHEDULE 1h FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT 1 SCHEDULE FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT 1 SCHEDULE '1 hour' x FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT 1 SCHEDULE MANUAL FEATURES (x integer AS count(*)) $$;
-- the schedule: an absolute duration, as a TTL or a window
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 AS x FROM app.users SCHEDULE '1 month' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 AS x FROM app.users SCHEDULE '0 seconds' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 AS x FROM app.users SCHEDULE '-1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 AS x FROM app.users SCHEDULE '0.5 seconds' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 AS x FROM app.users SCHEDULE '40000 days' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 AS x FROM app.users SCHEDULE 'hourly' FEATURES (x integer) $$;
-- the query: one statement that only reads
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 AS x FROM app.users WHERE SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS INSERT INTO app.users DEFAULT VALUES SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS WITH d AS (DELETE FROM app.users RETURNING *) SELECT user_id, now() AS event_timestamp, 1 AS x FROM d SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 AS x INTO app.copy FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 AS x FROM app.users FOR UPDATE SCHEDULE '1 hour' FEATURES (x integer) $$;
-- analysed as the definer with search_path = pg_catalog, pg_temp
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 AS x FROM users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, shoe_size AS x FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
CREATE TABLE app.secret (user_id bigint, x integer);
REVOKE ALL ON app.secret FROM PUBLIC;
SET ROLE xform_other;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, x FROM (SELECT * FROM app.secret) s SCHEDULE '1 hour' FEATURES (x integer) $$;
RESET ROLE;
-- the columns: exactly the keys, event_timestamp and the features, by name
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT now() AS event_timestamp, 1 AS x FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, 1 AS x FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 AS x, country FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT *, now() AS event_timestamp, 1 AS x FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 AS x, 2 AS x FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, 1 + 1 FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id::int AS user_id, now() AS event_timestamp, 1 AS x FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, seen AS event_timestamp, 1 AS x FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, birth_date AS x FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user AS SELECT user_id, now() AS event_timestamp, code AS x FROM app.users SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY account AS SELECT account_id, region::varchar AS region, now() AS event_timestamp, 1 AS x FROM app.accounts SCHEDULE '1 hour' FEATURES (x integer) $$;
-- the group's own checks still come first
DO LANGUAGE featstore $$ CREATE FEATURE GROUP user_profile ENTITY user AS SELECT 1 SCHEDULE '1 hour' FEATURES (x integer) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY nobody AS SELECT 1 SCHEDULE '1 hour' FEATURES (x integer) $$;

-- nothing was created by the refused statements; the history has the others
SELECT name FROM featstore.feature_groups ORDER BY name;
SELECT group_name FROM featstore.transformations ORDER BY 1;
SELECT count(*) AS tables_named_g FROM pg_class WHERE relname = 'g';
SELECT command, object_name, statement LIKE '%SCHEDULE%' AS has_schedule
  FROM featstore.definition_history WHERE id > :history_before ORDER BY id;

-- DROP removes the transformation and its runs
DO LANGUAGE featstore $$ DROP FEATURE GROUP flaky $$;
SELECT count(*) FROM featstore.transformations WHERE group_name = 'flaky';
SELECT count(*) FROM featstore.transformation_runs WHERE group_name = 'flaky';

-- clean up for the tests that follow in the same database
DO LANGUAGE featstore $$ DROP ENTITY user CASCADE; DROP ENTITY account CASCADE $$;
SELECT count(*) FROM featstore.transformations;
DROP SCHEMA app CASCADE;
DROP ROLE xform_other;
