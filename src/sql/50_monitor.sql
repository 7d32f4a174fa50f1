-- featstore monitoring (issue 11): per-group settings and thresholds,
-- statistics per feature and period, the record of stats runs, alerts and
-- online/offline skew checks.  docs/monitoring.md.
--
-- Statistics, drift results, alerts and skew checks describe the data of a
-- group, so they are readable only where the data is: row-level security on
-- each table shows a row to a role that may SELECT the feature's column of
-- the group's table (featstore.feature_visible) or, for a row about the whole
-- group, some column of it (featstore.group_visible), and to which no
-- row-level security policy of that table applies.  The extension owner (who
-- writes these tables) owns them and so is not subject to the policies.

CREATE FUNCTION featstore.feature_visible(group_name text, feature_name name)
RETURNS boolean
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce(bool_and(v.ok), false)
	  FROM (SELECT has_column_privilege(c.oid, a.attnum, 'SELECT')
				   AND NOT row_security_active(c.oid)
				   AND (s.group_name IS NULL
						OR (has_any_column_privilege(sc.oid, 'SELECT')
							AND NOT row_security_active(sc.oid))) AS ok
			  FROM featstore.feature_groups g
			  JOIN pg_class c ON c.relname = g.table_name
			  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = g.schema_name
			  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = feature_visible.feature_name
								 AND a.attnum > 0 AND NOT a.attisdropped
			  LEFT JOIN featstore.source_groups s ON s.group_name = g.name
			  LEFT JOIN pg_namespace sn ON sn.nspname = s.source_schema
			  LEFT JOIN pg_class sc ON sc.relname = s.source_name AND sc.relnamespace = sn.oid
			 WHERE g.name = feature_visible.group_name) v;
END;
COMMENT ON FUNCTION featstore.feature_visible(text, name) IS 'Whether the calling role may see statistics, drift results and alerts about this feature: it may SELECT the feature''s column of the group''s table (and, for a group FROM a source, the source), and no row-level security applies to it there';

CREATE FUNCTION featstore.group_visible(group_name text)
RETURNS boolean
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce(bool_and(v.ok), false)
	  FROM (SELECT has_any_column_privilege(c.oid, 'SELECT')
				   AND NOT row_security_active(c.oid)
				   AND (s.group_name IS NULL
						OR (has_any_column_privilege(sc.oid, 'SELECT')
							AND NOT row_security_active(sc.oid))) AS ok
			  FROM featstore.feature_groups g
			  JOIN pg_class c ON c.relname = g.table_name
			  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = g.schema_name
			  LEFT JOIN featstore.source_groups s ON s.group_name = g.name
			  LEFT JOIN pg_namespace sn ON sn.nspname = s.source_schema
			  LEFT JOIN pg_class sc ON sc.relname = s.source_name AND sc.relnamespace = sn.oid
			 WHERE g.name = group_visible.group_name) v;
END;
COMMENT ON FUNCTION featstore.group_visible(text) IS 'Whether the calling role may see monitoring rows about the whole group: it may SELECT some column of the group''s table (and, for a group FROM a source, of the source), and no row-level security applies to it there';

CREATE TABLE featstore.monitor_settings (
	group_name	text PRIMARY KEY REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	monitor_every interval CHECK (monitor_every > interval '0'),
	monitor_every_text text,
	freshness	interval CHECK (freshness > interval '0'),
	freshness_text text,
	baseline_periods integer NOT NULL DEFAULT 30 CHECK (baseline_periods BETWEEN 1 AND 1000),
	reference_from timestamptz,
	reference_to timestamptz,
	reference_label text,
	next_stats_at timestamptz,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CHECK ((monitor_every IS NULL) = (monitor_every_text IS NULL)),
	CHECK ((freshness IS NULL) = (freshness_text IS NULL)),
	CHECK ((reference_from IS NULL) = (reference_to IS NULL)),
	CHECK (reference_from < reference_to),
	CHECK (reference_label IS NULL OR reference_from IS NULL)
);
COMMENT ON TABLE featstore.monitor_settings IS 'Monitoring settings of a feature group; a group without a row is monitored with the defaults (statistics every day, no freshness SLA, a baseline of the trailing 30 periods)';
COMMENT ON COLUMN featstore.monitor_settings.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.monitor_settings.monitor_every IS 'The statistics period (MONITOR EVERY), as an absolute duration; NULL with monitor_every_text NULL means MONITOR NONE when the row exists';
COMMENT ON COLUMN featstore.monitor_settings.monitor_every_text IS 'MONITOR EVERY as written';
COMMENT ON COLUMN featstore.monitor_settings.freshness IS 'The freshness SLA (FRESHNESS), as an absolute duration; NULL: none';
COMMENT ON COLUMN featstore.monitor_settings.freshness_text IS 'FRESHNESS as written';
COMMENT ON COLUMN featstore.monitor_settings.baseline_periods IS 'How many trailing periods a period''s statistics are compared with, when no reference range is pinned';
COMMENT ON COLUMN featstore.monitor_settings.reference_from IS 'Start of a pinned reference range (inclusive); NULL: the trailing periods';
COMMENT ON COLUMN featstore.monitor_settings.reference_to IS 'End of a pinned reference range (exclusive)';
COMMENT ON COLUMN featstore.monitor_settings.reference_label IS 'A pinned reference that is a spine''s statistics (featstore.feature_stats with scope spine and this label: a training set''s, say); NULL: none';
COMMENT ON COLUMN featstore.monitor_settings.next_stats_at IS 'When the monitor computes the group''s next period';
COMMENT ON COLUMN featstore.monitor_settings.updated_at IS 'When the settings last changed';

