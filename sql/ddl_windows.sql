-- groups computed FROM a source of events (issue 10): the grammar, the
-- registry's checks and errors, and what the registry stores.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT coalesce(max(id), 0) AS history_before FROM featstore.definition_history \gset
SELECT featstore.exec($$CREATE ENTITY user (user_id text)$$);
CREATE SCHEMA analytics;
CREATE TABLE analytics.transactions (
	user_id text, event_time timestamptz, ingested_at timestamptz,
	amount double precision, merchant_id text, status text);
CREATE TABLE transactions (user_id text, event_time timestamptz, amount numeric(12,2),
	status text, kind text);

-- the issue's spelling, as shown
DO LANGUAGE featstore $$
CREATE FEATURE GROUP user_tx_windows
    ENTITY user
    FROM analytics.transactions
    TIMESTAMP event_time
    CREATED ingested_at
    WHERE status <> 'declined'
    FEATURES (
        tx_count_1h         bigint            AS count(*)                     OVER '1 hour'   'Transaction count in last 1 hour',
        tx_amount_sum_1h    double precision  AS sum(amount)                  OVER '1 hour',
        tx_count_24h        bigint            AS count(*)                     OVER '24 hours',
        max_single_tx_24h   double precision  AS max(amount)                  OVER '24 hours',
        unique_merchants_7d bigint            AS count(DISTINCT merchant_id)  OVER '7 days',
        tx_amount_avg_30d   double precision  AS avg(amount)                  OVER '30 days',
        tx_amount_std_30d   double precision  AS stddev_samp(amount)          OVER '30 days',
        last_merchant       text              AS last(merchant_id),
        avg_ticket_ratio    double precision  AS tx_amount_sum_1h / nullif(tx_count_1h, 0)   -- an expression over this group's features
    )
    ONLINE;
$$;

-- every optional part: WINDOW END EXCLUSIVE, DEFAULT literals, the other
-- aggregates, quoted names, a condition and an expression with parentheses
-- and strings inside them, DESCRIPTION and TAGS, the group options
DO LANGUAGE featstore $$
CREATE FEATURE GROUP IF NOT EXISTS public.tx_excl ENTITY user
    FROM transactions TIMESTAMP "event_time"
    WHERE (status IN ('ok', 'pending')) AND amount > 0
    WINDOW END EXCLUSIVE
    FEATURES (
        n       bigint           AS count(amount) OVER '1 day 2 hours' DEFAULT 0 DESCRIPTION 'non-null amounts',
        lo      numeric(12,2)    AS min("amount") OVER '90 minutes' DEFAULT -1.5,
        sp      double precision AS stddev_pop(amount) OVER '7 days' DEFAULT +0,
        vs      double precision AS var_samp(amount) TAGS ('risk'),
        vp      double precision AS var_pop(amount),
        "Total" double precision AS sum(amount),
        flag    text             AS coalesce(nullif(n, 0)::text, 'none') DEFAULT 'none' 'an expression',
        ok      boolean          AS n > 0 DEFAULT true
    )
    OFFLINE TAGS ('fraud') OWNER 'risk-team' DESCRIPTION 'windows';
$$;

-- clauses out of order, or missing
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WINDOW EXCLUSIVE FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time ONLINE FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user transactions FEATURES (n bigint) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*)) TTL '1 day' $$;

-- features: AS required in a source group, refused elsewhere
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FEATURES (n bigint AS count(*)) $$;
SELECT featstore.exec($$CREATE FEATURE GROUP plain ENTITY user FEATURES (f bigint)$$);
DO LANGUAGE featstore $$ ALTER FEATURE GROUP plain ADD FEATURE n bigint AS count(*) OVER '1 hour' $$;

-- aggregates and their arguments
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (m double precision AS median(amount) OVER '1 hour') $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (s double precision AS sum(DISTINCT amount)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (s double precision AS sum(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (s double precision AS sum(amount * 2)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (s double precision AS sum(amount::numeric)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count()) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS OVER '1 hour') $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*) + 1) $$;

-- windows: quoted, absolute, positive, in range
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*) OVER 1h) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*) OVER 3600) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*) OVER '0 hours') $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*) OVER '-1 hour') $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*) OVER '1 month') $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*) OVER '100000 days') $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*) OVER 'a week') $$;

