-- monitoring settings (issue 11, part core): FRESHNESS and MONITOR in
-- CREATE FEATURE GROUP, the ALTER FEATURE GROUP actions, the SQL
-- functions, the stored rows, every error, the definition history, who may
-- change them, and that pg_dump keeps them (extension configuration).
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT coalesce(max(id), 0) AS history_before FROM featstore.definition_history \gset
CREATE ROLE mc_mon_owner LOGIN IN ROLE featstore_editor;
CREATE ROLE mc_mon_other LOGIN IN ROLE featstore_editor;
CREATE ROLE mc_mon_reader LOGIN IN ROLE featstore_reader;
CREATE SCHEMA ms AUTHORIZATION mc_mon_owner;
CREATE TABLE ms.events (user_id bigint, ts timestamptz, amount numeric);
GRANT SELECT ON ms.events TO mc_mon_owner;

SET ROLE mc_mon_owner;
SET search_path = ms, public;
-- the options in CREATE, for each kind of group: a table, FROM a source, AS a query
SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY ms_user (user_id bigint);
	CREATE FEATURE GROUP ms_plain ENTITY ms_user
		FEATURES (trips bigint, rating double precision, city text)
		FRESHNESS '1 hour' MONITOR EVERY '6 hours';
	CREATE FEATURE GROUP ms_defaults ENTITY ms_user FEATURES (x integer);
	CREATE FEATURE GROUP ms_none ENTITY ms_user FEATURES (x integer) FRESHNESS NONE MONITOR NONE;
	CREATE FEATURE GROUP ms_source ENTITY ms_user FROM ms.events TIMESTAMP ts
		FEATURES (spend numeric AS sum(amount) OVER '7 days')
		MONITOR EVERY '1 hour' FRESHNESS '2 days';
	CREATE FEATURE GROUP ms_query ENTITY ms_user
		AS SELECT user_id, ts AS event_timestamp, amount::double precision AS last_amount FROM ms.events
		SCHEDULE MANUAL
		FEATURES (last_amount double precision) FRESHNESS '30 minutes';
$$);
RESET ROLE;
-- a group without a row has the defaults (every day, no SLA, 30 periods)
SELECT group_name, monitor_every, monitor_every_text, freshness, freshness_text, baseline_periods,
	   reference_from, reference_to, reference_label, next_stats_at
  FROM featstore.monitor_settings WHERE group_name LIKE 'ms\_%' ORDER BY group_name;

-- ALTER: every action, several in one statement, of the group and of a feature
SET ROLE mc_mon_owner;
SELECT command, object_name, detail FROM featstore.exec($$
	ALTER FEATURE GROUP ms_plain SET MONITOR (psi = 0.25, mean_sigma = 4, js = 1),
		ALTER FEATURE rating SET MONITOR (wasserstein = 0.5, ks_pvalue = 0.001),
		ALTER FEATURE city SET MONITOR (distinct_collapse = 0.2),
		SET MONITOR BASELINE 14 PERIODS;
	ALTER FEATURE GROUP ms_defaults SET FRESHNESS '90 seconds', SET MONITOR EVERY '1 minute';
	ALTER FEATURE GROUP ms_none SET MONITOR BASELINE FROM '2026-01-01 00:00+00' TO '2026-02-01 00:00+00';
	ALTER FEATURE GROUP ms_source SET MONITOR BASELINE SPINE 'training_q1', SET FRESHNESS NONE;
	ALTER FEATURE GROUP ms_query SET MONITOR NONE,
		SET MONITOR (null_rate_sigma = 100, null_rate_min_effect = 0, mean_min_effect = 100, significance = 0.001);
$$);
RESET ROLE;
SELECT group_name, monitor_every, monitor_every_text, freshness, freshness_text, baseline_periods,
	   reference_from, reference_to, reference_label
  FROM featstore.monitor_settings WHERE group_name LIKE 'ms\_%' ORDER BY group_name;
SELECT group_name, feature_name, setting, value
  FROM featstore.monitor_thresholds WHERE group_name LIKE 'ms\_%'
 ORDER BY group_name, feature_name NULLS FIRST, setting;

-- RESET MONITOR of the group and of a feature; a setting never set is no error
SET ROLE mc_mon_owner;
DO LANGUAGE featstore $$
	ALTER FEATURE GROUP ms_plain RESET MONITOR (psi, wasserstein),
		ALTER FEATURE rating RESET MONITOR (ks_pvalue);
$$;
-- SET again replaces the value; a later baseline form replaces the earlier one
DO LANGUAGE featstore $$
	ALTER FEATURE GROUP ms_plain SET MONITOR (js = 0.1);
	ALTER FEATURE GROUP ms_none SET MONITOR BASELINE 60 PERIODS;
$$;
RESET ROLE;
SELECT group_name, feature_name, setting, value
  FROM featstore.monitor_thresholds WHERE group_name LIKE 'ms\_%'
 ORDER BY group_name, feature_name NULLS FIRST, setting;
SELECT group_name, baseline_periods, reference_from, reference_to, reference_label
  FROM featstore.monitor_settings WHERE group_name IN ('ms_none', 'ms_source') ORDER BY 1;

