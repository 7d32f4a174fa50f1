-- featstore.monitoring_report(): one standalone HTML page per group, read
-- as the caller.  The page is checked as XML (well-formed: every
-- user-derived string is escaped, else the parse fails or finds elements
-- that should not be there), its charts are counted per feature, its
-- figures are compared with SQL's own aggregates, and it is refused to
-- roles that may not see the group.
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
-- mr_count(doc, path): how many nodes an XPath finds in the page
CREATE FUNCTION mr_count(doc xml, path text) RETURNS integer LANGUAGE sql AS $$
	SELECT (xpath('count(' || path || ')', doc))[1]::text::numeric::integer
$$;
-- mr_str(doc, path): the string value of what an XPath finds
CREATE FUNCTION mr_str(doc xml, path text) RETURNS text LANGUAGE sql AS $$
	SELECT (xpath('string(' || path || ')', doc))[1]::text
$$;
-- mr_list(doc, path): the text of what an XPath finds, in page order
CREATE FUNCTION mr_list(doc xml, path text) RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(x::text, ', ') FROM unnest(xpath(path || '/text()', doc)) AS x
$$;
-- mr_sqlstate(sql): the SQLSTATE the statement fails with, or 'ok'
CREATE FUNCTION mr_sqlstate(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;
CREATE ROLE mr_owner LOGIN IN ROLE featstore_editor;
CREATE ROLE mr_reader LOGIN IN ROLE featstore_reader;
CREATE ROLE mr_partial LOGIN IN ROLE featstore_reader;
CREATE ROLE mr_nobody LOGIN;
CREATE SCHEMA mr AUTHORIZATION mr_owner;

-- a group whose owner writes hostile text everywhere it can
SET ROLE mr_owner;
SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY mr_customer (customer_id bigint);
	CREATE FEATURE GROUP mr.mr_orders ENTITY mr_customer
		FEATURES (
			amount double precision 'Order amount <b>bold</b> & "quoted"',
			country text 'Country <img src=x onerror=alert(1)>',
			n_items integer 'Items per order',
			express boolean 'Express delivery')
		DESCRIPTION $d$<script>alert('group')</script> "&'<>$d$;
$$);
-- 40 days of 200 orders; on the last day (2026-11-09) the amount's mean
-- shifts by +40 and n_items turns all NULL
SELECT setseed(0.11);
INSERT INTO mr.mr_orders (customer_id, event_timestamp, amount, country, n_items, express)
SELECT i, timestamptz '2026-10-01 00:00+00' + d * interval '1 day' + (i * interval '7 minutes'),
	   CASE WHEN d = 39 THEN 140 ELSE 100 END + 20 * (random() + random() + random() - 1.5),
	   (ARRAY['FR', 'DE', 'IT', '<script>alert(1)</script>', '"&''<>'])[1 + (i % 5)],
	   CASE WHEN d < 39 THEN (i * 7 + d) % 6 END,
	   i % 3 = 0
  FROM generate_series(0, 39) AS d, generate_series(1, 200) AS i;
RESET ROLE;

-- Statistics per day and the drift of each day, as the monitor computes
-- them (compute_stats, evaluate_drift), by the owner
SET ROLE mr_owner;
SELECT count(featstore.compute_stats('mr_orders', d, d + interval '1 day')) AS stats_runs
  FROM generate_series(timestamptz '2026-10-01 00:00+00', '2026-11-09 00:00+00', interval '1 day') AS d;
SELECT count(featstore.evaluate_drift('mr_orders', d, d + interval '1 day')) AS evaluated
  FROM generate_series(timestamptz '2026-10-01 00:00+00', '2026-11-09 00:00+00', interval '1 day') AS d;
-- a freshness SLA of a day, long breached: the newest event is of 2026-11-09
SELECT command FROM featstore.exec($$ALTER FEATURE GROUP mr_orders SET FRESHNESS '1 day'$$);
SELECT featstore.check_freshness() >= 1 AS checked;
RESET ROLE;
SELECT kind, feature_name, jsonb_path_query_array(details, '$.tests[*].test') AS failing_tests FROM featstore.alerts
 WHERE group_name = 'mr_orders' AND resolved_at IS NULL ORDER BY kind, feature_name;
-- Rows no part of featstore writes with hostile text, so that the page's
-- escaping of alert details and run errors is tested: inserted here by the
-- superuser into the contract tables.  A resolved alert is not shown.
INSERT INTO featstore.stats_runs (group_name, period_start, period_end, started_at, finished_at, status,
								  rows_read, error, sqlstate, trigger, run_by)
