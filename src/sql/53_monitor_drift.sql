-- featstore drift (issue 11): each stored period's statistics compared with
-- a baseline.  The thresholds' defaults (the one place they are written),
-- drift_tests(), the featstore.drift view and evaluate_drift().
-- docs/monitoring.md, Drift.

CREATE VIEW featstore.monitor_threshold_defaults AS
SELECT d.setting, d.value, d.description
  FROM (VALUES
	('mean_sigma', 3.0::float8,
	 'mean: drift when |mean - mu_b| > mean_sigma * sigma_b (sigma_b: stddev of the baseline periods'' means) and the effect exceeds mean_min_effect'),
	('mean_min_effect', 0.1::float8,
	 'mean: the smallest |mean - mu_b|, in baseline pooled stddevs, that counts as drift'),
	('null_rate_sigma', 3.0::float8,
	 'null rate: drift when |rate - mu_b| > null_rate_sigma * sigma_b and exceeds null_rate_min_effect'),
	('null_rate_min_effect', 0.01::float8,
	 'null rate: the smallest absolute change that counts as drift'),
	('psi', 0.2::float8,
	 'population stability index over the baseline''s deciles: drift above it'),
	('js', 0.1::float8,
	 'Jensen-Shannon distance (base 2) of a categorical''s value frequencies: drift above it'),
	('wasserstein', 0.1::float8,
	 'Wasserstein-1 distance over the baseline''s pooled stddev, periods of more than 1000 values: drift above it'),
	('ks_pvalue', 0.0001::float8,
	 'two-sample Kolmogorov-Smirnov p-value, periods of at most 1000 values: drift below it'),
	('distinct_collapse', 0.1::float8,
	 'distinct count over the baseline periods'' mean distinct count: drift below it'),
	('significance', 0.0001::float8,
	 'mean, null rate, PSI and JS: drift also needs the difference''s sampling p-value below it, so that a small period crossing a threshold by chance is not drift')
	) AS d(setting, value, description);
COMMENT ON VIEW featstore.monitor_threshold_defaults IS 'The default of every drift threshold (a group''s or feature''s own in featstore.monitor_thresholds replace it), and its meaning; the valid ranges are checked where thresholds are set (docs/monitoring.md, Settings)';
COMMENT ON COLUMN featstore.monitor_threshold_defaults.setting IS 'The threshold, as featstore.monitor_thresholds.setting names it';
COMMENT ON COLUMN featstore.monitor_threshold_defaults.value IS 'Its default';
COMMENT ON COLUMN featstore.monitor_threshold_defaults.description IS 'What it bounds';

CREATE FUNCTION featstore.drift_tests(feature_group text,
									  range_from timestamptz DEFAULT NULL,
									  range_to timestamptz DEFAULT NULL)
RETURNS TABLE (group_name text, feature_name name, period_start timestamptz,
			   period_end timestamptz, test text, statistic double precision,
			   threshold double precision, verdict text, baseline_periods integer,
			   baseline_from timestamptz, baseline_to timestamptz,
			   effect double precision, min_effect double precision,
			   p_value double precision, significance double precision)
AS 'MODULE_PATHNAME', 'featstore_drift_tests'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.drift_tests(text, timestamptz, timestamptz) IS 'The drift tests of a group''s stored periods within [range_from, range_to) (NULL: unbounded): one row per feature, period and test, for the features whose statistics the caller may see';

-- group_name is the registry's column, so that WHERE group_name = ... picks
-- the groups before drift_tests() runs, instead of filtering its rows
CREATE VIEW featstore.drift WITH (security_invoker = true) AS
SELECT g.name AS group_name, d.feature_name, d.period_start, d.period_end, d.test,
	   d.statistic, d.threshold, d.verdict, d.baseline_periods, d.baseline_from,
	   d.baseline_to, d.effect, d.min_effect, d.p_value, d.significance
  FROM featstore.feature_groups g
 CROSS JOIN LATERAL featstore.drift_tests(g.name) d
 WHERE featstore.group_visible(g.name);
COMMENT ON VIEW featstore.drift IS 'One row per feature, stored period and drift test of every group: the statistic, the threshold and the verdict (ok, drift, no baseline); only the features whose statistics the reader may see';
COMMENT ON COLUMN featstore.drift.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.drift.feature_name IS 'The feature';
COMMENT ON COLUMN featstore.drift.period_start IS 'Start of the period tested (inclusive)';
COMMENT ON COLUMN featstore.drift.period_end IS 'End of the period tested (exclusive)';
COMMENT ON COLUMN featstore.drift.test IS 'mean_sigma, null_rate_sigma, psi, ks_pvalue or wasserstein, js, distinct_collapse, all_null (docs/monitoring.md, Drift)';
COMMENT ON COLUMN featstore.drift.statistic IS 'The test''s statistic; NULL with verdict no baseline';
COMMENT ON COLUMN featstore.drift.threshold IS 'The threshold it was compared with (the feature''s, else the group''s, else the default); NULL for all_null';
COMMENT ON COLUMN featstore.drift.verdict IS 'ok, drift, or no baseline (too few baseline periods with values)';
COMMENT ON COLUMN featstore.drift.baseline_periods IS 'How many periods the baseline had';
COMMENT ON COLUMN featstore.drift.baseline_from IS 'Start of the baseline''s earliest period';
COMMENT ON COLUMN featstore.drift.baseline_to IS 'End of the baseline''s latest period';
COMMENT ON COLUMN featstore.drift.effect IS 'mean_sigma: |mean - mu_b| in baseline pooled stddevs; null_rate_sigma: |rate - mu_b|; ks_pvalue: the KS statistic D; else NULL';
COMMENT ON COLUMN featstore.drift.min_effect IS 'The smallest effect that counts as drift (mean_min_effect, null_rate_min_effect); else NULL';
COMMENT ON COLUMN featstore.drift.p_value IS 'The probability of a difference at least this large between two samples of one distribution (mean, null rate, PSI, JS: from their sampling distributions; ks_pvalue: the statistic); NULL for the other tests';
COMMENT ON COLUMN featstore.drift.significance IS 'Drift needs p_value below it (the significance setting; ks_pvalue for KS); NULL when p_value is';

REVOKE EXECUTE ON FUNCTION featstore.drift_tests(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.drift_tests(text, timestamptz, timestamptz) TO featstore_reader;
GRANT SELECT ON featstore.monitor_threshold_defaults, featstore.drift TO featstore_reader;

CREATE FUNCTION featstore.evaluate_drift(feature_group text, period_start timestamptz,
										 period_end timestamptz)
RETURNS integer
AS 'MODULE_PATHNAME', 'featstore_evaluate_drift'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.evaluate_drift(text, timestamptz, timestamptz) IS 'Evaluate the drift of a group''s stored period [period_start, period_end) as the monitor does, opening or resolving the drift alerts of the features whose statistics the caller may see; takes featstore_editor; returns how many of them have drift';
REVOKE EXECUTE ON FUNCTION featstore.evaluate_drift(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.evaluate_drift(text, timestamptz, timestamptz) TO featstore_reader;