-- the SQL functions, with the same effect
SET ROLE mc_mon_owner;
SELECT featstore.set_freshness('ms_plain', '45 minutes');
SELECT featstore.set_monitor_every('ms_plain', '2 hours');
SELECT featstore.set_monitor_threshold('ms_plain', NULL, 'psi', 0.5);
SELECT featstore.set_monitor_threshold('ms_plain', 'trips', 'mean_sigma', 2.5);
SELECT featstore.set_monitor_threshold('ms_plain', NULL, 'js', NULL);
SELECT featstore.set_monitor_baseline('ms_plain', periods => 7);
SELECT featstore.set_monitor_baseline('ms_defaults', reference_from => '2026-03-01 00:00+00',
									  reference_to => '2026-03-08 00:00+00');
SELECT featstore.set_monitor_baseline('ms_query', spine_label => 'holdout');
SELECT featstore.set_freshness('ms_query', NULL);
SELECT featstore.set_monitor_every('ms_source', NULL);
RESET ROLE;
SELECT group_name, monitor_every, monitor_every_text, freshness, freshness_text, baseline_periods,
	   reference_from, reference_to, reference_label
  FROM featstore.monitor_settings WHERE group_name LIKE 'ms\_%' ORDER BY group_name;
SELECT group_name, feature_name, setting, value
  FROM featstore.monitor_thresholds WHERE group_name LIKE 'ms\_%'
 ORDER BY group_name, feature_name NULLS FIRST, setting;

-- every change is in the definition history, as the statement or the call
SELECT command, object_name, statement, executed_by
  FROM featstore.definition_history WHERE id > :history_before AND command = 'ALTER FEATURE GROUP'
 ORDER BY id;

-- errors: each with a message naming the thing, a hint, and in a
-- statement the cursor at the clause; their SQLSTATEs are listed below
SET ROLE mc_mon_owner;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR (psi = 11) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR (psi = 0) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR (mean_sigma = -1) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR (mean_min_effect = 100.5) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR (js = 1.01) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR (ks_pvalue = 1) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR (distinct_collapse = 0) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR (significance = 0) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR (wasserstein = 1e400) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR (psi = 0.2, sigma = 3) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain RESET MONITOR (kl) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR (psi = 1, psi = 2) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR (psi = 'high') $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR psi = 1 $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain ALTER FEATURE nope SET MONITOR (psi = 1) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_nope SET FRESHNESS '1 hour' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET FRESHNESS '1 month' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET FRESHNESS '1 year 2 days' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET FRESHNESS '500 milliseconds' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET FRESHNESS '-1 hour' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET FRESHNESS '367 days' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR EVERY '366 days 1 second' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET FRESHNESS 'soon' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET FRESHNESS 1h $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET FRESHNESS 60 $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR EVERY '30 seconds' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR EVERY '1 mon' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR EVERY 1 $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR DAILY $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR BASELINE 0 PERIODS $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR BASELINE 1001 PERIODS $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR BASELINE 30 DAYS $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR BASELINE FROM '2026-02-01' TO '2026-01-01' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR BASELINE FROM '2026-02-01' TO 'infinity' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR BASELINE FROM '2026-02-01' TO 'later' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET MONITOR BASELINE SPINE '' $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP ms_bad ENTITY ms_user FEATURES (x integer) FRESHNESS '1 hour' FRESHNESS NONE $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP ms_bad ENTITY ms_user FEATURES (x integer) MONITOR EVERY '1 day' MONITOR NONE $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP ms_bad ENTITY ms_user FEATURES (x integer) MONITOR '1 day' $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP ms_bad ENTITY ms_user FEATURES (x integer) FRESHNESS '2 months' $$;
SELECT featstore.set_monitor_threshold('ms_plain', NULL, 'psi', 'NaN');
SELECT featstore.set_monitor_threshold('ms_plain', NULL, 'psi', 'Infinity');
SELECT featstore.set_monitor_threshold('ms_plain', NULL, 'PSI', 1);
SELECT featstore.set_monitor_threshold('ms_plain', 'nope', 'psi', 1);
SELECT featstore.set_monitor_threshold('ms_plain', NULL, NULL, 1);
SELECT featstore.set_monitor_threshold('ms_nope', NULL, 'psi', 1);
SELECT featstore.set_freshness('ms_plain', '1 month');
SELECT featstore.set_monitor_every('ms_plain', '59 seconds');
SELECT featstore.set_monitor_baseline('ms_plain');
SELECT featstore.set_monitor_baseline('ms_plain', periods => 3, spine_label => 'x');
SELECT featstore.set_monitor_baseline('ms_plain', reference_from => now());
SELECT featstore.set_monitor_baseline('ms_plain', periods => 0);
SELECT featstore.set_monitor_baseline('ms_plain', reference_from => '2026-01-02', reference_to => '2026-01-01');
SELECT featstore.set_monitor_baseline('ms_plain', reference_from => '-infinity', reference_to => '2026-01-01');
RESET ROLE;
-- nothing of the failed statements was stored, and ms_bad does not exist
SELECT count(*) AS ms_bad_rows FROM featstore.feature_groups WHERE name = 'ms_bad';
SELECT group_name, monitor_every_text, freshness_text, baseline_periods, reference_label
  FROM featstore.monitor_settings WHERE group_name = 'ms_plain';