VALUES ('mr_orders', '2026-11-09', '2026-11-10', '2026-11-10 00:05+00', '2026-11-10 00:06+00', 'failed',
		NULL, 'value "<b>boom</b>" & more', '22P02', 'schedule', 'mr_owner');
INSERT INTO featstore.alerts (kind, group_name, feature_name, since, last_seen, details)
VALUES ('transformation_stale', 'mr_orders', NULL, '2026-11-10 01:00+00', '2026-11-10 02:00+00',
		'{"newest": "2026-11-09T23:53:00+00:00", "note": "</td><script>x</script>", "age_seconds": 7620}');
INSERT INTO featstore.alerts (kind, group_name, feature_name, since, last_seen, resolved_at)
VALUES ('skew', 'mr_orders', NULL, '2026-11-01', '2026-11-01', '2026-11-02');

-- the owner's report: a standalone, well-formed page with no way out
SET ROLE mr_owner;
CREATE TEMP TABLE mr_page AS SELECT featstore.monitoring_report('mr_orders') AS html;
SELECT left(html, 15) AS head, right(html, 7) AS tail, html ~* '(https?|ftp|file|data|javascript):' AS any_url,
	   html ~* '<script' AS raw_script, html ~* 'url\(' AS css_url, html ~* '@import' AS css_import
  FROM mr_page;
CREATE TEMP TABLE mr_doc AS SELECT xmlparse(document html) AS d FROM mr_page;
-- everything user-derived is text, escaped: no element or attribute came
-- from the data, and nothing in the page loads or runs anything
SELECT mr_count(d, '//script') AS script_elements, mr_count(d, '//b') AS b_elements,
	   mr_count(d, '//link | //img | //iframe | //object | //embed | //image | //use | //foreignObject') AS loading_elements,
	   mr_count(d, '//@src | //@href | //@*[local-name() = "href"]') AS src_or_href,
	   mr_count(d, '//@*[starts-with(local-name(), "on")]') AS event_handlers
  FROM mr_doc;
