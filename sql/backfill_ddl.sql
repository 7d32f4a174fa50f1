-- backfills (issue 12, part bf): BACKFILL FEATURE GROUP / VALIDATE /
-- PROMOTE / ABORT BACKFILL and their SQL twins, featstore.backfills, the
-- shadow, every error, the definition history, and an as_of training set
-- reproduced exactly across a promote (by checksum).
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT coalesce(max(id), 0) AS history_before FROM featstore.definition_history \gset
CREATE ROLE bf_owner LOGIN IN ROLE featstore_editor;
CREATE ROLE bf_loader LOGIN IN ROLE featstore_editor, bf_owner;
CREATE ROLE bf_stranger LOGIN IN ROLE featstore_editor;
CREATE ROLE bf_reader LOGIN IN ROLE featstore_reader;
CREATE SCHEMA bf AUTHORIZATION bf_owner;
GRANT USAGE ON SCHEMA bf TO bf_stranger, bf_reader;

SET ROLE bf_owner;
DO LANGUAGE featstore $$
CREATE ENTITY bf_customer (customer_id bigint);
CREATE FEATURE GROUP bf.bf_tx ENTITY bf_customer
    FEATURES (amount double precision, n integer, tag text);
$$;
-- 100 customers, one row a day in October 2026
INSERT INTO bf.bf_tx (customer_id, event_timestamp, amount, n, tag)
SELECT c, '2026-10-01 00:00+00'::timestamptz + d * interval '1 day', c + d * 0.5, d, 't' || (c % 3)
  FROM generate_series(1, 100) c, generate_series(0, 30) d;
RESET ROLE;

-- the statements' errors: syntax, unknown group, empty and infinite ranges,
-- a bad timestamp, a source group, a name too long for the shadow
SELECT * FROM featstore.exec($$ BACKFILL FEATURE GROUP bf_tx fix FROM '2026-10-01 00:00+00' TO '2026-11-01 00:00+00' $$);
SELECT * FROM featstore.exec($$ BACKFILL FEATURE GROUP bf_tx AS fix FROM 2026 TO '2026-11-01 00:00+00' $$);
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL $$);
SELECT * FROM featstore.exec($$ PROMOTE BACKFILL fix NOW $$);
SELECT * FROM featstore.exec($$ BACKFILL FEATURE GROUP no_such AS fix FROM '2026-10-01 00:00+00' TO '2026-11-01 00:00+00' $$);
SELECT * FROM featstore.exec($$ BACKFILL FEATURE GROUP bf_tx AS fix FROM '2026-11-01 00:00+00' TO '2026-10-01 00:00+00' $$);
SELECT * FROM featstore.exec($$ BACKFILL FEATURE GROUP bf_tx AS fix FROM '-infinity' TO '2026-10-01 00:00+00' $$);
SELECT * FROM featstore.exec($$ BACKFILL FEATURE GROUP bf_tx AS fix FROM 'yesterday-ish' TO '2026-10-01 00:00+00' $$);
SELECT * FROM featstore.exec($$ BACKFILL FEATURE GROUP bf_tx AS a_name_that_is_far_too_long_for_a_shadow_table_name_xx FROM '2026-10-01 00:00+00' TO '2026-11-01 00:00+00' $$);
CREATE TABLE bf.bf_events (customer_id bigint, ts timestamptz, amount double precision);
DO LANGUAGE featstore $$
CREATE FEATURE GROUP bf_events_7d ENTITY bf_customer FROM bf.bf_events TIMESTAMP ts
    FEATURES (sum_7d double precision AS sum(amount) OVER '7 days');
$$;
SELECT * FROM featstore.exec($$ BACKFILL FEATURE GROUP bf_events_7d AS fix FROM '2026-10-01 00:00+00' TO '2026-11-01 00:00+00' $$);
SELECT featstore.open_backfill('bf_tx', 'fix', NULL, '2026-11-01 00:00+00');
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL no_such $$);
SELECT * FROM featstore.exec($$ PROMOTE BACKFILL no_such $$);
SELECT * FROM featstore.exec($$ ABORT BACKFILL no_such $$);