-- who may change them: the group's owner with featstore_editor, not
-- another editor, not a reader, not a role without featstore roles
SET ROLE mc_mon_other;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain SET FRESHNESS '1 minute' $$;
SELECT featstore.set_monitor_threshold('ms_plain', NULL, 'psi', 1);
RESET ROLE;
SET ROLE mc_mon_reader;
SELECT featstore.set_freshness('ms_plain', '1 minute');
SELECT featstore.set_monitor_baseline('ms_plain', periods => 3);
-- a reader may read the settings (they are definitions, like the registry)
SELECT count(*) > 0 AS reader_sees_settings FROM featstore.monitor_settings;
RESET ROLE;
CREATE ROLE mc_mon_nobody LOGIN;
SET ROLE mc_mon_nobody;
SELECT featstore.set_monitor_every('ms_plain', '1 hour');
SELECT count(*) FROM featstore.monitor_thresholds;
RESET ROLE;

-- the SQLSTATE of each kind of error
CREATE FUNCTION public.mc_mon_sqlstate(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM featstore.exec(stmt);
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;
SET ROLE mc_mon_owner;
SELECT stmt, mc_mon_sqlstate(stmt) AS sqlstate FROM (VALUES
	('ALTER FEATURE GROUP ms_plain SET MONITOR (psi = 11)'),
	('ALTER FEATURE GROUP ms_plain SET MONITOR (sigma = 3)'),
	('ALTER FEATURE GROUP ms_plain SET MONITOR (psi = 1, psi = 2)'),
	('ALTER FEATURE GROUP ms_plain SET MONITOR (psi = ''high'')'),
	('ALTER FEATURE GROUP ms_plain ALTER FEATURE nope SET MONITOR (psi = 1)'),
	('ALTER FEATURE GROUP ms_nope SET FRESHNESS ''1 hour'''),
	('ALTER FEATURE GROUP ms_plain SET FRESHNESS ''1 month'''),
	('ALTER FEATURE GROUP ms_plain SET FRESHNESS ''500 milliseconds'''),
	('ALTER FEATURE GROUP ms_plain SET FRESHNESS ''-1 hour'''),
	('ALTER FEATURE GROUP ms_plain SET FRESHNESS ''367 days'''),
	('ALTER FEATURE GROUP ms_plain SET FRESHNESS ''soon'''),
	('ALTER FEATURE GROUP ms_plain SET MONITOR EVERY ''30 seconds'''),
	('ALTER FEATURE GROUP ms_plain SET MONITOR BASELINE 0 PERIODS'),
	('ALTER FEATURE GROUP ms_plain SET MONITOR BASELINE FROM ''2026-02-01'' TO ''2026-01-01'''),
	('ALTER FEATURE GROUP ms_plain SET MONITOR BASELINE FROM ''2026-02-01'' TO ''infinity'''),
	('ALTER FEATURE GROUP ms_plain SET MONITOR BASELINE SPINE ''''')
) AS v(stmt);
RESET ROLE;
SET ROLE mc_mon_other;
SELECT mc_mon_sqlstate('ALTER FEATURE GROUP ms_plain SET FRESHNESS ''1 minute''') AS not_owner;
RESET ROLE;
SET ROLE mc_mon_reader;
SELECT mc_mon_sqlstate('ALTER FEATURE GROUP ms_plain SET FRESHNESS ''1 minute''') AS reader;
RESET ROLE;
DROP FUNCTION public.mc_mon_sqlstate(text);

-- the settings are extension configuration: pg_dump dumps their rows
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS t(oid) JOIN pg_class c ON c.oid = t.oid
 WHERE e.extname = 'featstore' AND c.relname LIKE 'monitor%' ORDER BY 1;

-- a deprecated feature keeps its thresholds (its column stays); a dropped
-- group takes its settings and thresholds with it
SET ROLE mc_mon_owner;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_plain DEPRECATE FEATURE city $$;
SELECT count(*) AS city_thresholds FROM featstore.monitor_thresholds
 WHERE group_name = 'ms_plain' AND feature_name = 'city';
DO LANGUAGE featstore $$
	DROP FEATURE GROUP ms_plain; DROP FEATURE GROUP ms_defaults; DROP FEATURE GROUP ms_none;
	DROP FEATURE GROUP ms_source; DROP FEATURE GROUP ms_query; DROP ENTITY ms_user;
$$;
RESET ROLE;
SELECT count(*) AS left_settings FROM featstore.monitor_settings WHERE group_name LIKE 'ms\_%';
SELECT count(*) AS left_thresholds FROM featstore.monitor_thresholds WHERE group_name LIKE 'ms\_%';
RESET search_path;
DROP TABLE ms.events;
DROP SCHEMA ms;
DROP ROLE mc_mon_owner, mc_mon_other, mc_mon_reader, mc_mon_nobody;
