-- featstore monitoring report (issue 11): featstore.monitoring_report(group
-- [, from, to]) returns one standalone HTML page (inline CSS and SVG, no
-- script, no external asset) built from the stored monitoring tables, read
-- as the caller so that their row-level security applies.
-- docs/monitoring.md, "Metrics and the report".
--
-- Every string that comes from users (names, descriptions, top values,
-- alert details, errors) goes through featstore.html_escape before it is
-- written into the page; numbers go through report_num / report_coord.

CREATE FUNCTION featstore.html_escape(t text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN replace(replace(replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
			   '"', '&quot;'), '''', '&#39;');
COMMENT ON FUNCTION featstore.html_escape(text) IS 'The text with & < > " and '' replaced by HTML character references, safe in HTML text and quoted attributes';

-- A number for people: four significant digits, no trailing zeros
CREATE FUNCTION featstore.report_num(x double precision)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
	WHEN x IS NULL THEN '–'
	WHEN x = 0 THEN '0'
	WHEN x IN ('Infinity', '-Infinity', 'NaN') THEN x::text
	WHEN abs(x) >= 1e9 OR abs(x) < 1e-4 THEN trim(to_char(x, '9.999EEEE'))
	ELSE trim(to_char(round(x::numeric, greatest(0, 3 - floor(log(abs(x)))::integer)),
					  'FM999999999990.99999999'), '.')
END;
COMMENT ON FUNCTION featstore.report_num(double precision) IS 'A number as the monitoring report prints it: four significant digits, an en dash for NULL';

-- A coordinate in an SVG attribute: one decimal
CREATE FUNCTION featstore.report_coord(x double precision)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN round(x::numeric, 1)::text;
COMMENT ON FUNCTION featstore.report_coord(double precision) IS 'An SVG coordinate as the monitoring report writes it: one decimal';

-- A time for people, in UTC; a whole day is written as its date
CREATE FUNCTION featstore.report_ts(t timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
	WHEN t IS NULL THEN '–'
	WHEN (t AT TIME ZONE 'UTC')::time = '00:00' THEN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD')
	ELSE to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'
END;
COMMENT ON FUNCTION featstore.report_ts(timestamptz) IS 'A time as the monitoring report prints it: in UTC, a midnight as its date alone';

-- The cumulative share of values <= x in a distribution given by n sorted
-- percentiles q[1..n] (p0 .. p100), linear between them: the reading the
-- drift tests make of featstore.feature_stats.percentiles.
CREATE FUNCTION featstore.report_cdf(q double precision[], x double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE
		WHEN x < q[1] THEN 0::double precision
		WHEN x >= q[cardinality(q)] THEN 1::double precision
		-- an infinite neighbour: no interpolation, the step below
		WHEN NOT (q[k.i + 1] - q[k.i] < 'Infinity') THEN (k.i - 1)::double precision / (cardinality(q) - 1)
		ELSE ((k.i - 1) + (x - q[k.i]) / (q[k.i + 1] - q[k.i])) / (cardinality(q) - 1)
	END
	  FROM (SELECT max(u.i) AS i FROM unnest(q) WITH ORDINALITY AS u(v, i) WHERE u.v <= x) k;
END;
COMMENT ON FUNCTION featstore.report_cdf(double precision[], double precision) IS 'The share of values at or below x of a distribution given by its sorted percentiles p0..p100, interpolated linearly';

-- The shares of a distribution (its percentiles) in bins equal-width bins
-- over [lo, hi]; the first bin also takes what lies below lo and the last
-- what lies above hi, so the shares add up to 1.
CREATE FUNCTION featstore.report_shares(q double precision[], lo double precision,
										hi double precision, bins integer)
RETURNS double precision[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT array_agg(e.hi_f - e.lo_f ORDER BY e.i)
	  FROM (SELECT b.i,
				   CASE WHEN b.i = 1 THEN 0
						ELSE featstore.report_cdf(q, lo + (hi - lo) * (b.i - 1) / bins) END AS lo_f,
				   CASE WHEN b.i = bins THEN 1
						ELSE featstore.report_cdf(q, lo + (hi - lo) * b.i / bins) END AS hi_f
			  FROM generate_series(1, bins) AS b(i)) e;
END;
COMMENT ON FUNCTION featstore.report_shares(double precision[], double precision, double precision, integer) IS 'The shares of a distribution given by its percentiles in equal-width bins over [lo, hi], the outer bins open-ended';

-- The baseline a period of a feature is compared with, as the drift tests
-- read it (docs/monitoring.md, Drift): statistics of the same kind, and for
-- periods of the same length that had non-NULL values: a pinned spine
-- label's latest, or the periods inside a pinned reference range, or else
-- the trailing baseline_periods periods before the period.  Read as the
-- caller: the policies of feature_stats apply.
CREATE FUNCTION featstore.report_baseline(group_name text, feature_name name, kind text,
										  period_start timestamptz, period_end timestamptz)
RETURNS SETOF featstore.feature_stats
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $baseline$
DECLARE
	m featstore.monitor_settings;
	len interval := period_end - period_start;
BEGIN
	SELECT * INTO m FROM featstore.monitor_settings s WHERE s.group_name = report_baseline.group_name;
	IF m.reference_label IS NOT NULL THEN
		RETURN QUERY SELECT * FROM featstore.feature_stats s
			WHERE s.group_name = report_baseline.group_name AND s.feature_name = report_baseline.feature_name
			  AND s.scope = 'spine' AND s.label = m.reference_label AND s.kind = report_baseline.kind
			  AND s.row_count > s.null_count
			ORDER BY s.computed_at DESC, s.id DESC LIMIT 1;
	ELSIF m.reference_from IS NOT NULL THEN
		RETURN QUERY SELECT * FROM featstore.feature_stats s
			WHERE s.group_name = report_baseline.group_name AND s.feature_name = report_baseline.feature_name
			  AND s.scope = 'period' AND s.label = '' AND s.kind = report_baseline.kind
			  AND s.period_start >= m.reference_from AND s.period_end <= m.reference_to
			  AND s.period_end - s.period_start = len AND s.row_count > s.null_count
			ORDER BY s.period_start LIMIT 1000;
	ELSE
		RETURN QUERY SELECT * FROM featstore.feature_stats s
			WHERE s.group_name = report_baseline.group_name AND s.feature_name = report_baseline.feature_name
			  AND s.scope = 'period' AND s.label = '' AND s.kind = report_baseline.kind
			  AND s.period_end <= report_baseline.period_start
			  AND s.period_end - s.period_start = len AND s.row_count > s.null_count
			ORDER BY s.period_start DESC
			LIMIT coalesce(m.baseline_periods, 30);
	END IF;
END
$baseline$;
COMMENT ON FUNCTION featstore.report_baseline(text, name, text, timestamptz, timestamptz) IS 'The statistics rows a feature''s period is compared with, as the drift tests read them: a pinned spine label''s, a pinned reference range''s periods, or the trailing baseline periods; read as the caller';

-- A drift threshold as the report draws it: the feature's own, else the
-- group's, else the default (featstore.monitor_threshold_defaults, the
-- drift part's one place for them)
CREATE FUNCTION featstore.report_threshold(group_name text, feature_name name, setting text)
RETURNS double precision
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce((SELECT t.value FROM featstore.monitor_thresholds t
					  WHERE t.group_name = report_threshold.group_name
						AND t.setting = report_threshold.setting
						AND (t.feature_name = report_threshold.feature_name OR t.feature_name IS NULL)
					  ORDER BY t.feature_name IS NULL
					  LIMIT 1),
					(SELECT d.value FROM featstore.monitor_threshold_defaults d
					  WHERE d.setting = report_threshold.setting));
END;
COMMENT ON FUNCTION featstore.report_threshold(text, name, text) IS 'A drift threshold of a feature: its own, else its group''s, else the default';

-- An SVG chart's frame: the element, its title (as a tooltip and a heading
-- drawn in the chart) and its plot area's background.
CREATE FUNCTION featstore.report_svg_open(kind text, title text, height integer)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN format('<svg class="chart %s" viewBox="0 0 400 %s" width="400" height="%s" role="img">'
			  '<title>%s</title><text class="ctitle" x="8" y="16">%s</text>',
			  kind, height, height, featstore.html_escape(title), featstore.html_escape(title));
COMMENT ON FUNCTION featstore.report_svg_open(text, text, integer) IS 'The opening of one of the monitoring report''s SVG charts';

-- A histogram, current against baseline: per bin a wide grey bar (the
-- baseline's share) behind a narrow blue one (the current period's).
CREATE FUNCTION featstore.report_svg_histogram(title text, lo double precision, hi double precision,
											   cur double precision[], base double precision[])
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $hist$
DECLARE
	n integer := greatest(cardinality(cur), cardinality(base));
	top double precision;
	bw double precision;
	out text := featstore.report_svg_open('histogram', title, 200);
	x double precision;
	h double precision;
BEGIN
	IF n IS NULL OR n = 0 THEN
		RETURN out || '<text class="empty" x="200" y="110">no values to draw</text></svg>';
	END IF;
	SELECT greatest(max(v), 1e-9) INTO top
	  FROM (SELECT unnest(cur) UNION ALL SELECT unnest(base)) AS s(v);
	bw := 372.0 / n;
	out := out || '<line class="axis" x1="20" y1="170" x2="392" y2="170"/>';
	FOR i IN 1..n LOOP
		x := 20 + (i - 1) * bw;
		IF base[i] IS NOT NULL THEN
			h := 140 * base[i] / top;
			out := out || format('<rect class="bar base" x="%s" y="%s" width="%s" height="%s"><title>baseline %s%%</title></rect>',
								 featstore.report_coord(x + 0.5), featstore.report_coord(170 - h),
								 featstore.report_coord(bw - 1), featstore.report_coord(h),
								 featstore.report_num(100 * base[i]));
		END IF;
		IF cur[i] IS NOT NULL THEN
			h := 140 * cur[i] / top;
			out := out || format('<rect class="bar cur" x="%s" y="%s" width="%s" height="%s"><title>current %s%%</title></rect>',
								 featstore.report_coord(x + bw * 0.25), featstore.report_coord(170 - h),
								 featstore.report_coord(bw * 0.5), featstore.report_coord(h),
								 featstore.report_num(100 * cur[i]));
		END IF;
	END LOOP;
	IF cur IS NULL THEN
		out := out || '<text class="empty" x="200" y="60">current period: no non-NULL value</text>';
	END IF;
	RETURN out || format('<text class="tick" x="20" y="186">%s</text><text class="tick end" x="392" y="186">%s</text>'
						 '<rect class="key cur" x="130" y="190" width="10" height="8"/><text class="tick" x="144" y="198">current</text>'
						 '<rect class="key base" x="200" y="190" width="10" height="8"/><text class="tick" x="214" y="198">baseline</text></svg>',
						 featstore.html_escape(featstore.report_num(lo)),
						 featstore.html_escape(featstore.report_num(hi)));
END
$hist$;
COMMENT ON FUNCTION featstore.report_svg_histogram(text, double precision, double precision, double precision[], double precision[]) IS 'The monitoring report''s histogram chart: per bin the baseline''s share behind the current period''s';

-- Top values, current against baseline: one row per value, a grey bar
-- (baseline share) under a blue one (current share), and a last row for
-- all other values.
CREATE FUNCTION featstore.report_svg_top(title text, vals text[], cur double precision[],
										 base double precision[], other_cur double precision,
										 other_base double precision)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $top$
DECLARE
	n integer := coalesce(cardinality(vals), 0);
	top double precision;
	out text := featstore.report_svg_open('topvalues', title, 34 + 18 * (n + 1));
	y integer;
	label text;
BEGIN
	IF n = 0 THEN
		RETURN out || '<text class="empty" x="200" y="40">no values to draw</text></svg>';
	END IF;
	SELECT greatest(max(v), 1e-9) INTO top
	  FROM (SELECT unnest(cur) UNION ALL SELECT unnest(base)
			UNION ALL SELECT other_cur UNION ALL SELECT other_base) AS s(v);
	FOR i IN 1..n + 1 LOOP
		y := 24 + 18 * (i - 1);
		IF i <= n THEN
			-- cut before escaping, so that no character reference is cut in two
			label := CASE WHEN length(vals[i]) > 20 THEN left(vals[i], 19) || '…' ELSE vals[i] END;
			out := out || format('<text class="vlabel" x="130" y="%s">%s<title>%s</title></text>',
								 y + 11, featstore.html_escape(label), featstore.html_escape(left(vals[i], 200)));
		ELSE
			out := out || format('<text class="vlabel other" x="130" y="%s">all other values</text>', y + 11);
		END IF;
		out := out || format('<rect class="bar base" x="136" y="%s" width="%s" height="14"><title>baseline %s%%</title></rect>',
							 y, featstore.report_coord(220 * coalesce(CASE WHEN i <= n THEN base[i] ELSE other_base END, 0) / top),
							 featstore.report_num(100 * CASE WHEN i <= n THEN base[i] ELSE other_base END));
		out := out || format('<rect class="bar cur" x="136" y="%s" width="%s" height="7"><title>current %s%%</title></rect>',
							 y + 4, featstore.report_coord(220 * coalesce(CASE WHEN i <= n THEN cur[i] ELSE other_cur END, 0) / top),
							 featstore.report_num(100 * CASE WHEN i <= n THEN cur[i] ELSE other_cur END));
	END LOOP;
	RETURN out || '</svg>';
END
$top$;
COMMENT ON FUNCTION featstore.report_svg_top(text, text[], double precision[], double precision[], double precision, double precision) IS 'The monitoring report''s top-values chart: per value the baseline''s share under the current period''s';

-- The array with NaN and infinities replaced by NULL, which charts skip
CREATE FUNCTION featstore.report_finite(a double precision[])
RETURNS double precision[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT array_agg(CASE WHEN u.v > '-Infinity' AND u.v < 'Infinity' THEN u.v END ORDER BY u.i)
	  FROM unnest(a) WITH ORDINALITY AS u(v, i);
END;
COMMENT ON FUNCTION featstore.report_finite(double precision[]) IS 'The array with NaN and infinities replaced by NULL, as the monitoring report''s charts skip them';

-- Where the series chart puts period i of n, and value v of [ymin, ymax]
CREATE FUNCTION featstore.report_x(i integer, n integer)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN n <= 1 THEN 224 ELSE 62 + 324.0 * (i - 1) / (n - 1) END;
COMMENT ON FUNCTION featstore.report_x(integer, integer) IS 'The x coordinate of period i of n in the monitoring report''s series chart';

CREATE FUNCTION featstore.report_y(v double precision, ymin double precision, ymax double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN 170 - 140 * (v - ymin) / (ymax - ymin);
COMMENT ON FUNCTION featstore.report_y(double precision, double precision, double precision) IS 'The y coordinate of a value in the monitoring report''s series chart';

-- The band [lo, hi] of a series chart as one path element: a closed
-- outline per run of periods that have a band; '' when none has
CREATE FUNCTION featstore.report_svg_band(lo double precision[], hi double precision[],
										  ymin double precision, ymax double precision)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $band$
DECLARE
	n integer := coalesce(cardinality(lo), 0);
	band text := '';
	upper_run text := '';
	lower_run text := '';
BEGIN
	FOR i IN 1..n + 1 LOOP
		IF i <= n AND lo[i] IS NOT NULL AND hi[i] IS NOT NULL THEN
			upper_run := upper_run || CASE WHEN upper_run = '' THEN 'M' ELSE ' L' END
				|| featstore.report_coord(featstore.report_x(i, n)) || ','
				|| featstore.report_coord(featstore.report_y(greatest(lo[i], hi[i]), ymin, ymax));
			lower_run := ' L' || featstore.report_coord(featstore.report_x(i, n)) || ','
				|| featstore.report_coord(featstore.report_y(least(lo[i], hi[i]), ymin, ymax)) || lower_run;
		ELSIF upper_run <> '' THEN
			band := band || upper_run || lower_run || ' Z ';
			upper_run := '';
			lower_run := '';
		END IF;
	END LOOP;
	RETURN CASE WHEN band = '' THEN '' ELSE format('<path class="band" d="%s"/>', rtrim(band)) END;
END
$band$;
COMMENT ON FUNCTION featstore.report_svg_band(double precision[], double precision[], double precision, double precision) IS 'The band of one of the monitoring report''s series charts, as an SVG path';

-- A value over time with its band: one point per period (red when outside
-- the band), a line through them and the band [lo, hi] as a filled path,
-- broken where a period has no value or no band.
CREATE FUNCTION featstore.report_svg_series(title text, labels text[], vals double precision[],
											lo double precision[], hi double precision[],
											percent boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $series$
DECLARE
	n integer := coalesce(cardinality(labels), 0);
	ymin double precision;
	ymax double precision;
	out text := featstore.report_svg_open('series', title, 200);
	line text := '';
	pts text := '';
	pen text := 'M';
	k double precision := CASE WHEN percent THEN 100 ELSE 1 END;
	unit text := CASE WHEN percent THEN '%' ELSE '' END;
BEGIN
	-- NaN and infinities have no place on the axis: not drawn
	vals := featstore.report_finite(vals);
	lo := featstore.report_finite(lo);
	hi := featstore.report_finite(hi);
	SELECT min(v), max(v) INTO ymin, ymax
	  FROM (SELECT unnest(vals) UNION ALL SELECT unnest(lo) UNION ALL SELECT unnest(hi)) AS s(v);
	IF n = 0 OR ymin IS NULL THEN
		RETURN out || '<text class="empty" x="200" y="110">no values to draw</text></svg>';
	END IF;
	IF ymax - ymin < 1e-12 * greatest(abs(ymax), 1) THEN
		ymin := ymin - greatest(abs(ymin) * 0.05, 1e-6);
		ymax := ymax + greatest(abs(ymax) * 0.05, 1e-6);
	END IF;
	IF percent THEN
		-- a rate is drawn from 0 up to the next round share, at least 1%
		ymin := 0;
		SELECT min(v) INTO ymax FROM unnest('{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1}'::float8[]) AS v
		 WHERE v >= least(ymax * 1.04, 1);
	ELSE
		-- a margin, so that no point sits on the frame
		ymin := ymin - (ymax - ymin) * 0.06;
		ymax := ymax + (ymax - ymin) * 0.06;
	END IF;
	out := out || format('<line class="grid" x1="56" y1="30" x2="392" y2="30"/><line class="grid" x1="56" y1="100" x2="392" y2="100"/>'
						 '<line class="axis" x1="56" y1="170" x2="392" y2="170"/>'
						 '<text class="tick end" x="52" y="34">%s</text><text class="tick end" x="52" y="104">%s</text>'
						 '<text class="tick end" x="52" y="174">%s</text>',
						 featstore.report_num(k * ymax) || unit, featstore.report_num(k * (ymin + ymax) / 2) || unit,
						 featstore.report_num(k * ymin) || unit);
	-- the band first, so that the line and the points are drawn over it
	out := out || featstore.report_svg_band(lo, hi, ymin, ymax);
	FOR i IN 1..n LOOP
		IF vals[i] IS NULL THEN
			pen := 'M';
			CONTINUE;
		END IF;
		line := line || pen || featstore.report_coord(featstore.report_x(i, n)) || ','
			|| featstore.report_coord(featstore.report_y(vals[i], ymin, ymax)) || ' ';
		pen := 'L';
		pts := pts || format('<circle class="%s" cx="%s" cy="%s" r="3"><title>%s: %s%s</title></circle>',
							 CASE WHEN vals[i] < lo[i] OR vals[i] > hi[i] THEN 'pt out' ELSE 'pt' END,
							 featstore.report_coord(featstore.report_x(i, n)),
							 featstore.report_coord(featstore.report_y(vals[i], ymin, ymax)),
							 featstore.html_escape(labels[i]), featstore.report_num(k * vals[i]), unit);
	END LOOP;
	IF line <> '' THEN
		out := out || format('<path class="line" d="%s"/>', rtrim(line));
	END IF;
	RETURN out || pts
		|| format('<text class="tick" x="56" y="186">%s</text><text class="tick end" x="392" y="186">%s</text></svg>',
				  featstore.html_escape(labels[1]), featstore.html_escape(labels[n]));
END
$series$;
COMMENT ON FUNCTION featstore.report_svg_series(text, text[], double precision[], double precision[], double precision[], boolean) IS 'The monitoring report''s chart of a value over time with its band';

-- The histogram of a numeric feature's period against its baseline: 20
-- equal-width bins over the range both cover, each side's shares read from
-- its stored percentiles (the baseline's as the row-weighted mixture of its
-- periods', as the drift tests read them).
CREATE FUNCTION featstore.report_feature_histogram(cur featstore.feature_stats, feature_name name)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fhist$
#variable_conflict use_variable
DECLARE
	lo double precision;
	hi double precision;
	cur_sh double precision[];
	base_sh double precision[];
BEGIN
	-- the range both cover, of finite values: NaN and infinities are not drawn
	SELECT min(v), max(v) INTO lo, hi
	  FROM (SELECT unnest(cur.percentiles)
			UNION ALL
			SELECT unnest(b.percentiles)
			  FROM featstore.report_baseline(cur.group_name, feature_name, cur.kind, cur.period_start, cur.period_end) b) AS p(v)
	 WHERE v > '-Infinity' AND v < 'Infinity';
	IF lo IS NULL THEN
		RETURN featstore.report_svg_histogram('Distribution', NULL, NULL, NULL, NULL);
	END IF;
	IF hi - lo < 1e-12 * greatest(abs(hi), 1) THEN
		lo := lo - greatest(abs(lo) * 0.05, 0.5);
		hi := hi + greatest(abs(hi) * 0.05, 0.5);
	END IF;
	IF cur.percentiles IS NOT NULL THEN
		cur_sh := featstore.report_shares(cur.percentiles, lo, hi, 20);
	END IF;
	SELECT array_agg(x.share ORDER BY x.i) INTO base_sh
	  FROM (SELECT u.i, sum(u.sh * (b.row_count - b.null_count)) / sum(b.row_count - b.null_count) AS share
			  FROM featstore.report_baseline(cur.group_name, feature_name, cur.kind, cur.period_start, cur.period_end) b,
				   unnest(featstore.report_shares(b.percentiles, lo, hi, 20)) WITH ORDINALITY AS u(sh, i)
			 WHERE b.percentiles IS NOT NULL AND b.row_count > b.null_count
			 GROUP BY u.i) x;
	RETURN featstore.report_svg_histogram(format('Histogram %s against the baseline', featstore.report_ts(cur.period_start)),
										  lo, hi, cur_sh, base_sh);
END
$fhist$;
COMMENT ON FUNCTION featstore.report_feature_histogram(featstore.feature_stats, name) IS 'The monitoring report''s histogram of a numeric feature''s period against its baseline';

-- The top values of a categorical feature's period against its baseline:
-- the twelve values with the largest share on either side; a baseline
-- value's share counts the periods where it was among the stored top values.
CREATE FUNCTION featstore.report_feature_top(cur featstore.feature_stats, feature_name name)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $ftop$
#variable_conflict use_variable
DECLARE
	vals text[];
	cur_sh double precision[];
	base_sh double precision[];
	cur_total double precision := nullif(cur.row_count - cur.null_count, 0);
	base_total double precision;
BEGIN
	IF EXISTS (SELECT 1 FROM featstore.features f
				WHERE f.group_name = cur.group_name AND f.name = feature_name AND f.pii) THEN
		RETURN '<p class="empty">No top values: featstore stores none of a PII feature.</p>';
	END IF;
	SELECT nullif(sum(b.row_count - b.null_count), 0) INTO base_total
	  FROM featstore.report_baseline(cur.group_name, feature_name, cur.kind, cur.period_start, cur.period_end) b;
	SELECT array_agg(t.v ORDER BY t.rank_share DESC, t.v), array_agg(t.cs ORDER BY t.rank_share DESC, t.v),
		   array_agg(t.bs ORDER BY t.rank_share DESC, t.v)
	  INTO vals, cur_sh, base_sh
	  FROM (SELECT coalesce(c.v, b.v) AS v, c.n / cur_total AS cs, b.n / base_total AS bs,
				   greatest(coalesce(c.n / cur_total, 0), coalesce(b.n / base_total, 0)) AS rank_share
			  FROM (SELECT u.v, u.n::double precision AS n
					  FROM unnest(cur.top_values, cur.top_counts) AS u(v, n)) c
			  FULL JOIN (SELECT u.v, sum(u.n)::double precision AS n
						   FROM featstore.report_baseline(cur.group_name, feature_name, cur.kind, cur.period_start, cur.period_end) bs,
								unnest(bs.top_values, bs.top_counts) AS u(v, n)
						  GROUP BY u.v) b ON b.v = c.v
			 ORDER BY 4 DESC, 1
			 LIMIT 12) t;
	RETURN featstore.report_svg_top(format('Top values %s (blue) against the baseline (grey)',
										   featstore.report_ts(cur.period_start)),
									vals, cur_sh, base_sh,
									greatest(1 - (SELECT sum(x) FROM unnest(cur_sh) AS x), 0),
									greatest(1 - (SELECT sum(x) FROM unnest(base_sh) AS x), 0));
END
$ftop$;
COMMENT ON FUNCTION featstore.report_feature_top(featstore.feature_stats, name) IS 'The monitoring report''s top values of a categorical feature''s period against its baseline';

-- A feature's mean (numeric features) and null rate over the report's
-- periods, each with the band in which the drift tests' mean_sigma and
-- null_rate_sigma find no drift: mu_b +- max(k sigma_b, e), where mu_b and
-- sigma_b are the mean and sample standard deviation of the period's
-- baseline periods' values, k the feature's mean_sigma / null_rate_sigma,
-- and e the minimum effect (mean_min_effect times the baseline's pooled
-- stddev; null_rate_min_effect).  Drawn where the baseline has at least 7
-- periods, as the drift tests require.
CREATE FUNCTION featstore.report_feature_series(group_name text, feature_name name, kind text,
												starts timestamptz[], ends timestamptz[])
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fseries$
#variable_conflict use_variable
DECLARE
	k_mean double precision := featstore.report_threshold(group_name, feature_name, 'mean_sigma');
	e_mean double precision := featstore.report_threshold(group_name, feature_name, 'mean_min_effect');
	k_null double precision := featstore.report_threshold(group_name, feature_name, 'null_rate_sigma');
	e_null double precision := featstore.report_threshold(group_name, feature_name, 'null_rate_min_effect');
	labels text[];
	m double precision[];
	m_lo double precision[];
	m_hi double precision[];
	nr double precision[];
	nr_lo double precision[];
	nr_hi double precision[];
	out text := '';
BEGIN
	SELECT array_agg(featstore.report_ts(p.ps) ORDER BY p.i), array_agg(s.mean ORDER BY p.i),
		   array_agg(CASE WHEN b.n >= 7 THEN b.mu - greatest(k_mean * b.sd, e_mean * b.pooled) END ORDER BY p.i),
		   array_agg(CASE WHEN b.n >= 7 THEN b.mu + greatest(k_mean * b.sd, e_mean * b.pooled) END ORDER BY p.i),
		   array_agg(s.null_rate ORDER BY p.i),
		   array_agg(CASE WHEN b.nn >= 7 THEN greatest(b.nmu - greatest(k_null * b.nsd, e_null), 0) END ORDER BY p.i),
		   array_agg(CASE WHEN b.nn >= 7 THEN least(b.nmu + greatest(k_null * b.nsd, e_null), 1) END ORDER BY p.i)
	  INTO labels, m, m_lo, m_hi, nr, nr_lo, nr_hi
	  FROM unnest(starts, ends) WITH ORDINALITY AS p(ps, pe, i)
	  LEFT JOIN featstore.feature_stats s
		ON s.group_name = group_name AND s.feature_name = feature_name AND s.scope = 'period'
	   AND s.label = '' AND s.period_start = p.ps AND s.period_end = p.pe
	  LEFT JOIN LATERAL (SELECT count(b.mean) AS n, avg(b.mean) AS mu, stddev_samp(b.mean) AS sd,
								count(b.null_rate) AS nn, avg(b.null_rate) AS nmu,
								stddev_samp(b.null_rate) AS nsd,
								-- the stddev of the union of the periods' values
								sqrt(greatest(sum((b.row_count - b.null_count - 1) * coalesce(b.stddev, 0) ^ 2
												  + (b.row_count - b.null_count) * b.mean ^ 2)
											  - sum((b.row_count - b.null_count) * b.mean) ^ 2
												/ sum(b.row_count - b.null_count), 0)
									 / nullif(sum(b.row_count - b.null_count) - 1, 0)) AS pooled
						   FROM featstore.report_baseline(group_name, feature_name, kind, p.ps, p.pe) b) b ON true;
	IF kind = 'numeric' THEN
		out := featstore.report_svg_series(format('Mean per period, no-drift band (±%sσ, ≥ %s sd)',
												  featstore.report_num(k_mean), featstore.report_num(e_mean)),
										   labels, m, m_lo, m_hi, false);
	END IF;
	RETURN out || featstore.report_svg_series(format('Null rate per period, no-drift band (±%sσ, ≥ %s)',
													 featstore.report_num(k_null), featstore.report_num(e_null)),
											  labels, nr, nr_lo, nr_hi, true);
END
$fseries$;
COMMENT ON FUNCTION featstore.report_feature_series(text, name, text, timestamptz[], timestamptz[]) IS 'The monitoring report''s charts of a feature''s mean and null rate over time, with the band where the drift tests find no drift';

-- The current period's figures of a feature, as a table row of cells
CREATE FUNCTION featstore.report_feature_facts(cur featstore.feature_stats)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT '<table class="facts"><tr>'
		|| string_agg(format('<th>%s</th>', f.name), '' ORDER BY f.i)
		|| '</tr><tr>'
		|| string_agg(format('<td class="%s">%s</td>', f.cls, featstore.html_escape(f.val)), '' ORDER BY f.i)
		|| '</tr></table>'
	  FROM (VALUES (1, 'rows', 'rows', cur.row_count::text),
				   (2, 'null rate', 'null_rate', featstore.report_num(100 * cur.null_rate) || '%'),
				   (3, 'distinct', 'distinct', cur.distinct_count::text),
				   (4, 'mean', 'mean', CASE WHEN cur.kind = 'numeric' THEN featstore.report_num(cur.mean) END),
				   (5, 'stddev', 'stddev', CASE WHEN cur.kind = 'numeric' THEN featstore.report_num(cur.stddev) END),
				   (6, 'min', 'min', CASE WHEN cur.kind = 'numeric' THEN featstore.report_num(cur.min_value) END),
				   (7, 'p50', 'p50', CASE WHEN cur.kind = 'numeric' THEN featstore.report_num(cur.p50) END),
				   (8, 'p99', 'p99', CASE WHEN cur.kind = 'numeric' THEN featstore.report_num(cur.p99) END),
				   (9, 'max', 'max', CASE WHEN cur.kind = 'numeric' THEN featstore.report_num(cur.max_value) END),
				   (10, 'top value', 'top', CASE WHEN cur.kind = 'categorical' THEN coalesce(cur.top_values[1], '–') END))
			AS f(i, name, cls, val)
	 WHERE f.val IS NOT NULL;
END;
COMMENT ON FUNCTION featstore.report_feature_facts(featstore.feature_stats) IS 'The monitoring report''s table of a feature''s figures in the current period';

-- How the report names a feature's baseline
CREATE FUNCTION featstore.report_baseline_label(cur featstore.feature_stats)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE
		WHEN m.reference_label IS NOT NULL THEN format('the spine "%s"', m.reference_label)
		WHEN b.n = 0 THEN 'no baseline'
		WHEN m.reference_from IS NOT NULL
			THEN format('the reference %s – %s (%s periods)', featstore.report_ts(m.reference_from),
						featstore.report_ts(m.reference_to), b.n)
		ELSE format('the %s periods %s – %s', b.n, featstore.report_ts(b.first), featstore.report_ts(b.last))
	END
	  FROM (SELECT count(*) AS n, min(x.period_start) AS first, max(x.period_start) AS last
			  FROM featstore.report_baseline(cur.group_name, cur.feature_name, cur.kind,
											 cur.period_start, cur.period_end) x) b
	  LEFT JOIN featstore.monitor_settings m ON m.group_name = cur.group_name;
END;
COMMENT ON FUNCTION featstore.report_baseline_label(featstore.feature_stats) IS 'How the monitoring report names the baseline of a feature''s period';

-- The drift tests of a feature's period: one column per test, failing
-- ones first, with its statistic, threshold and verdict; what it compares
-- is the column's tooltip.  tests holds the current period's rows of
-- featstore.drift_tests() (as the caller), for every feature, as a JSON
-- array: drift_tests() tests all of a group's features at once, so the
-- report calls it once.
CREATE FUNCTION featstore.report_drift(cur featstore.feature_stats, tests jsonb)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN count(*) = 0 THEN '<p class="empty">No drift test of this period.</p>'
		   ELSE '<table class="drift"><tr class="tests"><th>drift test</th>'
				|| string_agg(format('<th title="%s">%s</th>',
									 CASE d.test
										WHEN 'mean_sigma' THEN 'the mean, in σ of the baseline''s period means'
										WHEN 'null_rate_sigma' THEN 'the null rate, in σ of the baseline''s rates'
										WHEN 'psi' THEN 'population stability index over the baseline''s deciles'
										WHEN 'ks_pvalue' THEN 'Kolmogorov–Smirnov p-value; drift below the threshold'
										WHEN 'wasserstein' THEN 'Wasserstein distance over the baseline''s stddev'
										WHEN 'js' THEN 'Jensen–Shannon distance of the value shares'
										WHEN 'distinct_collapse' THEN 'distinct count over the baseline''s; drift below the threshold'
										WHEN 'all_null' THEN 'non-NULL values; drift at 0 when the baseline had some'
										ELSE '' END,
									 featstore.html_escape(d.test)), '' ORDER BY d.verdict <> 'drift', d.test)
				|| '</tr><tr class="statistics"><th>statistic</th>'
				|| string_agg(format('<td class="num">%s</td>', featstore.report_num(d.statistic)), ''
							  ORDER BY d.verdict <> 'drift', d.test)
				|| '</tr><tr class="thresholds"><th>threshold</th>'
				|| string_agg(format('<td class="num">%s</td>', featstore.report_num(d.threshold)), ''
							  ORDER BY d.verdict <> 'drift', d.test)
				|| '</tr><tr class="verdicts"><th>verdict</th>'
				|| string_agg(format('<td class="v-%s">%s</td>',
									 CASE d.verdict WHEN 'drift' THEN 'drift' WHEN 'ok' THEN 'ok' ELSE 'none' END,
									 featstore.html_escape(d.verdict)), '' ORDER BY d.verdict <> 'drift', d.test)
				|| '</tr></table>' END
	  FROM jsonb_to_recordset(tests) AS d(feature_name name, period_start timestamptz, period_end timestamptz,
										  test text, statistic double precision, threshold double precision,
										  verdict text)
	 WHERE d.feature_name = cur.feature_name AND d.period_start = cur.period_start
	   AND d.period_end = cur.period_end;
END;
COMMENT ON FUNCTION featstore.report_drift(featstore.feature_stats, jsonb) IS 'The monitoring report''s table of the drift tests of a feature''s period';

-- One feature's part of the report: its name and description, the current
-- period's figures, the charts and whether a drift alert is open.
CREATE FUNCTION featstore.report_feature(group_name text, feature_name name, data_type text,
										 description text, starts timestamptz[], ends timestamptz[],
										 tests jsonb)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $feature$
#variable_conflict use_variable
DECLARE
	n integer := cardinality(starts);
	cur featstore.feature_stats;
	kind text;
	alert_open boolean;
	drift_now boolean := false;
	out text;
BEGIN
	SELECT * INTO cur FROM featstore.feature_stats s
	 WHERE s.group_name = group_name AND s.feature_name = feature_name AND s.scope = 'period'
	   AND s.label = '' AND s.period_start = starts[n] AND s.period_end = ends[n];
	SELECT s.kind INTO kind FROM featstore.feature_stats s
	 WHERE s.group_name = group_name AND s.feature_name = feature_name AND s.scope = 'period'
	   AND s.label = '' AND s.period_start >= starts[1] AND s.period_start <= starts[n]
	 ORDER BY s.period_start DESC LIMIT 1;
	SELECT EXISTS (SELECT 1 FROM featstore.alerts a
					WHERE a.group_name = group_name AND a.feature_name = feature_name
					  AND a.kind = 'drift' AND a.resolved_at IS NULL) INTO alert_open;
	IF cur.id IS NOT NULL THEN
		SELECT EXISTS (SELECT 1 FROM jsonb_array_elements(tests) AS t
						WHERE t ->> 'feature_name' = feature_name AND t ->> 'verdict' = 'drift'
						  AND (t ->> 'period_start')::timestamptz = starts[n]) INTO drift_now;
	END IF;
	out := format('<article class="feature%s" data-feature="%s"><h3>%s <span class="type">%s</span> %s</h3>',
				  CASE WHEN alert_open OR drift_now THEN ' drifting' ELSE '' END,
				  featstore.html_escape(feature_name), featstore.html_escape(feature_name),
				  featstore.html_escape(data_type),
				  CASE WHEN alert_open THEN '<span class="badge bad">drift alert open</span>'
					   WHEN drift_now THEN '<span class="badge bad">drift in this period</span>'
					   ELSE '<span class="badge good">no drift</span>' END);
	IF description IS NOT NULL THEN
		out := out || format('<p class="desc">%s</p>', featstore.html_escape(description));
	END IF;
	IF kind IS NULL THEN
		RETURN out || '<p class="empty">No statistics of this feature in the report''s range.</p></article>';
	END IF;
	IF cur.id IS NULL THEN
		-- the feature has no statistics for the current period: the charts
		-- still show its history, against the baseline of that period
		cur.group_name := group_name;
		cur.feature_name := feature_name;
		cur.period_start := starts[n];
		cur.period_end := ends[n];
		cur.kind := kind;
		out := out || format('<p class="empty">No statistics of this feature for the current period %s.</p>',
							 featstore.report_ts(starts[n]));
	ELSE
		out := out || featstore.report_feature_facts(cur);
	END IF;
	out := out || format('<p class="baseline">Period %s compared with %s.</p><div class="charts">',
						 featstore.report_ts(starts[n]), featstore.html_escape(featstore.report_baseline_label(cur)));
	IF kind = 'numeric' THEN
		out := out || featstore.report_feature_histogram(cur, feature_name);
	ELSE
		out := out || featstore.report_feature_top(cur, feature_name);
	END IF;
	out := out || featstore.report_feature_series(group_name, feature_name, kind, starts, ends) || '</div>';
	IF cur.id IS NOT NULL THEN
		out := out || featstore.report_drift(cur, tests);
	END IF;
	RETURN out || '</article>';
END
$feature$;
COMMENT ON FUNCTION featstore.report_feature(text, name, text, text, timestamptz[], timestamptz[], jsonb) IS 'One feature''s part of the monitoring report';

-- The page's head: its title and the style sheet (inline: the page must
-- stand alone and load nothing)
CREATE FUNCTION featstore.report_head(group_name text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/>'
	|| '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
	|| format('<title>featstore monitoring: %s</title>', featstore.html_escape(group_name))
	|| '<style>'
	|| 'body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1e293b;background:#f8fafc;margin:0;padding:20px 28px}'
	|| 'h1{font-size:24px;margin:0}h2{font-size:18px;margin:24px 0 8px;border-bottom:1px solid #cbd5e1;padding-bottom:4px}'
	|| 'h3{font-size:16px;margin:0 0 4px}.sub{color:#64748b;margin:2px 0 0}'
	|| '.top{display:flex;justify-content:space-between;align-items:center;gap:16px}'
	|| '.status{font-size:20px;font-weight:700;padding:10px 18px;border-radius:8px;color:#fff;white-space:nowrap}'
	|| '.st-ok{background:#16a34a}.st-alert{background:#dc2626}.st-unknown{background:#64748b}'
	|| 'table{border-collapse:collapse;background:#fff}th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top}'
	|| 'th{background:#f1f5f9;font-weight:600}.meta th{width:130px;white-space:nowrap}.meta{width:100%}'
	|| '.cards{display:flex;gap:12px;margin-top:12px;align-items:flex-start}.card{flex:1;min-width:0}'
	|| '.card h2{margin:0 0 6px;font-size:15px;border:none;padding:0}'
	|| '.gauge{fill:#e2e8f0}.fill.ok{fill:#16a34a}.fill.late{fill:#dc2626}.sla{stroke:#0f172a;stroke-width:2}'
	|| '.chart.freshness{border:none;width:100%;max-width:260px;margin-top:4px}'
	|| 'td.num{text-align:right;font-variant-numeric:tabular-nums}td.ts{white-space:nowrap}'
	|| '.alerts td.kind{font-weight:700;color:#b91c1c}.alerts code,.err{font-size:12px;word-break:break-all}'
	|| '.ok{color:#15803d;font-weight:600}.bad{color:#b91c1c;font-weight:600}'
	|| '.feature{background:#fff;border:1px solid #e2e8f0;border-left:6px solid #16a34a;border-radius:6px;padding:12px 14px;margin:14px 0}'
	|| '.feature.drifting{border-left-color:#dc2626}.type{font-weight:400;color:#64748b;font-size:13px}'
	|| '.badge{font-size:12px;padding:1px 8px;border-radius:10px;margin-left:6px;vertical-align:middle}'
	|| '.badge.bad{background:#fee2e2}.badge.good{background:#dcfce7;color:#15803d}'
	|| '.desc{margin:2px 0 6px;color:#475569}.baseline{margin:6px 0;color:#475569;font-size:13px}.empty{color:#64748b;font-style:italic}'
	|| '.facts{margin:6px 0;font-size:13px}.facts td{font-variant-numeric:tabular-nums}'
	|| '.charts{display:flex;flex-wrap:wrap;gap:10px}.chart{background:#fff;border:1px solid #e2e8f0;border-radius:4px;width:376px;height:auto}'
	|| '.ctitle{font-size:12px;font-weight:600;fill:#334155}.tick{font-size:10px;fill:#64748b}.tick.end{text-anchor:end}'
	|| 'text.empty{font-size:12px;fill:#64748b;text-anchor:middle}'
	|| '.axis{stroke:#94a3b8}.grid{stroke:#e2e8f0}'
	|| '.bar.base,.key.base{fill:#cbd5e1}.bar.cur,.key.cur{fill:#2563eb}'
	|| '.band{fill:#d1fae5;stroke:#6ee7b7}.line{fill:none;stroke:#2563eb;stroke-width:1.5}'
	|| '.pt{fill:#2563eb}.pt.out{fill:#dc2626;r:4.5}'
	|| '.vlabel{font-size:11px;fill:#334155;text-anchor:end}.vlabel.other{font-style:italic;fill:#64748b}'
	|| '.drift{margin-top:8px;font-size:13px}.drift td.v-drift{color:#b91c1c;font-weight:700}.drift td.v-ok{color:#15803d}.drift td.v-none{color:#64748b}'
	|| 'footer{margin-top:24px;color:#64748b;font-size:12px}'
	|| '</style></head><body>';
COMMENT ON FUNCTION featstore.report_head(text) IS 'The monitoring report''s HTML head with its inline style sheet';

-- A duration for people: its two largest units
CREATE FUNCTION featstore.report_interval(i interval)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE
		WHEN i IS NULL THEN '–'
		ELSE CASE WHEN x.e < 0 THEN '−' ELSE '' END || CASE
			WHEN abs(x.e) < 120 THEN round(abs(x.e)) || ' s'
			WHEN abs(x.e) < 7200 THEN round(abs(x.e) / 60) || ' min'
			WHEN abs(x.e) < 172800 THEN floor(abs(x.e) / 3600) || ' h'
				|| CASE WHEN floor(mod(abs(x.e), 3600) / 60) > 0 THEN ' ' || floor(mod(abs(x.e), 3600) / 60) || ' min' ELSE '' END
			ELSE floor(abs(x.e) / 86400) || ' d'
				|| CASE WHEN floor(mod(abs(x.e), 86400) / 3600) > 0 THEN ' ' || floor(mod(abs(x.e), 86400) / 3600) || ' h' ELSE '' END END
	END
	  FROM (SELECT extract(epoch FROM i) AS e) x;
END;
COMMENT ON FUNCTION featstore.report_interval(interval) IS 'A duration as the monitoring report prints it: its two largest units';

-- The freshness gauge: the newest event's age against the SLA, on a scale
-- to twice the SLA, green within it and red beyond
CREATE FUNCTION featstore.report_svg_freshness(age interval, sla interval)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN format('<svg class="chart freshness" viewBox="0 0 260 30" width="260" height="30" role="img">'
			  '<title>age %s against the SLA %s</title>'
			  '<rect class="gauge" x="0" y="6" width="260" height="12"/>'
			  '<rect class="fill %s" x="0" y="6" width="%s" height="12"/>'
			  '<line class="sla" x1="130" y1="2" x2="130" y2="22"/>'
			  '<text class="tick" x="0" y="29">0</text><text class="tick" x="130" y="29" text-anchor="middle">SLA %s</text>'
			  '<text class="tick end" x="260" y="29">2 × SLA</text></svg>',
			  featstore.report_interval(age), featstore.report_interval(sla),
			  CASE WHEN age <= sla THEN 'ok' ELSE 'late' END,
			  featstore.report_coord(260 * least(greatest(extract(epoch FROM age) / extract(epoch FROM sla), 0), 2) / 2),
			  featstore.report_interval(sla));
COMMENT ON FUNCTION featstore.report_svg_freshness(interval, interval) IS 'The monitoring report''s gauge of the newest event''s age against the freshness SLA';

-- A card of the header: a title and rows of (name, HTML value); the values
-- are already escaped, and rows without a value are left out
CREATE FUNCTION featstore.report_card(title text, names text[], vals text[])
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN format('<div class="card"><h2>%s</h2><table class="meta">%s</table></div>', featstore.html_escape(title),
			  (SELECT string_agg(format('<tr><th>%s</th><td>%s</td></tr>', featstore.html_escape(r.k), r.v), '' ORDER BY r.i)
				 FROM unnest(names, vals) WITH ORDINALITY AS r(k, v, i) WHERE r.v IS NOT NULL));
COMMENT ON FUNCTION featstore.report_card(text, text[], text[]) IS 'One card of the monitoring report''s header';

-- The group's definition, as the header's first card
CREATE FUNCTION featstore.report_definition(g featstore.feature_groups)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT featstore.report_card('Definition',
		ARRAY['kind', 'table', 'entity', 'owner', 'description'],
		ARRAY[featstore.html_escape(CASE
				WHEN g.kind = 'source'
					THEN (SELECT 'computed FROM ' || quote_ident(s.source_schema) || '.' || quote_ident(s.source_name)
							FROM featstore.source_groups s WHERE s.group_name = g.name)
				WHEN EXISTS (SELECT 1 FROM featstore.transformations t WHERE t.group_name = g.name)
					THEN 'filled by a scheduled query'
				ELSE 'history table' END || CASE WHEN g.online THEN ', online' ELSE ', offline' END),
			  featstore.html_escape(quote_ident(g.schema_name) || '.' || quote_ident(g.table_name)),
			  featstore.html_escape(g.entity_name || ' (' || (SELECT string_agg(k.column_name || ' ' || k.data_type, ', ' ORDER BY k.position)
																  FROM featstore.entity_keys k WHERE k.entity_name = g.entity_name) || ')'),
			  featstore.html_escape(g.owner), featstore.html_escape(g.description)]);
END;
COMMENT ON FUNCTION featstore.report_definition(featstore.feature_groups) IS 'The monitoring report''s card of the group''s definition';

-- The group's freshness, from featstore.group_health (as the caller)
CREATE FUNCTION featstore.report_freshness(h featstore.group_health)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT featstore.report_card('Freshness',
		ARRAY['freshness SLA', 'newest event', 'age', 'checked', 'materialization lag', 'queue depth', 'worker'],
		ARRAY[coalesce(featstore.html_escape((SELECT m.freshness_text FROM featstore.monitor_settings m
											   WHERE m.group_name = h.group_name)), 'none'),
			  CASE WHEN h.freshness_checked_at IS NULL THEN 'not checked yet'
				   ELSE coalesce(featstore.report_ts(h.newest_event), 'no event yet') END,
			  CASE WHEN h.newest_event IS NULL THEN NULL
				   WHEN h.freshness IS NULL THEN featstore.report_interval(h.age)
				   ELSE format('<span class="%s">%s%s</span><br/>%s', CASE WHEN h.freshness_met THEN 'ok' ELSE 'bad' END,
							   featstore.report_interval(h.age),
							   CASE WHEN h.freshness_met THEN ', within the SLA' ELSE ', beyond the SLA' END,
							   featstore.report_svg_freshness(h.age, h.freshness)) END,
			  featstore.report_ts(h.freshness_checked_at),
			  CASE WHEN h.materialization_lag IS NOT NULL THEN featstore.report_interval(h.materialization_lag) END,
			  h.queue_depth::text,
			  featstore.html_escape(h.worker_state)]);
END;
COMMENT ON FUNCTION featstore.report_freshness(featstore.group_health) IS 'The monitoring report''s card of the group''s freshness';

-- The group's monitoring: its settings, the periods shown, its last runs
CREATE FUNCTION featstore.report_monitoring(group_name text, starts timestamptz[], ends timestamptz[])
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT featstore.report_card('Monitoring',
		ARRAY['statistics every', 'baseline', 'periods shown', 'last statistics run', 'last skew check'],
		ARRAY[CASE WHEN m.group_name IS NULL THEN '1 day (the default)'
				   WHEN m.monitor_every_text IS NULL THEN 'never (MONITOR NONE)'
				   ELSE featstore.html_escape(m.monitor_every_text) END,
			  featstore.html_escape(CASE
				WHEN m.reference_label IS NOT NULL THEN format('the spine "%s"', m.reference_label)
				WHEN m.reference_from IS NOT NULL
					THEN format('the reference %s – %s', featstore.report_ts(m.reference_from), featstore.report_ts(m.reference_to))
				ELSE format('the trailing %s periods', coalesce(m.baseline_periods, 30)) END),
			  CASE WHEN starts IS NULL THEN 'none: no statistics in the range'
				   ELSE format('%s: %s – %s', cardinality(starts), featstore.report_ts(starts[1]),
							   featstore.report_ts(ends[cardinality(ends)])) END,
			  coalesce((SELECT format('<span class="%s">%s</span> %s · period %s – %s · %s rows read%s',
									  CASE WHEN r.status = 'succeeded' THEN 'ok' ELSE 'bad' END, r.status,
									  featstore.report_ts(coalesce(r.finished_at, r.started_at)),
									  featstore.report_ts(r.period_start), featstore.report_ts(r.period_end),
									  coalesce(r.rows_read::text, '–'),
									  CASE WHEN r.error IS NOT NULL
										   THEN format('<br/><span class="err">%s %s</span>', featstore.html_escape(coalesce(r.sqlstate, '')),
													   featstore.html_escape(r.error)) ELSE '' END)
						  FROM featstore.stats_runs r WHERE r.group_name = report_monitoring.group_name
						 ORDER BY r.id DESC LIMIT 1), 'none yet'),
			  coalesce((SELECT format('%s · <span class="%s">%s</span> of %s entities differ from the join at now()',
									  featstore.report_ts(c.checked_at),
									  CASE WHEN c.differences = 0 THEN 'ok' ELSE 'bad' END, c.differences, c.sample_size)
						  FROM featstore.skew_checks c WHERE c.group_name = report_monitoring.group_name
						 ORDER BY c.id DESC LIMIT 1), 'none yet')])
	  FROM (SELECT report_monitoring.group_name) x
	  LEFT JOIN featstore.monitor_settings m ON m.group_name = report_monitoring.group_name;
END;
COMMENT ON FUNCTION featstore.report_monitoring(text, timestamptz[], timestamptz[]) IS 'The monitoring report''s card of the group''s monitoring settings and last runs';

-- The group's header: its name and overall status (featstore.group_health's,
-- with the open alerts), then the cards
CREATE FUNCTION featstore.report_header(g featstore.feature_groups, starts timestamptz[], ends timestamptz[])
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $header$
DECLARE
	h featstore.group_health;
	status text;
BEGIN
	SELECT * INTO h FROM featstore.group_health gh WHERE gh.group_name = g.name;
	status := coalesce(h.status, 'unknown');
	RETURN format('<header class="top"><div><h1>%s</h1><p class="sub">featstore monitoring report · feature group</p></div>'
				  '<div class="status st-%s">%s</div></header><div class="cards">%s%s%s</div>',
				  featstore.html_escape(g.name),
				  CASE status WHEN 'ok' THEN 'ok' WHEN 'alert' THEN 'alert' ELSE 'unknown' END,
				  upper(featstore.html_escape(status))
					|| CASE WHEN h.open_alerts = 1 THEN ' · 1 open alert'
							WHEN h.open_alerts > 1 THEN ' · ' || h.open_alerts || ' open alerts' ELSE '' END
					|| CASE WHEN h.freshness_met = false THEN ' · SLA breached' ELSE '' END,
				  featstore.report_definition(g), featstore.report_freshness(h),
				  featstore.report_monitoring(g.name, starts, ends));
END
$header$;
COMMENT ON FUNCTION featstore.report_header(featstore.feature_groups, timestamptz[], timestamptz[]) IS 'The monitoring report''s header: the group, its status and the cards of its definition, freshness and monitoring';

-- An alert's details for people: each field of the JSON object in turn, a
-- list of tests as "test statistic (threshold t)", times in UTC, an age
-- (a number of seconds named age or *_seconds) as a duration, numbers
-- with four digits, anything else as JSON cut at 200 characters.  Not
-- escaped: the caller escapes.
CREATE FUNCTION featstore.report_alert_details(details jsonb)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN jsonb_typeof(details) <> 'object' THEN left(details::text, 200)
		   ELSE (SELECT string_agg(e.key || ': ' || CASE
					WHEN jsonb_typeof(e.value) = 'array' AND jsonb_typeof(e.value -> 0) = 'object'
						 AND e.value -> 0 ? 'test'
						THEN (SELECT string_agg(concat_ws(' ', t ->> 'test',
														  CASE WHEN jsonb_typeof(t -> 'statistic') = 'number'
															   THEN featstore.report_num((t ->> 'statistic')::float8)
															   ELSE t ->> 'statistic' END,
														  CASE WHEN jsonb_typeof(t -> 'threshold') = 'number'
															   THEN '(threshold ' || featstore.report_num((t ->> 'threshold')::float8) || ')' END),
											  ', ')
								FROM jsonb_array_elements(e.value) AS t)
					WHEN jsonb_typeof(e.value) = 'number' AND (e.key = 'age' OR e.key LIKE '%\_seconds')
						THEN featstore.report_interval(make_interval(secs => (e.value #>> '{}')::float8))
					WHEN jsonb_typeof(e.value) = 'number' THEN featstore.report_num((e.value #>> '{}')::float8)
					WHEN jsonb_typeof(e.value) = 'string'
						 AND (e.value #>> '{}') ~ '^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d(:\d\d)?|Z)$'
						THEN featstore.report_ts((e.value #>> '{}')::timestamptz)
					WHEN jsonb_typeof(e.value) = 'string' THEN left(e.value #>> '{}', 200)
					ELSE left(e.value::text, 200) END,
				 ' · ' ORDER BY CASE e.key WHEN 'period_start' THEN 0 WHEN 'tests' THEN 1 ELSE 2 END, e.key)
				   FROM jsonb_each(details) AS e) END;
END;
COMMENT ON FUNCTION featstore.report_alert_details(jsonb) IS 'An alert''s details as the monitoring report prints them (not escaped)';

-- The group's open alerts the caller may see, newest first
CREATE FUNCTION featstore.report_alerts(group_name text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT format('<h2>Open alerts (%s)</h2>', count(a.*))
		|| CASE WHEN count(a.*) = 0 THEN '<p class="ok">No open alert.</p>'
		   ELSE '<table class="alerts"><tr><th>kind</th><th>feature</th><th>since</th><th>last seen</th><th>details</th></tr>'
				|| string_agg(format('<tr class="alert"><td class="kind">%s</td><td>%s</td><td class="ts">%s</td><td class="ts">%s</td><td>%s</td></tr>',
									 featstore.html_escape(a.kind), featstore.html_escape(coalesce(a.feature_name::text, '(group)')),
									 featstore.report_ts(a.since), featstore.report_ts(a.last_seen),
									 featstore.html_escape(featstore.report_alert_details(a.details))),
							  '' ORDER BY a.since DESC, a.id DESC)
				|| '</table>' END
	  FROM featstore.alerts a
	 WHERE a.group_name = report_alerts.group_name AND a.resolved_at IS NULL;
END;
COMMENT ON FUNCTION featstore.report_alerts(text) IS 'The monitoring report''s table of the group''s open alerts';

-- Refuses a report the caller may not have: a group it may not see.  The
-- statistics, alerts and runs describe the group's data, so the rule is
-- featstore.group_visible's, the policies' own.
CREATE FUNCTION featstore.report_check(group_name text, "from" timestamptz, "to" timestamptz)
RETURNS featstore.feature_groups
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $check$
DECLARE
	g featstore.feature_groups;
	tab text;
	rel oid;
BEGIN
	IF group_name IS NULL THEN
		RAISE EXCEPTION 'feature group name of the monitoring report must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Call featstore.monitoring_report(''group_name'').';
	END IF;
	SELECT * INTO g FROM featstore.feature_groups fg WHERE fg.name = report_check.group_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'feature group "%" does not exist', group_name
			USING ERRCODE = 'undefined_object',
				  HINT = 'featstore.feature_groups lists the defined groups.';
	END IF;
	IF "from" >= "to" THEN
		RAISE EXCEPTION 'monitoring report range is empty: from % is not before to %', "from", "to"
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass from < to, or NULL for both to get the last 30 periods with statistics.';
	END IF;
	IF NOT featstore.group_visible(g.name) THEN
		tab := quote_ident(g.schema_name) || '.' || quote_ident(g.table_name);
		-- by oid: a name would need USAGE on the schema to be looked up
		SELECT c.oid INTO rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = g.schema_name AND c.relname = g.table_name;
		IF rel IS NOT NULL AND has_any_column_privilege(rel, 'SELECT') AND row_security_active(rel) THEN
			RAISE EXCEPTION 'permission denied to read the monitoring of feature group "%"', g.name
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = format('Row-level security of %s applies to role %s; the statistics describe rows it cannot see.',
									  tab, current_user),
					  HINT = 'Ask for the report as the table''s owner or as a role with BYPASSRLS.';
		END IF;
		RAISE EXCEPTION 'permission denied to read the monitoring of feature group "%"', g.name
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role %s may not SELECT from the group''s table %s%s.', current_user, tab,
								  CASE WHEN g.kind = 'source' THEN ' or its source' ELSE '' END),
				  HINT = format('The owner of %s can run GRANT SELECT ON %s TO %s.', tab, tab, quote_ident(current_user));
	END IF;
	RETURN g;
END
$check$;
COMMENT ON FUNCTION featstore.report_check(text, timestamptz, timestamptz) IS 'The monitoring report''s checks of its arguments and of the caller''s right to see the group';

CREATE FUNCTION featstore.monitoring_report(group_name text, "from" timestamptz DEFAULT NULL,
											"to" timestamptz DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $report$
DECLARE
	g featstore.feature_groups := featstore.report_check(group_name, "from", "to");
	starts timestamptz[];
	ends timestamptz[];
	f record;
	hidden integer := 0;
	hidden_pii integer := 0;
	reader boolean := EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = 'featstore_pii_reader'
										  AND pg_has_role(r.oid, 'MEMBER'));
	tests jsonb;
	out text;
BEGIN
	-- the periods: the last 30 with statistics, or those starting in [from, to)
	SELECT array_agg(p.ps ORDER BY p.ps), array_agg(p.pe ORDER BY p.ps) INTO starts, ends
	  FROM (SELECT DISTINCT s.period_start AS ps, s.period_end AS pe
			  FROM featstore.feature_stats s
			 WHERE s.group_name = g.name AND s.scope = 'period' AND s.label = ''
			   AND (s.period_start >= "from" OR "from" IS NULL)
			   AND (s.period_start < "to" OR "to" IS NULL)
			 ORDER BY 1 DESC
			 LIMIT CASE WHEN "from" IS NULL THEN 30 ELSE 1000 END) p;
	-- the current period's drift tests, of every feature the caller may see
	IF starts IS NOT NULL THEN
		SELECT coalesce(jsonb_agg(to_jsonb(d)), '[]') INTO tests
		  FROM featstore.drift_tests(g.name, starts[cardinality(starts)], ends[cardinality(ends)]) d;
	END IF;
	out := featstore.report_head(g.name) || featstore.report_header(g, starts, ends)
		|| featstore.report_alerts(g.name)
		|| '<h2>Features</h2>';
	FOR f IN SELECT ft.name, ft.data_type, ft.description, ft.pii FROM featstore.features ft
			  WHERE ft.group_name = g.name AND ft.status = 'active' ORDER BY ft.position LOOP
		IF NOT featstore.feature_visible(g.name, f.name) AND f.pii AND NOT reader THEN
			hidden_pii := hidden_pii + 1;
		ELSIF NOT featstore.feature_visible(g.name, f.name) THEN
			hidden := hidden + 1;
		ELSIF starts IS NULL THEN
			out := out || format('<article class="feature" data-feature="%s"><h3>%s <span class="type">%s</span></h3>'
								 '<p class="empty">No statistics in the report''s range.</p></article>',
								 featstore.html_escape(f.name), featstore.html_escape(f.name),
								 featstore.html_escape(f.data_type));
		ELSE
			out := out || featstore.report_feature(g.name, f.name, f.data_type, f.description, starts, ends, tests);
		END IF;
	END LOOP;
	IF hidden > 0 THEN
		out := out || format('<p class="empty">%s feature(s) left out: role %s may not SELECT their columns.</p>',
							 hidden, featstore.html_escape(current_user));
	END IF;
	IF hidden_pii > 0 THEN
		out := out || format('<p class="empty">%s PII feature(s) left out: role %s is not a member of featstore_pii_reader.</p>',
							 hidden_pii, featstore.html_escape(current_user));
	END IF;
	RETURN out || format('<footer>featstore.monitoring_report(%s) as role %s at %s. Times are UTC.</footer></body></html>',
						 featstore.html_escape(quote_literal(g.name)), featstore.html_escape(current_user),
						 featstore.report_ts(now()));
END
$report$;
COMMENT ON FUNCTION featstore.monitoring_report(text, timestamptz, timestamptz) IS 'One standalone HTML page (inline CSS and SVG, no external asset) on a feature group''s monitoring: status, open alerts, runs, and per feature its histogram against the baseline, its mean and null rate over time with their bands; read as the caller (docs/monitoring.md)';

DO $grants$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::regprocedure
		  FROM pg_catalog.pg_proc p
		 WHERE p.pronamespace = 'featstore'::regnamespace
		   AND (p.proname = 'monitoring_report' OR p.proname = 'html_escape' OR p.proname LIKE 'report\_%')
	LOOP
		EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO featstore_reader', f);
	END LOOP;
END
$grants$;
