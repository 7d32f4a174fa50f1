-- ddl_messages: the errors a new user meets first say where and what to type
-- (issue 9): the caret under the token a syntax error names, a hint to quote
-- a TTL, and the role that runs featstore statements
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT command FROM featstore.exec($$CREATE ENTITY user (user_id text)$$);

-- a missing comma between two features: the caret is under "b", not under
-- the start of the statement
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FEATURES (a bigint b text) $$;
DO LANGUAGE featstore $$
CREATE FEATURE GROUP g ENTITY user
    FEATURES (a bigint, c double precision d text)
$$;
-- the same in a key column, and through featstore.exec()
SELECT featstore.exec($$CREATE ENTITY device (device_id big int)$$);
-- outside a block (the SQL functions) there is no text to point into
SELECT featstore.create_feature_group('g', 'user', ARRAY['a'], ARRAY['bigint b text']);

-- a TTL is a string: the unquoted forms get a hint that quotes it
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FEATURES (a bigint) TTL 24h $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FEATURES (a bigint) TTL INTERVAL 24h $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FEATURES (a bigint) TTL 24 $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FEATURES (a bigint) TTL '24 hours' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP g SET TTL 48h $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP g SET TTL 48 $$;
-- a number elsewhere, or another scanner error after TTL, gets no TTL hint
DO LANGUAGE featstore $$ CREATE ENTITY e2 (k text) OWNER 24h $$;
SELECT featstore.exec($q$ CREATE FEATURE GROUP g ENTITY user FEATURES (a bigint) TTL '24 hours $q$);
SELECT name, ttl FROM featstore.feature_groups ORDER BY name;

-- a featstore_reader running DDL is told which role runs it
CREATE ROLE fs_msg_reader LOGIN IN ROLE featstore_reader;
SET ROLE fs_msg_reader;
DO LANGUAGE featstore $$ CREATE ENTITY account (account_id bigint) $$;
-- other languages are PostgreSQL's business
DO LANGUAGE plpgsql $$ BEGIN RAISE NOTICE 'plpgsql still runs'; END $$;
DO $$ BEGIN RAISE NOTICE 'so does the default language'; END $$;
-- the reader still browses
SELECT name FROM featstore.entities ORDER BY name;
RESET ROLE;
DROP ROLE fs_msg_reader;
SELECT count(*) AS accounts FROM featstore.entities WHERE name = 'account';

-- a row without event_timestamp gets featstore's hint, from INSERT and COPY
-- (created_at given, so the failing row shows no clock); a table that merely
-- has a column of that name does not
INSERT INTO g (user_id, created_at, a) VALUES ('u1', '2024-01-01 00:00+00', 1);
INSERT INTO g (user_id, event_timestamp, created_at, a) VALUES ('u1', NULL, '2024-01-01 00:00+00', 1);
COPY g (user_id, created_at, a) FROM stdin;
u1	2024-01-01 00:00+00	1
\.
CREATE TABLE msg_plain (event_timestamp timestamptz NOT NULL);
INSERT INTO msg_plain VALUES (NULL);
DROP TABLE msg_plain;
SELECT count(*) AS rows_kept FROM g;

-- the tests share one database: leave it as found
DO LANGUAGE featstore $$ DROP FEATURE GROUP g; DROP ENTITY user $$;