-- who may open one: not an editor who does not own the group's table, not a reader
SET ROLE bf_stranger;
SELECT * FROM featstore.exec($$ BACKFILL FEATURE GROUP bf_tx AS fix FROM '2026-10-01 00:00+00' TO '2026-11-01 00:00+00' $$);
SET ROLE bf_reader;
SELECT featstore.open_backfill('bf_tx', 'fix', '2026-10-01 00:00+00', '2026-11-01 00:00+00');
RESET ROLE;

-- a member of the owner's role opens it: the shadow is the owner's, in the
-- group's schema, LIKE the history table, and the member can load it
SET ROLE bf_loader;
SELECT * FROM featstore.exec($$ BACKFILL FEATURE GROUP bf_tx AS drop_some FROM '2026-10-01 00:00+00' TO '2026-11-01 00:00+00' $$);
SELECT * FROM featstore.exec($$ BACKFILL FEATURE GROUP bf_tx AS drop_some FROM '2026-10-01 00:00+00' TO '2026-11-01 00:00+00' $$);
RESET ROLE;
\d bf.bf_tx__bf_drop_some
SELECT name, group_name, range_from, range_to, shadow, shadow_name, state, verdict, thresholds,
       created_by, validated_at, finished_at, promoted_rows, forced
  FROM featstore.backfills;

-- the seed's case: a backfill that silently drops 15% of the entities.
-- Validation fails and says why; the promote is refused.
SET ROLE bf_loader;
INSERT INTO bf.bf_tx__bf_drop_some (customer_id, event_timestamp, amount, n, tag)
SELECT customer_id, event_timestamp, amount, n, tag FROM bf.bf_tx WHERE customer_id % 100 >= 15;
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL drop_some $$);
SELECT check_name, feature, round(current_value::numeric, 4) AS current_value,
       round(shadow_value::numeric, 4) AS shadow_value, round(statistic::numeric, 4) AS statistic,
       threshold, verdict, detail
  FROM featstore.validate_backfill('drop_some');
SELECT name, state, verdict, validated_by FROM featstore.backfills WHERE name = 'drop_some';
SELECT * FROM featstore.exec($$ PROMOTE BACKFILL drop_some $$);
-- a threshold set for this backfill lets it pass; it is kept for the next validation
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL drop_some WITH (max_missing_entities = 0.2) $$);
SELECT name, state, verdict, thresholds FROM featstore.backfills WHERE name = 'drop_some';
SELECT check_name, threshold, verdict FROM featstore.validate_backfill('drop_some')
 WHERE check_name IN ('missing_entities', 'verdict');
-- a write to the shadow after the validation sends it back to open
DELETE FROM bf.bf_tx__bf_drop_some WHERE customer_id = 99;
SELECT name, state, verdict FROM featstore.backfills WHERE name = 'drop_some';
SELECT * FROM featstore.exec($$ PROMOTE BACKFILL drop_some $$);
-- bad thresholds
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL drop_some WITH (max_missing = 0.2) $$);
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL drop_some WITH (max_missing_entities = 2) $$);
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL drop_some WITH (psi = 0) $$);
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL drop_some WITH (psi = 1, psi = 2) $$);
SELECT * FROM featstore.validate_backfill('drop_some', '{"psi": "high"}');
SELECT * FROM featstore.validate_backfill('drop_some', '{"nonsense": 1}');
SELECT * FROM featstore.exec($$ ABORT BACKFILL drop_some $$);
SELECT * FROM featstore.exec($$ ABORT BACKFILL drop_some $$);
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL drop_some $$);
SELECT * FROM featstore.exec($$ PROMOTE BACKFILL drop_some FORCE $$);
RESET ROLE;
SELECT to_regclass('bf.bf_tx__bf_drop_some');

-- the shadow's errors, which no threshold and no FORCE overrides: rows
-- outside the range, duplicate (key, event_timestamp), NULL keys
SET ROLE bf_owner;
SELECT featstore.open_backfill('bf_tx', 'errors', '2026-10-10 00:00+00', '2026-10-20 00:00+00');
INSERT INTO bf.bf_tx__bf_errors (customer_id, event_timestamp, amount)
VALUES (1, '2026-10-09 23:59:59.999999+00', 1), (1, '2026-10-20 00:00+00', 1),
       (2, '2026-10-10 00:00+00', 1), (2, '2026-10-10 00:00+00', 2),
       (3, '2026-10-11 00:00+00', 1), (3, '2026-10-11 00:00+00', 2), (3, '2026-10-11 00:00+00', 3);
