-- featstore PII gaps (issue 12): what monitoring keeps of a PII feature.
-- compute_stats stores no top values of a PII feature (src/monitor/
-- monitor_stats.c) and SET PII clears those stored before
-- (src/registry/registry_pii.c); the report says so, and says why a
-- feature is left out for a role.  See docs/monitoring.md, "PII features".

COMMENT ON COLUMN featstore.features.pii IS 'Personal data: featstore returns NULL in place of its values to roles that are not members of featstore_pii_reader (pit_join, the marker join, window_timeline, online_features, verify_online) or that may not SELECT its column (online_features, verify_online); monitoring stores no top values of it';
COMMENT ON COLUMN featstore.feature_stats.top_values IS 'The most frequent non-NULL values, most frequent first, as text (categorical); NULL for a PII feature, whose values they would be';
COMMENT ON COLUMN featstore.feature_stats.top_counts IS 'How often each of top_values occurs (categorical); NULL for a PII feature';
COMMENT ON COLUMN featstore.feature_stats.other_count IS 'Non-NULL values not among top_values (categorical); NULL for a PII feature';

-- the report's top values of a categorical feature: none for a PII one
CREATE OR REPLACE FUNCTION featstore.report_feature_top(cur featstore.feature_stats, feature_name name)
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

-- the report: a feature is left out for want of its column's SELECT or,
-- for a PII feature, of featstore_pii_reader (featstore.feature_visible);
-- it says which
CREATE OR REPLACE FUNCTION featstore.monitoring_report(group_name text, "from" timestamptz DEFAULT NULL,
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
