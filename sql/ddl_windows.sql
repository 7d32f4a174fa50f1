-- groups computed FROM a source of events (issue 10, work in progress): the
-- grammar and its errors.  The registry does not store these groups yet: it
-- checks the windows, then refuses the group at FROM with a detail that
-- shows what was parsed.
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
-- a view is fine offline: the group is refused only because it is work in progress
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM tx_view TIMESTAMP event_time FEATURES (n bigint AS count(*)) $$;

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
-- assignment casts are accepted: sum(numeric) into double precision, count into integer
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (s double precision AS sum(amount), n integer AS count(*), a numeric AS avg(amount), k varchar(10) AS min(kind)) $$;

-- expressions refer only to earlier features of their own group
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (r double precision AS s / n, s double precision AS sum(amount), n bigint AS count(*)) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS r + n) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS n + plain.f) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r numeric AS amount / n) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS n * nothing) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS (SELECT 1) + n) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS n + * 2) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FROM transactions TIMESTAMP event_time FEATURES (n bigint AS count(*), r bigint AS n AS x) $$;

-- nothing was created
SELECT name FROM featstore.feature_groups ORDER BY name;
SELECT object_name FROM featstore.definition_history WHERE id > :history_before ORDER BY id;

-- clean up for the tests that follow in the same database
DO LANGUAGE featstore $$ DROP ENTITY user CASCADE $$;
DROP SCHEMA analytics CASCADE;
DROP VIEW tx_view;
DROP TABLE transactions, tx_badkey, tx_nokey, tx_localtime;
DROP SEQUENCE tx_seq;