SELECT position($e$&lt;script&gt;alert(&#39;group&#39;)&lt;/script&gt; &quot;&amp;&#39;&lt;&gt;$e$ IN html) > 0 AS group_description,
	   position($e$Order amount &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;$e$ IN html) > 0 AS feature_description,
	   position($e$Country &lt;img src=x onerror=alert(1)&gt;$e$ IN html) > 0 AS other_description,
	   position($e$<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>$e$ IN html) > 0 AS top_value,
	   position($e$<title>&quot;&amp;&#39;&lt;&gt;</title>$e$ IN html) > 0 AS top_value_quotes,
	   position($e$note: &lt;/td&gt;&lt;script&gt;x&lt;/script&gt;$e$ IN html) > 0 AS alert_details,
	   position($e$value &quot;&lt;b&gt;boom&lt;/b&gt;&quot; &amp; more$e$ IN html) > 0 AS run_error
  FROM mr_page;
-- the header: the status of featstore.group_health, the definition, the
-- freshness (its gauge red: the age is beyond the SLA), the monitoring
SELECT mr_str(d, '//h1') AS h1, mr_str(d, '//div[contains(@class, "status")]') AS status,
	   mr_str(d, '//div[contains(@class, "status")]/@class') AS status_class,
	   (SELECT status FROM featstore.group_health WHERE group_name = 'mr_orders') AS group_health_status
  FROM mr_doc;
SELECT mr_str(d, '//table[@class="meta"]//tr[th="kind"]/td') AS kind,
	   mr_str(d, '//table[@class="meta"]//tr[th="entity"]/td') AS entity,
	   mr_str(d, '//table[@class="meta"]//tr[th="table"]/td') AS "table"
  FROM mr_doc;
SELECT mr_str(d, '//table[@class="meta"]//tr[th="freshness SLA"]/td') AS sla,
	   mr_str(d, '//table[@class="meta"]//tr[th="newest event"]/td') AS newest,
	   mr_str(d, '//table[@class="meta"]//tr[th="newest event"]/td')
		 = featstore.report_ts((SELECT max(event_timestamp) FROM mr.mr_orders)) AS newest_is_max,
	   mr_str(d, '//table[@class="meta"]//tr[th="age"]/td/span/@class') AS age_class,
	   mr_count(d, '//svg[contains(@class, "freshness")]/rect[@class="fill late"]') AS late_gauges,
	   mr_count(d, '//table[@class="meta"]//tr[th="materialization lag"]') AS lag_rows
  FROM mr_doc;
SELECT mr_str(d, '//table[@class="meta"]//tr[th="statistics every"]/td') AS every,
	   mr_str(d, '//table[@class="meta"]//tr[th="baseline"]/td') AS baseline,
	   mr_str(d, '//table[@class="meta"]//tr[th="periods shown"]/td') AS periods,
	   mr_str(d, '//table[@class="meta"]//tr[th="last statistics run"]/td') AS last_run,
	   mr_str(d, '//table[@class="meta"]//tr[th="last skew check"]/td') AS last_skew
  FROM mr_doc;
-- the open alerts, newest first (the resolved skew alert is not shown)
SELECT mr_count(d, '//tr[@class="alert"]') AS alert_rows, mr_list(d, '//tr[@class="alert"]/td[1]') AS kinds,
	   mr_list(d, '//tr[@class="alert"]/td[2]') AS features,
	   mr_str(d, '//tr[@class="alert"][td[1]="transformation_stale"]/td[5]') AS inserted_details
  FROM mr_doc;
-- the charts, per feature: numeric features have a histogram (20 current
-- and 20 baseline bars), a mean and a null-rate chart, each with its band;
-- categoricals the top values (each value and "all other values") and the
-- null rate.  n_items is all NULL in the current period: no current bar.
SELECT f AS feature,
	   mr_count(d, format('//article[@data-feature="%s"]//svg', f)) AS svgs,
	   mr_count(d, format('//article[@data-feature="%s"]//svg[contains(@class, "histogram")]', f)) AS histograms,
	   mr_count(d, format('//article[@data-feature="%s"]//svg[contains(@class, "topvalues")]', f)) AS top_charts,
	   mr_count(d, format('//article[@data-feature="%s"]//svg[contains(@class, "series")]', f)) AS series,
	   mr_count(d, format('//article[@data-feature="%s"]//*[@class="bar cur"]', f)) AS cur_bars,
	   mr_count(d, format('//article[@data-feature="%s"]//*[@class="bar base"]', f)) AS base_bars,
	   mr_count(d, format('//article[@data-feature="%s"]//path[@class="band"]', f)) AS bands,
	   mr_count(d, format('//article[@data-feature="%s"]//circle[starts-with(@class, "pt")]', f)) AS points,
	   mr_count(d, format('//article[@data-feature="%s"]//svg[contains(@class, "series")][1]//circle[@class="pt out"]', f)) AS first_series_out,
	   mr_count(d, format('//article[@data-feature="%s"]//svg[contains(@class, "series")][last()]//circle[@class="pt out"]', f)) AS null_rate_out,
	   mr_str(d, format('//article[@data-feature="%s"]//span[contains(@class, "badge")]', f)) AS badge
  FROM mr_doc, unnest(ARRAY['amount', 'country', 'n_items', 'express']) AS f;
SELECT mr_count(d, '//article') AS articles, mr_count(d, '//article//svg') AS svgs,
	   mr_count(d, '//article[contains(@class, "drifting")]') AS drifting
  FROM mr_doc;
-- the page is written in UTC whatever the session's time zone (the
-- footer's time of day aside)
SET TimeZone = 'Pacific/Auckland';
SELECT regexp_replace(featstore.monitoring_report('mr_orders'), '<footer>.*</footer>', '')
	   = regexp_replace(html, '<footer>.*</footer>', '') AS same_page_in_auckland
  FROM mr_page;
SET TimeZone = 'UTC';
RESET ROLE;

-- the figures of the current period are SQL's own aggregates of that day
SELECT mr_str(d, '//article[@data-feature="amount"]//td[@class="rows"]') = a.n AS amount_rows,
	   mr_str(d, '//article[@data-feature="amount"]//td[@class="mean"]') = a.mean AS amount_mean,
	   mr_str(d, '//article[@data-feature="amount"]//td[@class="stddev"]') = a.sd AS amount_stddev,
	   mr_str(d, '//article[@data-feature="amount"]//td[@class="min"]') = a.min AS amount_min,
	   mr_str(d, '//article[@data-feature="amount"]//td[@class="max"]') = a.max AS amount_max,
	   mr_str(d, '//article[@data-feature="amount"]//td[@class="p50"]') = a.p50 AS amount_p50,
	   mr_str(d, '//article[@data-feature="country"]//td[@class="distinct"]') = a.countries AS country_distinct,
	   mr_str(d, '//article[@data-feature="n_items"]//td[@class="null_rate"]') AS n_items_null_rate,
	   mr_str(d, '//article[@data-feature="express"]//td[@class="top"]') AS express_top
  FROM mr_doc,
	   (SELECT count(*)::text AS n, featstore.report_num(avg(amount)) AS mean,
			   featstore.report_num(stddev_samp(amount)) AS sd, featstore.report_num(min(amount)) AS min,
			   featstore.report_num(max(amount)) AS max,
			   featstore.report_num(percentile_cont(0.5) WITHIN GROUP (ORDER BY amount)) AS p50,
			   count(DISTINCT country)::text AS countries
		  FROM mr.mr_orders
		 WHERE event_timestamp >= '2026-11-09 00:00+00' AND event_timestamp < '2026-11-10 00:00+00') a;
-- each feature's drift tests of the current period are drift_tests()'s
SELECT f AS feature,
	   (SELECT string_agg(t.test || ' ' || t.verdict, ', ' ORDER BY t.verdict <> 'drift', t.test)
		  FROM featstore.drift_tests('mr_orders', '2026-11-09', '2026-11-10') t WHERE t.feature_name = f) AS drift_tests,
	   (SELECT string_agg(x.test || ' ' || x.verdict, ', ' ORDER BY x.i)
		  FROM unnest(xpath(format('//article[@data-feature="%s"]//table[@class="drift"]/tr[@class="tests"]/th[position() > 1]/text()', f), d),
					  xpath(format('//article[@data-feature="%s"]//table[@class="drift"]/tr[@class="verdicts"]/td/text()', f), d))
			   WITH ORDINALITY AS x(test, verdict, i)) AS in_page
  FROM mr_doc, unnest(ARRAY['amount', 'country', 'n_items', 'express']) AS f;
-- the points outside the bands are exactly the periods in which the drift
-- tests mean_sigma and null_rate_sigma find drift (featstore.drift_tests)
SELECT f AS feature,
	   coalesce((SELECT string_agg(left(x::text, 10), ', ')
				   FROM unnest(xpath(format('//article[@data-feature="%s"]//svg[contains(@class, "series")][%s]//circle[@class="pt out"]/title/text()',
											f, CASE WHEN f IN ('amount', 'n_items') THEN 1 ELSE 0 END), d)) AS x), '') AS mean_out_in_page,
	   coalesce((SELECT string_agg(to_char(t.period_start, 'YYYY-MM-DD'), ', ' ORDER BY t.period_start)
				   FROM featstore.drift_tests('mr_orders', '2026-10-11', '2026-11-10') t
				  WHERE t.feature_name = f AND t.test = 'mean_sigma' AND t.verdict = 'drift'), '') AS mean_drift,
	   coalesce((SELECT string_agg(left(x::text, 10), ', ')
				   FROM unnest(xpath(format('//article[@data-feature="%s"]//svg[contains(@class, "series")][last()]//circle[@class="pt out"]/title/text()', f), d)) AS x), '') AS null_out_in_page,
	   coalesce((SELECT string_agg(to_char(t.period_start, 'YYYY-MM-DD'), ', ' ORDER BY t.period_start)
				   FROM featstore.drift_tests('mr_orders', '2026-10-11', '2026-11-10') t
				  WHERE t.feature_name = f AND t.test = 'null_rate_sigma' AND t.verdict = 'drift'), '') AS null_drift
  FROM mr_doc, unnest(ARRAY['amount', 'country', 'n_items', 'express']) AS f;
-- and the mean band, computed here from the rows: a day is outside when its
-- mean is further from the mean of the 30 days' means before it than both
-- 3 stddev of those means and 0.1 stddev of those days' rows
WITH day AS (SELECT d AS p, (SELECT avg(amount) FROM mr.mr_orders
							  WHERE event_timestamp >= d AND event_timestamp < d + interval '1 day') AS m
			   FROM generate_series(timestamptz '2026-10-11 00:00+00', '2026-11-09 00:00+00', interval '1 day') AS d),
	 band AS (SELECT day.p, day.m, b.mu, b.sd,
					 (SELECT stddev_samp(amount) FROM mr.mr_orders
					   WHERE event_timestamp >= day.p - interval '30 days' AND event_timestamp < day.p) AS pooled
				FROM day,
					 LATERAL (SELECT avg(x.m) AS mu, stddev_samp(x.m) AS sd
								FROM (SELECT avg(amount) AS m FROM mr.mr_orders
									   WHERE event_timestamp >= day.p - interval '30 days' AND event_timestamp < day.p
									   GROUP BY date_trunc('day', event_timestamp, 'UTC')) x) b)
SELECT string_agg(to_char(p AT TIME ZONE 'UTC', 'YYYY-MM-DD'), ', ' ORDER BY p) AS outside_by_sql,
	   (SELECT mr_list(d, '//article[@data-feature="amount"]//svg[contains(@class, "series")][1]//circle[@class="pt out"]/title')
		  FROM mr_doc) AS outside_in_page
  FROM band WHERE abs(m - mu) > greatest(3 * sd, 0.1 * pooled);
-- the histogram's shares: each side adds up to 1, and the baseline's are
-- the row-weighted mixture of the 30 days before, read from their percentiles
SELECT round(sum(s)::numeric, 9) AS current_total FROM unnest((
	SELECT featstore.report_shares(percentiles, 0, 200, 20) FROM featstore.feature_stats
	 WHERE group_name = 'mr_orders' AND feature_name = 'amount' AND period_start = '2026-11-09')) s;
SELECT count(*) AS baseline_periods, min(period_start)::date AS first, max(period_start)::date AS last
  FROM featstore.report_baseline('mr_orders', 'amount', 'numeric', '2026-11-09 00:00+00', '2026-11-10 00:00+00');
-- the distribution helpers on closed forms: uniform percentiles 0..4
SELECT x, featstore.report_cdf(ARRAY[0, 1, 2, 3, 4]::float8[], x) AS cdf
  FROM unnest(ARRAY[-1, 0, 0.5, 2, 3.5, 4, 9]::float8[]) AS x;
SELECT featstore.report_shares(ARRAY[0, 1, 2, 3, 4]::float8[], 0, 4, 4) AS uniform,
	   featstore.report_shares(ARRAY[0, 1, 2, 3, 4]::float8[], 1, 3, 2) AS outer_bins_open,
	   featstore.report_shares(ARRAY[2, 2, 2, 2, 2]::float8[], 0, 4, 4) AS constant;
SELECT featstore.html_escape($e$<a href="x">'&'</a>$e$) AS escaped,
	   featstore.report_num(1234.5678) AS n1, featstore.report_num(0.012345) AS n2,
	   featstore.report_num(-3.14159) AS n3, featstore.report_num(2e12) AS n4, featstore.report_num(NULL) AS n5,
	   featstore.report_ts('2026-11-09 00:00+00') AS day, featstore.report_ts('2026-11-09 13:45+00') AS instant;

-- a range: the periods starting in [from, to); the current one is the last
SET ROLE mr_owner;
SELECT mr_str(d, '//table[@class="meta"]//tr[th="periods shown"]/td') AS periods,
	   mr_count(d, '//article[@data-feature="amount"]//svg[contains(@class, "series")][1]//circle') AS points,
	   mr_str(d, '//article[@data-feature="amount"]//p[@class="baseline"]') AS baseline
  FROM (SELECT xmlparse(document featstore.monitoring_report('mr_orders', '2026-10-05', '2026-10-15')) AS d) x;
-- a range without statistics still renders, and says so
SELECT mr_str(d, '//table[@class="meta"]//tr[th="periods shown"]/td') AS periods, mr_count(d, '//article//svg') AS svgs,
	   mr_str(d, '//article[@data-feature="amount"]/p') AS amount
  FROM (SELECT xmlparse(document featstore.monitoring_report('mr_orders', '2025-01-01', '2025-02-01')) AS d) x;
-- bad arguments
SELECT featstore.monitoring_report('mr_nope');
SELECT featstore.monitoring_report(NULL);
SELECT featstore.monitoring_report('mr_orders', '2026-11-01', '2026-10-01');
RESET ROLE;

-- a reader without grants on the table is refused, and learns nothing
SET ROLE mr_reader;
SELECT featstore.monitoring_report('mr_orders');
SELECT count(*) AS stats_rows_seen FROM featstore.feature_stats WHERE group_name = 'mr_orders';
RESET ROLE;
-- a role with no featstore role may not call it at all
SET ROLE mr_nobody;
SELECT mr_sqlstate($$SELECT featstore.monitoring_report('mr_orders')$$) AS nobody;
RESET ROLE;

-- a reader with SELECT on some columns sees the group and those features
-- only; the alerts about the others are left out
SET ROLE mr_owner;
GRANT USAGE ON SCHEMA mr TO mr_partial;
GRANT SELECT (customer_id, event_timestamp, amount) ON mr.mr_orders TO mr_partial;
SET ROLE mr_partial;
SELECT mr_count(d, '//article') AS articles, mr_str(d, '//article/@data-feature') AS feature,
	   mr_count(d, '//tr[@class="alert"]') AS alert_rows,
	   mr_str(d, '//p[@class="empty"][last()]') AS left_out,
	   position('country' IN html) > 0 AS mentions_country,
	   position('&lt;script&gt;alert(1)' IN html) > 0 AS shows_a_top_value
  FROM (SELECT html, xmlparse(document html) AS d
		  FROM (SELECT featstore.monitoring_report('mr_orders') AS html) h) x;
RESET ROLE;

-- row-level security that applies to the caller: refused, even with SELECT
-- on the whole table (the statistics describe rows it cannot see)
SET ROLE mr_owner;
GRANT SELECT ON mr.mr_orders TO mr_partial;
ALTER TABLE mr.mr_orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY mr_fr_only ON mr.mr_orders FOR SELECT USING (country = 'FR');
SET ROLE mr_partial;
SELECT featstore.monitoring_report('mr_orders');
-- the owner, to whom the policy does not apply, still gets the page
SET ROLE mr_owner;
SELECT mr_sqlstate($$SELECT featstore.monitoring_report('mr_orders')$$) AS owner_with_rls;
DROP POLICY mr_fr_only ON mr.mr_orders;
ALTER TABLE mr.mr_orders DISABLE ROW LEVEL SECURITY;
RESET ROLE;

-- a hostile group name and feature name are text too
SET ROLE mr_owner;
SELECT command FROM featstore.exec($$
	CREATE FEATURE GROUP mr."mr<b>&'""x" ENTITY mr_customer FEATURES ("v<i>" text 'd')
$$);
SELECT mr_str(d, '//h1') AS h1, mr_str(d, '//title') AS title, mr_count(d, '//b') + mr_count(d, '//i') AS elements,
	   mr_str(d, '//article/@data-feature') AS feature
  FROM (SELECT xmlparse(document featstore.monitoring_report($n$mr<b>&'"x$n$)) AS d) x;
RESET ROLE;

-- values that are not numbers: NaN and infinities in a float feature, NaN and
-- 1e20 in a numeric one; the page still renders, well-formed
SET ROLE mr_owner;
SELECT command FROM featstore.exec($$
	CREATE FEATURE GROUP mr.mr_odd ENTITY mr_customer FEATURES (v double precision, w numeric)
$$);
INSERT INTO mr.mr_odd (customer_id, event_timestamp, v, w)
SELECT i, timestamptz '2026-10-01 00:00+00' + d * interval '1 day' + i * interval '1 minute',
	   CASE WHEN i = 1 AND d % 3 = 0 THEN 'NaN'::float8 WHEN i = 2 AND d % 4 = 0 THEN 'Infinity'
			WHEN i = 3 AND d = 20 THEN '-Infinity' ELSE i END,
	   CASE WHEN i = 1 AND d = 5 THEN 'NaN'::numeric ELSE i * 1e20 END
  FROM generate_series(0, 20) AS d, generate_series(1, 50) AS i;
SELECT count(featstore.compute_stats('mr_odd', d, d + interval '1 day')) AS stats_runs,
	   count(featstore.evaluate_drift('mr_odd', d, d + interval '1 day')) AS evaluated
  FROM generate_series(timestamptz '2026-10-01 00:00+00', '2026-10-21 00:00+00', interval '1 day') AS d;
SELECT mr_count(d, '//article') AS articles, mr_count(d, '//article//svg') AS svgs
  FROM (SELECT xmlparse(document featstore.monitoring_report('mr_odd')) AS d) x;
RESET ROLE;

-- cleanup
SET ROLE mr_owner;
SELECT command FROM featstore.exec($$
	DROP FEATURE GROUP "mr<b>&'""x";
	DROP FEATURE GROUP mr_odd;
	DROP FEATURE GROUP mr_orders;
	DROP ENTITY mr_customer;
$$);
RESET ROLE;
DROP TABLE mr_page, mr_doc;
DROP SCHEMA mr;
DROP FUNCTION mr_count(xml, text);
DROP FUNCTION mr_str(xml, text);
DROP FUNCTION mr_sqlstate(text);
DROP ROLE mr_owner, mr_reader, mr_partial, mr_nobody;
