-- A backfill's validation report and PII (issue 12's gap): the mean,
-- stddev and percentiles of a PII feature describe its values, so they are
-- NULL for a caller that is not a member of featstore_pii_reader (the
-- group's owner too), with the one NOTICE of the statement; the null rate,
-- PSI and changed share (shares and distances) stay, and so does the
-- verdict.  A member sees them.
\set SHOW_CONTEXT never
SELECT coalesce(max(id), 0) AS history_before FROM featstore.definition_history \gset
CREATE ROLE bfp_owner LOGIN IN ROLE featstore_editor;
CREATE ROLE bfp_member LOGIN IN ROLE featstore_editor, bfp_owner, featstore_pii_reader;
CREATE SCHEMA bfp AUTHORIZATION bfp_owner;

SET ROLE bfp_owner;
DO LANGUAGE featstore $$
CREATE ENTITY bfp_customer (customer_id bigint);
CREATE FEATURE GROUP bfp.bfp_tx ENTITY bfp_customer
    FEATURES (amount double precision 'Amount', income integer 'Yearly income' PII,
              email text 'E-mail' PII);
$$;
-- 50 customers, one row a day for ten days
INSERT INTO bfp.bfp_tx (customer_id, event_timestamp, amount, income, email)
SELECT c, '2026-10-01 00:00+00'::timestamptz + d * interval '1 day', c + d, 30000 + 1000 * c,
       'c' || c || '@example.com'
  FROM generate_series(1, 50) c, generate_series(0, 9) d;
SELECT * FROM featstore.exec($$ BACKFILL FEATURE GROUP bfp_tx AS raise FROM '2026-10-01 00:00+00' TO '2026-10-11 00:00+00' $$);
-- the backfill doubles every income and keeps the rest
INSERT INTO bfp.bfp_tx__bf_raise (customer_id, event_timestamp, amount, income, email)
SELECT customer_id, event_timestamp, amount, income * 2, email FROM bfp.bfp_tx;

-- the owner is not a member: income's values are masked, its PSI is not
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL raise $$);
SELECT check_name, feature, round(current_value::numeric, 4) AS current_value,
       round(shadow_value::numeric, 4) AS shadow_value, round(statistic::numeric, 4) AS statistic,
       threshold, verdict, detail
  FROM featstore.validate_backfill('raise')
 WHERE feature IS DISTINCT FROM 'amount';
-- nothing of income's values anywhere in the report
SELECT count(*) AS rows_with_income_values FROM featstore.validate_backfill('raise') r
 WHERE r.feature = 'income' AND (r.current_value >= 30000 OR r.shadow_value >= 30000);
-- the stored verdict holds shares and distances only
SELECT name, state, verdict FROM featstore.backfills WHERE name = 'raise';
RESET ROLE;

-- a member sees the values
SET ROLE bfp_member;
SELECT check_name, feature, round(current_value::numeric, 4) AS current_value,
       round(shadow_value::numeric, 4) AS shadow_value, verdict, detail
  FROM featstore.validate_backfill('raise')
 WHERE feature = 'income' AND check_name IN ('mean', 'p50', 'psi');
RESET ROLE;
-- and so does a superuser
SELECT check_name, round(current_value::numeric, 4) AS current_value,
       round(shadow_value::numeric, 4) AS shadow_value
  FROM featstore.validate_backfill('raise')
 WHERE feature = 'income' AND check_name = 'mean';

-- DROP PII: the owner sees them too
SET ROLE bfp_owner;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP bfp_tx ALTER FEATURE income DROP PII $$;
SELECT check_name, round(current_value::numeric, 4) AS current_value,
       round(shadow_value::numeric, 4) AS shadow_value, detail
  FROM featstore.validate_backfill('raise')
 WHERE feature = 'income' AND check_name = 'mean';
SELECT * FROM featstore.exec($$ ABORT BACKFILL raise $$);
-- the definition history, which every reader sees, names the failed check only
SELECT command, executed_by, detail FROM featstore.definition_history
 WHERE id > :history_before AND object_type = 'backfill' ORDER BY id;
SELECT command, object_name FROM featstore.exec($$
	DROP FEATURE GROUP bfp_tx;
	DROP ENTITY bfp_customer;
$$);
RESET ROLE;
DROP SCHEMA bfp;
DROP ROLE bfp_owner, bfp_member;
-- leave the history as we found it for the tests that list all of it
DELETE FROM featstore.definition_history WHERE id > :history_before;
