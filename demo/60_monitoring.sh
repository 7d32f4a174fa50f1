#!/bin/bash
# 6. Monitoring: what the on-call person reads first (featstore.group_health),
# a drift injected into merchant_features and caught (statistics per day
# with compute_stats, drift per day with evaluate_drift: the alert and its
# rows in featstore.drift), and the group's monitoring report written to an
# HTML file.  The monitor worker does the same on its own schedule; the demo
# runs it on demand (scripts/demo.sh starts the server with
# featstore.monitor = off) so that every run prints the same.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${FEATSTORE_DEMO_OUT:-$PWD/demo-output}

echo
echo '== 6. Monitoring: group health, an injected drift caught, the HTML report'
echo
$PSQL <<'SQL'
-- A freshness SLA: merchant_features is rewritten at least daily.
SELECT command, object_name, detail FROM featstore.exec($$
	ALTER FEATURE GROUP merchant_features SET FRESHNESS '1 day';
$$);

-- The incident: on 2026-11-01 a new version of the batch job writes the
-- chargeback rate in percent instead of as a fraction.  Nothing fails; the
-- values are a hundred times too large.
INSERT INTO merchant_features (merchant_id, event_timestamp, created_at, chargeback_rate_90d, tx_count_7d)
SELECT t.merchant_id, timestamptz '2026-11-01 00:00+00', timestamptz '2026-11-01 01:00+00',
	   round((t.merchant_id * 37 % 201 / 100.0)::numeric, 2)::double precision, count(*)
  FROM transactions t
 WHERE t.ts > timestamptz '2026-11-01 00:00+00' - interval '7 days' AND t.ts <= '2026-11-01 00:00+00'
 GROUP BY t.merchant_id;
SQL

echo '-- statistics of every day of merchant_features (compute_stats), then each day compared with the'
echo '-- 30 days before it (evaluate_drift), as the monitor worker does after each period:'
$PSQL <<'SQL'
SELECT count(featstore.compute_stats('merchant_features', d, d + interval '1 day')) AS days_computed
  FROM generate_series(timestamptz '2026-10-02 00:00+00', '2026-11-01 00:00+00', interval '1 day') AS d;
SELECT count(*) AS runs, min(period_start)::date AS first_day, max(period_start)::date AS last_day,
	   sum(rows_read) AS rows_read, count(*) FILTER (WHERE status <> 'succeeded') AS failed
  FROM featstore.stats_runs WHERE group_name = 'merchant_features';
SELECT count(featstore.evaluate_drift('merchant_features', d, d + interval '1 day')) AS days_evaluated
  FROM generate_series(timestamptz '2026-10-02 00:00+00', '2026-11-01 00:00+00', interval '1 day') AS d;
SELECT featstore.check_freshness() AS slas_checked;
SQL

echo '-- the first thing an on-call person reads:'
$PSQL -c "SELECT group_name, status, freshness, newest_event IS NOT NULL AS has_events, freshness_met,
                 last_stats_status, open_alerts, open_alert_kinds
            FROM featstore.group_health ORDER BY group_name"
echo '-- the drift alert (NOTIFY featstore_alerts announced it) and what it found:'
$PSQL -c "SELECT id, kind, feature_name, details->>'period_start' AS period,
                 jsonb_path_query_array(details, '\$.tests[*].test') AS failing_tests
            FROM featstore.alerts
           WHERE group_name = 'merchant_features' AND resolved_at IS NULL ORDER BY id"
echo '-- every day and feature with a failing test, over the whole history:'
$PSQL -c "SELECT period_start::date AS period, feature_name, string_agg(test, ', ' ORDER BY test) AS failing_tests
            FROM featstore.drift
           WHERE group_name = 'merchant_features' AND verdict = 'drift'
           GROUP BY 1, 2 ORDER BY 1, 2"
echo '-- the injected day in featstore.drift (one row per feature, period and test):'
$PSQL -c "SELECT feature_name, period_start::date AS period, test, round(statistic::numeric, 4) AS statistic,
                 threshold, verdict, baseline_periods, to_char(p_value, '9.9EEEE') AS p_value
            FROM featstore.drift
           WHERE group_name = 'merchant_features' AND period_start = '2026-11-01'
           ORDER BY feature_name, verdict <> 'drift', test"

# the demo checks what it shows: the injected day is caught, on the right
# feature, and nothing else is drift (no noise day in 31 stable ones)
caught=$($PSQL -At -c "SELECT string_agg(DISTINCT feature_name || '@' || period_start::date, ',')
                         FROM featstore.drift
                        WHERE group_name = 'merchant_features' AND verdict = 'drift'")
if [ "$caught" != "chargeback_rate_90d@2026-11-01" ]; then
	echo "demo: expected drift on chargeback_rate_90d on 2026-11-01 and nowhere else, got: $caught" >&2
	exit 1
fi

mkdir -p "$OUT_DIR"
REPORT="$OUT_DIR/merchant_features_monitoring.html"
$PSQL -At -c "SELECT featstore.monitoring_report('merchant_features')" > "$REPORT"
charts=$(grep -o '<svg class="chart ' "$REPORT" | wc -l)
red=$(grep -o '<circle class="pt out"' "$REPORT" | wc -l)
if [ "$charts" -lt 6 ] || [ "$red" -lt 1 ]; then
	echo "demo: the report has $charts charts and $red points outside their band" >&2
	exit 1
fi
echo "-- the monitoring report of merchant_features ($(wc -c < "$REPORT") bytes, $charts charts, $red point(s) outside"
echo "-- their no-drift band; standalone HTML, no script, no external asset) is written to:"
echo "   $REPORT"
echo "   open it in a browser (file://$REPORT), or make another one with:"
echo "   psql -Atc \"SELECT featstore.monitoring_report('merchant_features')\" > report.html"