-- DEFAULT takes a literal
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*) DEFAULT amount) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*) DEFAULT -true) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*) DEFAULT) $$;
-- and the feature's type must accept it
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*) DEFAULT 'none') $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n integer AS count(*) DEFAULT 1.5) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n numeric(3,1) AS avg(amount) DEFAULT 1234.5) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), b boolean AS n > 0 DEFAULT 'maybe') $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (k text AS last(kind) DEFAULT 'it''s none', n integer AS count(*) DEFAULT -1) $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP g $$;

-- the source: it exists, is readable, is a table or view, holds the
-- entity's keys with their types and the time columns; ONLINE needs a table
CREATE VIEW tx_view AS SELECT * FROM transactions;
CREATE SEQUENCE tx_seq;
CREATE TABLE tx_badkey (user_id bigint, event_time timestamptz);
CREATE TABLE tx_nokey (account_id text, event_time timestamptz);
CREATE TABLE tx_localtime (user_id text, event_time timestamp, ingested_at date);
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM nowhere TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM tx_seq TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM tx_nokey TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM tx_badkey TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_tim FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM tx_localtime TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM analytics.transactions TIMESTAMP event_time CREATED created_at FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM tx_view TIMESTAMP event_time FEATURES (n bigint AS count(*)) TAGS ('x') ONLINE $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY nobody FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
CREATE ROLE fs_win_editor IN ROLE featstore_editor;
SET ROLE fs_win_editor;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
RESET ROLE;
DROP ROLE fs_win_editor;
-- SELECT on exactly the columns the group reads is enough
CREATE ROLE win_col_role IN ROLE featstore_editor;
GRANT CREATE ON SCHEMA public TO win_col_role;
GRANT SELECT (user_id, event_time, amount) ON transactions TO win_col_role;
SET ROLE win_col_role;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP col_ok ENTITY user FROM transactions TIMESTAMP event_time WHERE amount > 0 FEATURES (s numeric AS sum(amount) OVER '1 day') $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP col_ok $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (s numeric AS sum(amount), k text AS last(kind)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE amount > 0 AND status = 'ok' FEATURES (n bigint AS count(*)) $$;
RESET ROLE;
REVOKE SELECT (user_id, event_time, amount) ON transactions FROM win_col_role;
REVOKE CREATE ON SCHEMA public FROM win_col_role;
DROP ROLE win_col_role;
-- a view is fine offline
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM tx_view TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP g $$;

-- aggregates: the argument exists, is of a kind the aggregate takes, and the
-- result fits the feature's type as SQL's own aggregate types it
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (s numeric AS sum(amout)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (s numeric AS sum(status)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (s double precision AS stddev_samp(kind) OVER '1 day') $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n text AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n boolean AS count(DISTINCT kind)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (m integer AS max(status)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (l uuid AS last(kind)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (s no_such_type AS sum(amount)) $$;
-- the argument's type must be built in, or a domain over a built-in type
CREATE TYPE public.win_mood AS ENUM ('calm', 'angry');
CREATE DOMAIN public.win_amount AS numeric CHECK (VALUE >= 0);
CREATE TABLE tx_typed (user_id text, event_time timestamptz, mood public.win_mood, amt public.win_amount);
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM tx_typed TIMESTAMP event_time FEATURES (n bigint AS count(DISTINCT mood)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM tx_typed TIMESTAMP event_time FEATURES (s numeric AS sum(amt), l text AS last(mood)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM tx_typed TIMESTAMP event_time FEATURES (s numeric AS sum(amt), hi numeric AS max(amt)) $$;
SELECT feature_name, aggregate, argument FROM featstore.window_features WHERE group_name = 'g' ORDER BY feature_name;
DO LANGUAGE featstore $$ DROP FEATURE GROUP g $$;
DROP TABLE tx_typed;
DROP TYPE public.win_mood;
DROP DOMAIN public.win_amount;
-- assignment casts are accepted: sum(numeric) into double precision, count into integer
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (s double precision AS sum(amount), n integer AS count(*), a numeric AS avg(amount), k varchar(10) AS min(kind)) $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP g $$;

-- expressions refer only to earlier features of their own group
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (r double precision AS s / n, s double precision AS sum(amount), n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS r + n) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS n + plain.f) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r numeric AS amount / n) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS n * nothing) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS (SELECT 1) + n) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS n + * 2) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS n AS x) $$;

-- expression features: analysed with the earlier features as values of
-- their declared types; the result must fit the feature's type, and only
-- built-in, non-volatile scalar code is accepted
CREATE FUNCTION public.win_double(bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
CREATE FUNCTION public.win_pos(numeric) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
CREATE FUNCTION public.win_eq(bigint, bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 = $2';
CREATE OPERATOR public.=== (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = int8eq);
CREATE DOMAIN public.win_posint AS bigint CHECK (VALUE > 0);
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r boolean AS n + 1) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r uuid AS n::text) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS (n + 'x')) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS nosuch(n)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS win_double(n)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS 1 + public.win_double(n)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r boolean AS n OPERATOR(public.===) 1) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS n::public.win_posint) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS bit_and(n)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS rank()) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS generate_series(1, n)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r double precision AS random() * n) $$;
-- assignment casts and stable built-ins are accepted: double precision into
-- integer, bigint into text, a CASE, a cast
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (s double precision AS sum(amount), n bigint AS count(*), r integer AS s / nullif(n, 0), t text AS n, c text AS (CASE WHEN n > 10 THEN 'many' ELSE 'few' END), d date AS (n::text || '-01-01')::date) $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP g $$;