ALTER TABLE bf.bf_tx__bf_errors ALTER COLUMN customer_id DROP NOT NULL;
INSERT INTO bf.bf_tx__bf_errors (customer_id, event_timestamp, amount) VALUES (NULL, '2026-10-12 00:00+00', 1);
SELECT check_name, shadow_value, threshold, verdict, detail
  FROM featstore.validate_backfill('errors', '{"max_missing_entities": 1}');
SELECT * FROM featstore.exec($$ PROMOTE BACKFILL errors FORCE $$);
-- the shadow's shape: a wrong key type, a missing feature, a view in its place
ALTER TABLE bf.bf_tx__bf_errors ALTER COLUMN customer_id TYPE text;
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL errors $$);
ALTER TABLE bf.bf_tx__bf_errors ALTER COLUMN customer_id TYPE bigint USING customer_id::bigint;
ALTER TABLE bf.bf_tx__bf_errors DROP COLUMN tag;
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL errors $$);
DROP TABLE bf.bf_tx__bf_errors;
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL errors $$);
SELECT * FROM featstore.exec($$ ABORT BACKFILL errors $$);

-- FORCE over a failed threshold: promoted, and recorded as forced
SELECT featstore.open_backfill('bf_tx', 'forced', '2026-10-30 00:00+00', '2026-10-31 00:00+00');
INSERT INTO bf.bf_tx__bf_forced (customer_id, event_timestamp, amount, n, tag)
SELECT customer_id, event_timestamp, amount, n, tag FROM bf.bf_tx
 WHERE event_timestamp = '2026-10-30 00:00+00' AND customer_id <= 50;
SELECT verdict FROM featstore.validate_backfill('forced') WHERE check_name = 'verdict';
SELECT featstore.promote_backfill('forced');
SELECT featstore.promote_backfill('forced', force => true);
SELECT name, state, shadow, promoted_rows, forced, finished_by FROM featstore.backfills WHERE name = 'forced';
RESET ROLE;

-- a good backfill: amounts corrected in [10-10, 10-20).  A training set
-- built with as_of before the promote is the same afterwards; without
-- as_of it sees the corrections.
CREATE TABLE bf.bf_labels AS
SELECT c::bigint AS customer_id, '2026-10-15 12:00+00'::timestamptz + (c % 10) * interval '1 day' AS ts
  FROM generate_series(1, 100) c;
GRANT SELECT ON bf.bf_labels TO bf_owner;
SET ROLE bf_owner;
SELECT featstore.open_backfill('bf_tx', 'fix_amount', '2026-10-10 00:00+00', '2026-10-20 00:00+00');
INSERT INTO bf.bf_tx__bf_fix_amount (customer_id, event_timestamp, amount, n, tag)
SELECT customer_id, event_timestamp, amount + 0.25, n, tag FROM bf.bf_tx
 WHERE event_timestamp >= '2026-10-10 00:00+00' AND event_timestamp < '2026-10-20 00:00+00';
SELECT check_name, feature, round(current_value::numeric, 4) AS current_value,
       round(shadow_value::numeric, 4) AS shadow_value, round(statistic::numeric, 4) AS statistic,
       threshold, verdict, detail
  FROM featstore.validate_backfill('fix_amount')
 WHERE feature IS NULL OR feature = 'amount';
SELECT now() AS built_at \gset
SELECT pg_sleep(0.01);
SELECT featstore.create_pit_view('bf.bf_train_asof', 'bf.bf_labels', features => '{bf_tx}', as_of => :'built_at');
SELECT featstore.create_pit_view('bf.bf_train_now', 'bf.bf_labels', features => '{bf_tx}');
SELECT md5(string_agg(t::text, ',' ORDER BY t.customer_id)) AS asof_before FROM bf.bf_train_asof t \gset
SELECT md5(string_agg(t::text, ',' ORDER BY t.customer_id)) AS now_before FROM bf.bf_train_now t \gset
SELECT regexp_replace(detail, 'created_at [^;]*', 'created_at <promote time>') AS detail
  FROM featstore.exec($$ PROMOTE BACKFILL fix_amount $$);
SELECT md5(string_agg(t::text, ',' ORDER BY t.customer_id)) = :'asof_before' AS asof_reproduced
  FROM bf.bf_train_asof t;