CREATE TABLE featstore.monitor_thresholds (
	group_name	text NOT NULL REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	feature_name name,
	setting		text NOT NULL CHECK (setting IN ('mean_sigma', 'mean_min_effect', 'null_rate_sigma',
												 'null_rate_min_effect', 'psi', 'js', 'wasserstein',
												 'ks_pvalue', 'distinct_collapse', 'significance')),
	value		double precision NOT NULL,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (group_name, feature_name) REFERENCES featstore.features (group_name, name) ON DELETE CASCADE
);
CREATE UNIQUE INDEX monitor_thresholds_key ON featstore.monitor_thresholds
	(group_name, coalesce(feature_name, ''::name), setting);
COMMENT ON TABLE featstore.monitor_thresholds IS 'Drift thresholds set for a group (feature_name NULL) or one feature; anything not set takes the default (docs/monitoring.md)';
COMMENT ON COLUMN featstore.monitor_thresholds.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.monitor_thresholds.feature_name IS 'The feature; NULL: every feature of the group that sets none of its own';
COMMENT ON COLUMN featstore.monitor_thresholds.setting IS 'Which threshold (docs/monitoring.md, Drift)';
COMMENT ON COLUMN featstore.monitor_thresholds.value IS 'Its value';
COMMENT ON COLUMN featstore.monitor_thresholds.updated_at IS 'When it was set';

CREATE TABLE featstore.stats_runs (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	group_name	text NOT NULL REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	period_start timestamptz NOT NULL,
	period_end	timestamptz NOT NULL,
	started_at	timestamptz NOT NULL,
	finished_at timestamptz,
	status		text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
	rows_read	bigint,
	error		text,
	sqlstate	text,
	trigger		text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
	run_by		name NOT NULL,
	CHECK (period_start < period_end)
);
CREATE INDEX stats_runs_group_idx ON featstore.stats_runs (group_name, id);
COMMENT ON TABLE featstore.stats_runs IS 'One row per statistics run: the monitor''s scheduled runs and calls of featstore.compute_stats()';
COMMENT ON COLUMN featstore.stats_runs.id IS 'Sequence number of the run';
COMMENT ON COLUMN featstore.stats_runs.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.stats_runs.period_start IS 'Start of the range the run read (inclusive)';
COMMENT ON COLUMN featstore.stats_runs.period_end IS 'End of the range the run read (exclusive)';
COMMENT ON COLUMN featstore.stats_runs.started_at IS 'When the run started';
COMMENT ON COLUMN featstore.stats_runs.finished_at IS 'When the run ended';
COMMENT ON COLUMN featstore.stats_runs.status IS 'running (only inside the run''s own transaction), succeeded or failed';
COMMENT ON COLUMN featstore.stats_runs.rows_read IS 'History rows the run read';
COMMENT ON COLUMN featstore.stats_runs.error IS 'The error message of a failed run';
COMMENT ON COLUMN featstore.stats_runs.sqlstate IS 'The SQLSTATE of a failed run''s error';
COMMENT ON COLUMN featstore.stats_runs.trigger IS 'schedule: the monitor worker; manual: featstore.compute_stats()';
COMMENT ON COLUMN featstore.stats_runs.run_by IS 'The role that started the run; the history is read as its table''s owner';