-- WHERE: analysed against the source, with search_path pg_catalog, pg_temp
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE amount FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE amout > 0 FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE status = 1 FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE sum(amount) > 0 FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE rank() OVER () > 1 FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE generate_series(1, 2) > 1 FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE amount > (SELECT 0) FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE random() < 0.5 FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE win_pos(amount) FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE kind <> 'x' AND public.win_pos(amount) FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE amount::public.win_posint > 0 FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE status = 'ok', kind = 'x' FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE status = 'ok' CREATED event_time FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time WHERE status = 'ok' x FEATURES (n bigint AS count(*)) $$;
DROP FUNCTION public.win_double(bigint), public.win_pos(numeric), public.win_eq(bigint, bigint);
DROP OPERATOR public.=== (bigint, bigint);
DROP DOMAIN public.win_posint;

-- what the registry holds for the two groups of the top
SELECT name, schema_name, table_name, entity_name, ttl, online, description, owner, tags, kind
  FROM featstore.feature_groups WHERE kind = 'source' ORDER BY name;
SELECT * FROM featstore.source_groups ORDER BY group_name;
SELECT f.group_name, f.position, f.name, f.data_type, f.description, f.tags, w.aggregate, w.argument,
	   w.window_usecs, w.window_text, w.default_text, w.default_value, w.expression_text
  FROM featstore.features f JOIN featstore.window_features w
	ON w.group_name = f.group_name AND w.feature_name = f.name
 ORDER BY f.group_name, f.position;
SELECT qualified_name, data_type, group_kind, source, aggregate, aggregate_argument, feature_window, table_name
  FROM featstore.catalog WHERE group_name IN ('tx_excl', 'plain') ORDER BY group_name, position;
SELECT group_name, table_name, active_features, kind, source FROM featstore.group_overview ORDER BY group_name;
-- the group's view: owned by the creating role, over window_timeline, with
-- the keys, the two timestamps and the features, and their comments
SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner) AS owner, obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class c WHERE c.oid IN ('public.tx_excl'::regclass, 'public.user_tx_windows'::regclass) ORDER BY 1;
SELECT pg_get_viewdef('public.tx_excl'::regclass);
SELECT a.attname, format_type(a.atttypid, a.atttypmod), col_description(a.attrelid, a.attnum)
  FROM pg_attribute a WHERE a.attrelid = 'public.tx_excl'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT featstore.check_feature_group('tx_excl'), featstore.check_feature_group('user_tx_windows');
SELECT group_name, feature_name, schema_name, table_name, entity_name, ttl, key_columns, key_types
  FROM featstore.resolve_features(ARRAY['tx_excl.n', 'user_tx_windows.last_merchant']);

-- ALTER FEATURE GROUP: metadata changes work, the definition's do not
DO LANGUAGE featstore $$ ALTER FEATURE GROUP tx_excl ADD FEATURE m bigint $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP tx_excl SET TTL '1 day' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP tx_excl ALTER FEATURE n TYPE integer $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP tx_of_view ENTITY user FROM tx_view TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP tx_of_view SET ONLINE $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP tx_of_view SET OFFLINE $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP tx_of_view $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP tx_excl SET DESCRIPTION 'exclusive windows', SET OWNER 'fraud-team', SET TAGS ('fraud', 'v2'), ALTER FEATURE lo SET DESCRIPTION 'smallest amount', DEPRECATE FEATURE vp $$;
SELECT description, owner, tags, obj_description('public.tx_excl'::regclass, 'pg_class') AS view_comment
  FROM featstore.feature_groups WHERE name = 'tx_excl';
SELECT name, status, description, col_description('public.tx_excl'::regclass, position + 3) AS column_comment
  FROM featstore.features WHERE group_name = 'tx_excl' AND name IN ('lo', 'vp') ORDER BY position;

