-- Monitoring statistics of PII features (issue 12's gap): compute_stats
-- stores no top values of a PII feature (its counts, null rate and
-- distinct count stay), SET PII clears those stored before, and the JS
-- test is not evaluated without them.  A PII feature's statistics rows
-- (a numeric one's distribution) are shown to members of
-- featstore_pii_reader only, in feature_stats, drift, the monitoring report
-- and group_health.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
CREATE ROLE pst_owner LOGIN IN ROLE featstore_editor;
CREATE ROLE pst_member LOGIN IN ROLE featstore_reader, featstore_pii_reader;
CREATE ROLE pst_analyst LOGIN IN ROLE featstore_reader;
CREATE SCHEMA pst AUTHORIZATION pst_owner;
GRANT USAGE ON SCHEMA pst TO PUBLIC;

SET ROLE pst_owner;
SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY pst_user (user_id bigint);
	CREATE FEATURE GROUP pst.pst_profile ENTITY pst_user
		FEATURES (domain text 'E-mail domain' PII,
				  age integer 'Age' PII,
				  plan text 'Plan',
				  score double precision 'Score');
$$);
-- eight days of 50 rows: domain takes 3 values, age 20..69, plan 2, score 0..9
INSERT INTO pst.pst_profile (user_id, event_timestamp, created_at, domain, age, plan, score)
SELECT i, ts, ts, (ARRAY['ann.test', 'bob.test', 'cy.test'])[1 + i % 3], 20 + i % 50,
	   (ARRAY['free', 'gold'])[1 + i % 2], i % 10
  FROM generate_series(0, 399) i,
	   LATERAL (SELECT timestamptz '2026-03-01 00:00+00' + (i / 50) * interval '1 day'
					   + (i % 50) * interval '1 minute' AS ts) t;
GRANT SELECT ON pst.pst_profile TO pst_member, pst_analyst;
RESET ROLE;

-- computing the statistics of PII features takes a role that may see them
-- (the owner is not a member)
SET ROLE pst_owner;
SELECT featstore.compute_stats('pst_profile', '2026-03-01 00:00+00', '2026-03-02 00:00+00') > 0 AS computed;
RESET ROLE;
SELECT count(featstore.compute_stats('pst_profile', timestamptz '2026-03-01 00:00+00' + d * interval '1 day',
									 timestamptz '2026-03-02 00:00+00' + d * interval '1 day')) AS runs
  FROM generate_series(0, 7) d;

-- stored: no top values for the PII categorical domain; its counts stay
SELECT feature_name, kind, row_count, null_count, null_rate, distinct_count,
	   top_values, top_counts, other_count, min_value, p50, max_value
  FROM featstore.feature_stats
 WHERE group_name = 'pst_profile' AND period_start = '2026-03-08 00:00+00'
 ORDER BY feature_name;
SELECT count(*) AS pii_rows_with_top_values FROM featstore.feature_stats
 WHERE group_name = 'pst_profile' AND feature_name = 'domain'
   AND (top_values IS NOT NULL OR top_counts IS NOT NULL OR other_count IS NOT NULL);
-- nothing of a PII value anywhere in the stored rows
SELECT count(*) AS rows_with_values FROM featstore.feature_stats s
 WHERE group_name = 'pst_profile' AND s::text ~ 'ann\.test|bob\.test|cy\.test';

-- the spine form stores none either
CREATE TABLE pst_spine AS
SELECT i::bigint AS user_id, timestamptz '2026-03-09 00:00+00' AS label_ts FROM generate_series(0, 49) i;
SELECT featstore.compute_stats('pst_profile', 'pst_spine'::regclass, 'model v1', 'label_ts') > 0 AS computed;
SELECT feature_name, scope, row_count, distinct_count, top_values, top_counts, other_count
  FROM featstore.feature_stats
 WHERE group_name = 'pst_profile' AND scope = 'spine' AND kind = 'categorical'
 ORDER BY feature_name;

-- drift of the eighth day: js for plan, none for the PII domain, whose
-- all_null, distinct_collapse and null_rate tests still run
SELECT feature_name, test, verdict FROM featstore.drift_tests('pst_profile', '2026-03-08', '2026-03-09')
 WHERE feature_name IN ('domain', 'plan') ORDER BY feature_name, test;

-- a non-member sees the rows of the non-PII features only: no PII
-- feature's distribution, in feature_stats, drift, the report
SET ROLE pst_analyst;
SELECT feature_name, count(*) AS periods FROM featstore.feature_stats
 WHERE group_name = 'pst_profile' GROUP BY 1 ORDER BY 1;
SELECT DISTINCT feature_name FROM featstore.drift WHERE group_name = 'pst_profile' ORDER BY 1;
SELECT group_name, last_stats_status, open_alerts, status FROM featstore.group_health
 WHERE group_name = 'pst_profile';
SELECT r ~ 'data-feature="age"' AS lists_age, r ~ 'data-feature="domain"' AS lists_domain,
	   substring(r FROM '<p class="empty">[^<]*PII[^<]*</p>') AS left_out,
	   r ~ 'ann\.test|bob\.test|cy\.test' AS shows_domain_values,
	   substring(r FROM '<article class="feature[^"]*" data-feature="plan">.*?</article>') ~ 'gold' AS shows_plan_values
  FROM featstore.monitoring_report('pst_profile', '2026-03-01', '2026-03-09') r;
-- a member sees the PII numeric's distribution, and no top values of domain
SET ROLE pst_member;
SELECT feature_name, kind, distinct_count, min_value, p50, max_value, top_values IS NULL AS no_top_values
  FROM featstore.feature_stats
 WHERE group_name = 'pst_profile' AND period_start = '2026-03-08 00:00+00'
 ORDER BY feature_name;
SELECT DISTINCT feature_name FROM featstore.drift WHERE group_name = 'pst_profile' ORDER BY 1;
SELECT substring(r FROM '<article class="feature[^"]*" data-feature="age">.*?</article>') ~ '<svg' AS age_charts,
	   substring(r FROM '<article class="feature[^"]*" data-feature="domain">.*?</article>') ~ 'No top values: featstore stores none of a PII feature' AS domain_no_top_values,
	   r ~ 'left out' AS left_out,
	   r ~ 'ann\.test|bob\.test|cy\.test' AS shows_domain_values
  FROM featstore.monitoring_report('pst_profile', '2026-03-01', '2026-03-09') r;
RESET ROLE;

-- SET PII later clears the top values already stored, in the same
-- transaction as the tag; the feature's rows then vanish for a non-member
SELECT count(*) AS plan_rows_with_top_values FROM featstore.feature_stats
 WHERE group_name = 'pst_profile' AND feature_name = 'plan' AND top_values IS NOT NULL;
BEGIN;
SELECT featstore.set_feature_pii('pst_profile', 'plan', true);
SELECT count(*) AS plan_rows_with_top_values FROM featstore.feature_stats
 WHERE group_name = 'pst_profile' AND feature_name = 'plan'
   AND (top_values IS NOT NULL OR top_counts IS NOT NULL OR other_count IS NOT NULL);
ROLLBACK;
SELECT count(*) AS after_rollback FROM featstore.feature_stats
 WHERE group_name = 'pst_profile' AND feature_name = 'plan' AND top_values IS NOT NULL;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pst_profile ALTER FEATURE plan SET PII $$;
SELECT count(*) AS plan_rows_with_top_values FROM featstore.feature_stats
 WHERE group_name = 'pst_profile' AND feature_name = 'plan'
   AND (top_values IS NOT NULL OR top_counts IS NOT NULL OR other_count IS NOT NULL);
-- the rows stay, with their counts
SELECT count(*) AS plan_rows, sum(row_count) AS rows_counted, sum(distinct_count) AS distinct_counted
  FROM featstore.feature_stats
 WHERE group_name = 'pst_profile' AND feature_name = 'plan';
SELECT feature_name, test FROM featstore.drift_tests('pst_profile', '2026-03-08', '2026-03-09')
 WHERE test = 'js';
SET ROLE pst_analyst;
SELECT DISTINCT feature_name FROM featstore.feature_stats WHERE group_name = 'pst_profile' ORDER BY 1;
RESET ROLE;
-- DROP PII restores nothing: the next runs store the top values again,
-- and js comes back once the period and its whole baseline have them
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pst_profile ALTER FEATURE plan DROP PII $$;
SELECT featstore.compute_stats('pst_profile', '2026-03-08 00:00+00', '2026-03-09 00:00+00') > 0 AS computed;
SELECT period_start, top_values FROM featstore.feature_stats
 WHERE group_name = 'pst_profile' AND feature_name = 'plan' AND top_values IS NOT NULL;
SELECT feature_name, test FROM featstore.drift_tests('pst_profile', '2026-03-08', '2026-03-09')
 WHERE test = 'js';
SELECT count(featstore.compute_stats('pst_profile', timestamptz '2026-03-01 00:00+00' + d * interval '1 day',
									 timestamptz '2026-03-02 00:00+00' + d * interval '1 day')) AS runs
  FROM generate_series(0, 6) d;
SELECT feature_name, test, verdict FROM featstore.drift_tests('pst_profile', '2026-03-08', '2026-03-09')
 WHERE test = 'js';

-- clean up
DROP TABLE pst_spine;
SET ROLE pst_owner;
SELECT command, object_name FROM featstore.exec($$
	DROP FEATURE GROUP pst_profile;
	DROP ENTITY pst_user;
$$);
RESET ROLE;
DROP SCHEMA pst;
DROP ROLE pst_owner, pst_member, pst_analyst;