CREATE TABLE featstore.feature_stats (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	group_name	text NOT NULL,
	feature_name name NOT NULL,
	scope		text NOT NULL DEFAULT 'period' CHECK (scope IN ('period', 'spine')),
	label		text NOT NULL DEFAULT '',
	period_start timestamptz NOT NULL,
	period_end	timestamptz NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('numeric', 'categorical')),
	row_count	bigint NOT NULL CHECK (row_count >= 0),
	null_count	bigint NOT NULL CHECK (null_count >= 0),
	null_rate	double precision,
	distinct_count bigint,
	min_value	double precision,
	max_value	double precision,
	mean		double precision,
	stddev		double precision,
	p01			double precision,
	p05			double precision,
	p25			double precision,
	p50			double precision,
	p75			double precision,
	p95			double precision,
	p99			double precision,
	percentiles	double precision[],
	histogram_edges double precision[],
	histogram_counts bigint[],
	top_values	text[],
	top_counts	bigint[],
	other_count	bigint,
	run_id		bigint REFERENCES featstore.stats_runs (id) ON DELETE SET NULL,
	computed_at timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (group_name, feature_name) REFERENCES featstore.features (group_name, name) ON DELETE CASCADE,
	UNIQUE (group_name, feature_name, scope, label, period_start, period_end),
	CHECK (period_start < period_end)
);
COMMENT ON TABLE featstore.feature_stats IS 'Statistics of one feature over one period of its group''s history (scope period) or over a spine (scope spine); rows are shown only to roles that may read the feature (featstore.feature_visible)';
COMMENT ON COLUMN featstore.feature_stats.id IS 'Sequence number';
COMMENT ON COLUMN featstore.feature_stats.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.feature_stats.feature_name IS 'The feature';
COMMENT ON COLUMN featstore.feature_stats.scope IS 'period: history rows whose event_timestamp is in [period_start, period_end); spine: the feature''s values joined at a spine''s rows';
COMMENT ON COLUMN featstore.feature_stats.label IS 'For scope spine: the name the caller gave the spine (a training set''s, say); empty for periods';
COMMENT ON COLUMN featstore.feature_stats.period_start IS 'Start of the period (inclusive); for a spine, its earliest timestamp';
COMMENT ON COLUMN featstore.feature_stats.period_end IS 'End of the period (exclusive); for a spine, just after its latest timestamp';
COMMENT ON COLUMN featstore.feature_stats.kind IS 'numeric: moments, quantiles and a histogram (dates, timestamps and intervals in seconds); categorical: top values with frequencies';
COMMENT ON COLUMN featstore.feature_stats.row_count IS 'Rows in the period, NULLs included';
COMMENT ON COLUMN featstore.feature_stats.null_count IS 'Rows whose value is NULL';
COMMENT ON COLUMN featstore.feature_stats.null_rate IS 'null_count / row_count; NULL when the period has no rows';
COMMENT ON COLUMN featstore.feature_stats.distinct_count IS 'Distinct non-NULL values';
COMMENT ON COLUMN featstore.feature_stats.min_value IS 'Smallest non-NULL value (numeric)';
COMMENT ON COLUMN featstore.feature_stats.max_value IS 'Largest non-NULL value (numeric)';
COMMENT ON COLUMN featstore.feature_stats.mean IS 'Mean of the non-NULL values (numeric)';
COMMENT ON COLUMN featstore.feature_stats.stddev IS 'Sample standard deviation of the non-NULL values (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p01 IS '1st percentile (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p05 IS '5th percentile (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p25 IS '25th percentile (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p50 IS 'Median (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p75 IS '75th percentile (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p95 IS '95th percentile (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p99 IS '99th percentile (numeric)';
COMMENT ON COLUMN featstore.feature_stats.percentiles IS 'The 101 percentiles p0 (the minimum) to p100 (the maximum), the distribution the drift tests compare (numeric)';
COMMENT ON COLUMN featstore.feature_stats.histogram_edges IS 'The 21 edges of 20 equal-width bins from min_value to max_value (numeric)';
COMMENT ON COLUMN featstore.feature_stats.histogram_counts IS 'Non-NULL values per bin; the last bin includes max_value (numeric)';
COMMENT ON COLUMN featstore.feature_stats.top_values IS 'The most frequent non-NULL values, most frequent first, as text (categorical); NULL for a PII feature, whose values they would be';
COMMENT ON COLUMN featstore.feature_stats.top_counts IS 'How often each of top_values occurs (categorical); NULL for a PII feature';
COMMENT ON COLUMN featstore.feature_stats.other_count IS 'Non-NULL values not among top_values (categorical); NULL for a PII feature';
COMMENT ON COLUMN featstore.feature_stats.run_id IS 'The run that computed the row';
COMMENT ON COLUMN featstore.feature_stats.computed_at IS 'When the row was computed';

CREATE TABLE featstore.alerts (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind		text NOT NULL CHECK (kind IN ('drift', 'stale_data', 'materialization_lag', 'worker_failing',
											  'transformation_stale', 'skew', 'stats_failed')),
	group_name	text NOT NULL REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	feature_name name,
	since		timestamptz NOT NULL DEFAULT now(),
	last_seen	timestamptz NOT NULL DEFAULT now(),
	details		jsonb NOT NULL DEFAULT '{}',
	resolved_at timestamptz,
	FOREIGN KEY (group_name, feature_name) REFERENCES featstore.features (group_name, name) ON DELETE CASCADE,
	CHECK (since <= last_seen),
	CHECK (resolved_at IS NULL OR resolved_at >= since)
);
CREATE UNIQUE INDEX alerts_open_key ON featstore.alerts (kind, group_name, coalesce(feature_name, ''::name))
	WHERE resolved_at IS NULL;
COMMENT ON TABLE featstore.alerts IS 'Open and resolved monitoring alerts; at most one open alert per kind, group and feature; every new alert is announced with NOTIFY featstore_alerts';
COMMENT ON COLUMN featstore.alerts.id IS 'Sequence number of the alert';
COMMENT ON COLUMN featstore.alerts.kind IS 'drift, stale_data (newest event_timestamp older than the freshness SLA), materialization_lag, worker_failing, transformation_stale, skew (Redis differs from the join at now()), stats_failed';
COMMENT ON COLUMN featstore.alerts.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.alerts.feature_name IS 'The feature, for alerts about one feature (drift)';
COMMENT ON COLUMN featstore.alerts.since IS 'When the condition was first seen';
COMMENT ON COLUMN featstore.alerts.last_seen IS 'When the condition was last seen';
COMMENT ON COLUMN featstore.alerts.details IS 'What was seen, as jsonb (docs/monitoring.md lists the fields of each kind)';
COMMENT ON COLUMN featstore.alerts.resolved_at IS 'When a later check found the condition gone; NULL while open';

CREATE TABLE featstore.skew_checks (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	group_name	text NOT NULL REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	checked_at	timestamptz NOT NULL DEFAULT now(),
	sample_size	integer NOT NULL CHECK (sample_size >= 0),
	differences	integer NOT NULL CHECK (differences >= 0),
	details		jsonb NOT NULL DEFAULT '[]',
	duration_ms	double precision,
	trigger		text NOT NULL CHECK (trigger IN ('schedule', 'manual'))
);
CREATE INDEX skew_checks_group_idx ON featstore.skew_checks (group_name, id);
COMMENT ON TABLE featstore.skew_checks IS 'Online/offline skew checks: a sample of an online group''s entities read from Redis and compared with the point-in-time join at now()';
COMMENT ON COLUMN featstore.skew_checks.id IS 'Sequence number of the check';
COMMENT ON COLUMN featstore.skew_checks.group_name IS 'The online feature group';
COMMENT ON COLUMN featstore.skew_checks.checked_at IS 'When the check ran';
COMMENT ON COLUMN featstore.skew_checks.sample_size IS 'Entities compared';
COMMENT ON COLUMN featstore.skew_checks.differences IS 'Entities whose Redis value differs from the join at now(); any is an alert';
COMMENT ON COLUMN featstore.skew_checks.details IS 'The first differences: entity and problem, as verify_online() reports them';
COMMENT ON COLUMN featstore.skew_checks.duration_ms IS 'How long the check took';
COMMENT ON COLUMN featstore.skew_checks.trigger IS 'schedule: the monitor worker; manual: featstore.check_skew()';

-- Only the extension's own code writes these tables; readers see the rows
-- the policies let through.
ALTER TABLE featstore.feature_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE featstore.alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE featstore.skew_checks ENABLE ROW LEVEL SECURITY;
ALTER TABLE featstore.stats_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY feature_stats_visible ON featstore.feature_stats FOR SELECT
	USING (featstore.feature_visible(group_name, feature_name));
CREATE POLICY alerts_visible ON featstore.alerts FOR SELECT
	USING (CASE WHEN feature_name IS NULL THEN featstore.group_visible(group_name)
				ELSE featstore.feature_visible(group_name, feature_name) END);
CREATE POLICY skew_checks_visible ON featstore.skew_checks FOR SELECT
	USING (featstore.group_visible(group_name));
CREATE POLICY stats_runs_visible ON featstore.stats_runs FOR SELECT
	USING (featstore.group_visible(group_name));

REVOKE ALL ON featstore.monitor_settings, featstore.monitor_thresholds, featstore.stats_runs,
	featstore.feature_stats, featstore.alerts, featstore.skew_checks FROM PUBLIC;
GRANT SELECT ON featstore.monitor_settings, featstore.monitor_thresholds, featstore.stats_runs,
	featstore.feature_stats, featstore.alerts, featstore.skew_checks TO featstore_reader;

SELECT pg_catalog.pg_extension_config_dump('featstore.monitor_settings', '');
SELECT pg_catalog.pg_extension_config_dump('featstore.monitor_thresholds', '');