-- the guards: the source cannot be dropped, renamed or moved, nor can the
-- columns the group reads (keys, TIMESTAMP, CREATED, aggregated columns,
-- columns of the WHERE) be dropped, renamed or retyped; the group's view
-- cannot be dropped, replaced or changed either
DROP TABLE transactions;
DROP VIEW tx_view;
DROP TABLE transactions;
DROP SCHEMA analytics CASCADE;
ALTER TABLE transactions RENAME TO transactions2;
ALTER TABLE transactions SET SCHEMA analytics;
ALTER TABLE transactions RENAME COLUMN amount TO amt;
ALTER TABLE transactions ALTER COLUMN status TYPE varchar(10);
ALTER TABLE transactions DROP COLUMN event_time;
ALTER TABLE transactions RENAME COLUMN user_id TO uid;
ALTER TABLE analytics.transactions DROP COLUMN ingested_at;
ALTER TABLE analytics.transactions ALTER COLUMN merchant_id TYPE varchar;
-- columns no group reads are the owner's
ALTER TABLE transactions ADD COLUMN note text;
ALTER TABLE transactions ALTER COLUMN note TYPE varchar(20);
ALTER TABLE transactions RENAME COLUMN note TO remark;
ALTER TABLE transactions DROP COLUMN remark;
DROP VIEW tx_excl;
CREATE OR REPLACE VIEW tx_excl AS SELECT * FROM featstore.window_timeline('user_tx_windows') AS w(user_id text, event_timestamp timestamptz, created_at timestamptz, n bigint, lo numeric(12,2), sp float8, vs float8, vp float8, "Total" float8, flag text, ok boolean);
ALTER VIEW tx_excl RENAME COLUMN n TO m;
ALTER VIEW tx_excl RENAME TO tx_excl2;
-- with the event triggers off (session_replication_role), a changed source
-- or view is caught before any read
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TABLE transactions ALTER COLUMN amount TYPE text;
SELECT featstore.check_feature_group('tx_excl');
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TABLE transactions RENAME COLUMN status TO state;
SELECT featstore.check_feature_group('tx_excl');
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TABLE transactions RENAME COLUMN kind TO kind2;
SELECT featstore.check_feature_group('tx_excl');
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
DROP TABLE analytics.transactions;
SELECT featstore.check_feature_group('user_tx_windows');
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TABLE analytics.transactions ALTER COLUMN ingested_at TYPE timestamp;
SELECT featstore.check_feature_group('user_tx_windows');
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
CREATE OR REPLACE VIEW tx_excl AS SELECT * FROM featstore.window_timeline('user_tx_windows') AS w(user_id text, event_timestamp timestamptz, created_at timestamptz, n bigint, lo numeric(12,2), sp float8, vs float8, vp float8, "Total" float8, flag text, ok boolean);
SELECT featstore.check_feature_group('tx_excl');
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
CREATE OR REPLACE VIEW tx_excl AS SELECT * FROM featstore.window_timeline('tx_excl') AS w(user_id text, event_timestamp timestamptz, created_at timestamptz, n bigint, lo numeric(12,2), sp float8, vs float8, vp float8, "Total" float8, flag text, ok boolean) WHERE n > 0;
SELECT featstore.check_feature_group('tx_excl');
ROLLBACK;