SELECT md5(string_agg(t::text, ',' ORDER BY t.customer_id)) <> :'now_before' AS now_sees_backfill
  FROM bf.bf_train_now t;
-- every label in the range sees its corrected amount now
SELECT count(*) FILTER (WHERE n.amount = a.amount + 0.25) AS corrected, count(*) AS labels
  FROM bf.bf_train_now n JOIN bf.bf_train_asof a USING (customer_id, ts);
-- the promoted rows: one created_at, the promote's, later than as_of
SELECT count(*) AS promoted, count(DISTINCT created_at) AS stamps,
       min(created_at) = (SELECT promoted_created_at FROM featstore.backfills WHERE name = 'fix_amount') AS stamped,
       min(created_at) > :'built_at' AS after_as_of
  FROM bf.bf_tx WHERE created_at > :'built_at';
SELECT name, state, shadow, promoted_rows, forced FROM featstore.backfills WHERE name = 'fix_amount';
SELECT to_regclass('bf.bf_tx__bf_fix_amount');
SELECT * FROM featstore.exec($$ PROMOTE BACKFILL fix_amount $$);
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL fix_amount $$);
RESET ROLE;

-- a stranger can neither validate, promote nor abort the owner's backfill
SET ROLE bf_owner;
SELECT featstore.open_backfill('bf_tx', 'owned', '2026-10-01 00:00+00', '2026-10-02 00:00+00');
SET ROLE bf_stranger;
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL owned $$);
SELECT * FROM featstore.exec($$ PROMOTE BACKFILL owned FORCE $$);
SELECT * FROM featstore.exec($$ ABORT BACKFILL owned $$);
INSERT INTO bf.bf_tx__bf_owned (customer_id, event_timestamp) VALUES (1, '2026-10-01 00:00+00');
SET ROLE bf_reader;
SELECT featstore.promote_backfill('owned');
-- featstore.backfills shows a backfill only to roles that may read its
-- group's table: its verdict and thresholds describe the data
SELECT count(*) AS backfills_seen FROM featstore.backfills;
SET ROLE bf_stranger;
SELECT count(*) AS backfills_seen FROM featstore.backfills;
RESET ROLE;
GRANT SELECT (customer_id) ON bf.bf_tx TO bf_reader;
SET ROLE bf_reader;
SELECT name, state FROM featstore.backfills ORDER BY name;
RESET ROLE;

-- a hostile owner's index on the shadow, calling its own function, never
-- runs in a superuser's validation or promote: both refuse the shadow
CREATE TABLE bf.bf_calls (who name);
GRANT INSERT ON bf.bf_calls TO PUBLIC;
SET ROLE bf_owner;
CREATE FUNCTION bf.bf_spy(x double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN INSERT INTO bf.bf_calls VALUES (current_user); RETURN x; END $$;
CREATE INDEX bf_spy_idx ON bf.bf_tx__bf_owned (bf.bf_spy(amount));
RESET ROLE;
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL owned $$);
SELECT * FROM featstore.exec($$ PROMOTE BACKFILL owned FORCE $$);
SELECT count(*) AS spy_calls FROM bf.bf_calls;
SET ROLE bf_owner;
DROP INDEX bf.bf_spy_idx;
RESET ROLE;

-- every step is in the definition history: who, and the verdict
SELECT command, object_type, object_name, executed_by,
       regexp_replace(detail, 'created_at [^;]*', 'created_at <promote time>') AS detail
  FROM featstore.definition_history
 WHERE id > :history_before AND object_type = 'backfill' ORDER BY id;

-- dropping the group drops its open backfills' shadows
DROP VIEW bf.bf_train_asof, bf.bf_train_now;
SET ROLE bf_owner;
SELECT * FROM featstore.exec($$ DROP FEATURE GROUP bf_tx $$);
RESET ROLE;
SELECT to_regclass('bf.bf_tx__bf_owned');
SELECT count(*) FROM featstore.backfills;

DO LANGUAGE featstore $$ DROP FEATURE GROUP bf_events_7d; DROP ENTITY bf_customer $$;
DROP SCHEMA bf CASCADE;
DROP ROLE bf_owner, bf_loader, bf_stranger, bf_reader;
-- leave the history as we found it for the tests that list all of it
DELETE FROM featstore.definition_history WHERE id > :history_before;