-- reading the source must not run code that is not built in: no index or
-- statistics object of the source calls such code (the join plans the
-- source as its caller), and a source view calls none (a view runs its
-- functions as the reader), at definition, at creation of an index, at reads
CREATE FUNCTION public.win_imm(numeric) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
CREATE TABLE tx_code (user_id text, event_time timestamptz, amount numeric);
CREATE INDEX tx_code_idx ON tx_code (user_id) WHERE public.win_imm(amount);
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM tx_code TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
DROP INDEX tx_code_idx;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM tx_code TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
CREATE INDEX tx_code_idx ON tx_code (user_id) WHERE public.win_imm(amount);
CREATE INDEX tx_code_idx ON tx_code (user_id) WHERE amount > 0;
BEGIN;
SET LOCAL session_replication_role = replica;
CREATE STATISTICS tx_code_stats ON (public.win_imm(amount)), user_id FROM tx_code;
SELECT featstore.check_feature_group('g');
ROLLBACK;
CREATE VIEW tx_code_view AS SELECT * FROM tx_code WHERE public.win_imm(amount);
CREATE VIEW tx_code_view2 AS SELECT v.* FROM (SELECT * FROM tx_code_view) v;
CREATE VIEW tx_code_view3 AS SELECT * FROM tx_code WHERE amount > 0 AND user_id <> '';
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FROM tx_code_view TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FROM tx_code_view2 TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FROM tx_code_view3 TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;
BEGIN;
SET LOCAL session_replication_role = replica;
CREATE OR REPLACE VIEW tx_code_view3 AS SELECT * FROM tx_code WHERE public.win_imm(amount);
SELECT featstore.check_feature_group('g2');
ROLLBACK;
-- a partitioned source: its partitions are read, and checked, too
CREATE TABLE tx_part (user_id text, event_time timestamptz, amount numeric) PARTITION BY RANGE (event_time);
CREATE TABLE tx_part_2026 PARTITION OF tx_part FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g3 ENTITY user FROM tx_part TIMESTAMP event_time FEATURES (s numeric AS sum(amount) OVER '1 day') $$;
SELECT source_kind FROM featstore.source_groups WHERE group_name = 'g3';
CREATE INDEX tx_part_2026_idx ON tx_part_2026 (user_id) WHERE public.win_imm(amount);
SELECT featstore.check_feature_group('g3');
DROP INDEX tx_part_2026_idx;
SELECT featstore.check_feature_group('g3');
DO LANGUAGE featstore $$ DROP FEATURE GROUP g; DROP FEATURE GROUP g2; DROP FEATURE GROUP g3 $$;
DROP VIEW tx_code_view3, tx_code_view2, tx_code_view;
DROP TABLE tx_code, tx_part;
DROP FUNCTION public.win_imm(numeric);

-- a group owned by one role, computed from another role's table: the view
-- is the group creator's, the source stays its owner's, and its owner
-- cannot drop it from under the group
CREATE ROLE win_src_role;
CREATE ROLE win_owner_role IN ROLE featstore_editor;
GRANT CREATE ON SCHEMA public TO win_src_role, win_owner_role;
SET ROLE win_src_role;
CREATE TABLE public.events_of_other (user_id text, at timestamptz, v bigint);
GRANT SELECT ON public.events_of_other TO win_owner_role;
RESET ROLE;
SET ROLE win_owner_role;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP public.other_win ENTITY user FROM public.events_of_other TIMESTAMP at FEATURES (n bigint AS count(*) OVER '1 hour', s numeric AS sum(v)) $$;
RESET ROLE;
SELECT pg_get_userbyid(relowner) AS view_owner FROM pg_class WHERE oid = 'public.other_win'::regclass;
SELECT pg_get_userbyid(relowner) AS source_owner FROM pg_class WHERE oid = 'public.events_of_other'::regclass;
SELECT source_schema, source_name, source_kind FROM featstore.source_groups WHERE group_name = 'other_win';
SET ROLE win_src_role;
DROP TABLE public.events_of_other;
ALTER TABLE public.events_of_other DROP COLUMN v;
DO LANGUAGE featstore $$ DROP FEATURE GROUP other_win $$;
RESET ROLE;
SET ROLE win_owner_role;
DO LANGUAGE featstore $$ DROP FEATURE GROUP other_win $$;
RESET ROLE;
SET ROLE win_src_role;
DROP TABLE public.events_of_other;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM win_src_role, win_owner_role;
DROP ROLE win_src_role;
DROP ROLE win_owner_role;

-- DROP FEATURE GROUP drops the view and the rows, never the source
DO LANGUAGE featstore $$ DROP FEATURE GROUP tx_excl $$;
SELECT to_regclass('public.tx_excl') AS view, to_regclass('public.transactions') AS source;
SELECT count(*) FROM featstore.source_groups WHERE group_name = 'tx_excl';
SELECT count(*) FROM featstore.window_features WHERE group_name = 'tx_excl';
SELECT count(*) FROM featstore.features WHERE group_name = 'tx_excl';
-- and the source is the owner's again
ALTER TABLE transactions RENAME COLUMN amount TO amt;
ALTER TABLE transactions RENAME COLUMN amt TO amount;

-- what is left: the group of the top, and the ordinary group; the history
-- has every group created and dropped
SELECT name, kind FROM featstore.feature_groups ORDER BY name;
SELECT object_name FROM featstore.definition_history WHERE id > :history_before ORDER BY id;

-- clean up for the tests that follow in the same database
DO LANGUAGE featstore $$ DROP ENTITY user CASCADE $$;
DROP SCHEMA analytics CASCADE;
DROP TABLE transactions, tx_badkey, tx_nokey, tx_localtime;
DROP SEQUENCE tx_seq;
