# featstore.monitoring_report() in a real browser (issue 11): the report of
# a group with 40 days of statistics and an injected drift (the amount's
# mean shifts on the last day, n_items turns all NULL) is written to a file,
# rendered by headless Chromium (--dump-dom and --screenshot, with a private
# profile), and the DOM Chromium built is checked: every chart is there
# (svg elements, histogram bars, band paths, points outside the band, alert
# rows), as counted from the page's source and from the statistics.  The
# screenshot's colours say that the bars, bands and the red out-of-band
# points were drawn.  The page, the DOM and the screenshot are kept as
# artifacts in tmp_check/artifacts/078_monitoring_report/ (scripts/test.sh
# copies them to the checkout's tmp_check/artifacts/).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Path qw(make_path);
use IPC::Run;

my $chromium = '/usr/bin/chromium';
plan skip_all => 'chromium is not installed' unless -x $chromium;

my $node = PostgreSQL::Test::Cluster->new('report');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'featstore'
# no online store here (the group is offline): the workers serve a database
# that does not exist, so that nothing talks to a Redis
featstore.database = 'report_no_online_store'
# the test computes statistics, drift and freshness itself; the monitor
# worker would do the same on its own schedule
featstore.monitor = off
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION featstore');

# q1(sql) runs sql as the superuser; as(role, sql) as role
sub q1 { return $node->safe_psql('postgres', $_[0]); }
sub as { return $node->safe_psql('postgres', $_[1], extra_params => [ '-U', $_[0] ]); }

q1(q{
	CREATE ROLE rep_owner LOGIN IN ROLE featstore_editor;
	CREATE ROLE rep_oncall LOGIN IN ROLE featstore_reader;
	CREATE SCHEMA shop AUTHORIZATION rep_owner;
});
as('rep_owner', q{
	SELECT featstore.exec($$
		CREATE ENTITY customer (customer_id bigint);
		CREATE FEATURE GROUP shop.orders ENTITY customer
			FEATURES (
				amount double precision 'Order amount in EUR',
				country text 'Billing country',
				n_items integer 'Items in the order',
				express boolean 'Express delivery')
			DESCRIPTION $d$Orders per customer <script>alert(1)</script>$d$;
	$$);
	SELECT setseed(0.5);
	INSERT INTO shop.orders (customer_id, event_timestamp, amount, country, n_items, express)
	SELECT i, timestamptz '2026-10-01 00:00+00' + d * interval '1 day' + i * interval '4 minutes',
		   CASE WHEN d = 39 THEN 140 ELSE 100 END + 20 * (random() + random() + random() - 1.5),
		   (ARRAY['FR', 'DE', 'IT', 'ES', '<b>NL</b>'])[1 + (i % 5)],
		   CASE WHEN d < 39 THEN (i * 7 + d) % 6 END,
		   i % 3 = 0
	  FROM generate_series(0, 39) AS d, generate_series(1, 300) AS i;
	GRANT USAGE ON SCHEMA shop TO rep_oncall;
	GRANT SELECT ON shop.orders TO rep_oncall;
});

# Statistics and drift per day, as the monitor computes them
as('rep_owner', q{
	SELECT count(featstore.compute_stats('orders', d, d + interval '1 day'))
	  FROM generate_series(timestamptz '2026-10-01 00:00+00', '2026-11-09 00:00+00', interval '1 day') AS d;
	SELECT count(featstore.evaluate_drift('orders', d, d + interval '1 day'))
	  FROM generate_series(timestamptz '2026-10-01 00:00+00', '2026-11-09 00:00+00', interval '1 day') AS d;
	SELECT featstore.exec($$ALTER FEATURE GROUP orders SET FRESHNESS '1 hour'$$);
	SELECT featstore.check_freshness();
});
is(q1(q{SELECT string_agg(feature_name, ',' ORDER BY feature_name) FROM featstore.alerts
		 WHERE group_name = 'orders' AND kind = 'drift' AND resolved_at IS NULL}),
	'amount,n_items', 'the drift of amount and n_items on the last day is an open alert each');
is(q1(q{SELECT count(*) FROM featstore.alerts WHERE group_name = 'orders' AND kind = 'stale_data' AND resolved_at IS NULL}),
	'1', 'the group is stale: its newest event is weeks old, its SLA an hour');

# --- the page, written to a file as the on-call reader gets it
my $art = "$PostgreSQL::Test::Utils::tmp_check/artifacts/078_monitoring_report";
make_path($art);
my $html = as('rep_oncall', q{SELECT featstore.monitoring_report('orders')});
open(my $fh, '>:raw', "$art/report.html") or die "cannot write $art/report.html: $!";
print $fh $html;
close($fh);
ok(length($html) > 10000, 'the report is written to a file (' . length($html) . ' bytes)');
unlike($html, qr{https?:}i, 'the page holds no http(s) URL');
unlike($html, qr{<script|<link|<img|\ssrc=|\shref=}i, 'the page loads and runs nothing');

# chromium(args...) runs headless Chromium on the page with a private
# profile; returns its stdout
my $profile = PostgreSQL::Test::Utils::tempdir('chromium');
sub chromium
{
	my @cmd = ($chromium, '--headless', '--no-sandbox', '--disable-gpu', "--user-data-dir=$profile",
		'--no-first-run', '--disable-extensions', '--window-size=1280,2400', @_, "file://$art/report.html");
	my ($out, $err) = ('', '');
	local $ENV{HOME} = $profile;
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout(120));
	note("chromium stderr: $err") if $? != 0;
	return $out;
}

# --- the DOM Chromium built from it
my $dom = chromium('--dump-dom');
open($fh, '>:raw', "$art/dom.html") or die;
print $fh $dom;
close($fh);
ok(length($dom) > 10000, 'chromium parsed the page (--dump-dom)');

# count(re) counts the matches of re in the DOM
sub count { my @m = ($dom =~ /$_[0]/g); return scalar @m; }

# Four features: amount and n_items are numeric (a histogram, a mean and a
# null-rate chart), country and express categorical (top values and the
# null rate): 10 charts
is(count(qr{<svg class="chart }), 11, 'ten charts and the freshness gauge');
is(count(qr{<rect class="fill late"}), 1, 'the freshness gauge is red: the age is beyond the SLA');
like($dom, qr{<div class="status st-alert">ALERT · 3 open alerts · SLA breached</div>}, 'the status says so');
is(count(qr{<svg class="chart histogram"}), 2, 'two histograms');
is(count(qr{<svg class="chart topvalues"}), 2, 'two top-values charts');
is(count(qr{<svg class="chart series"}), 6, 'six charts over time');
# histogram bars: 20 baseline bars each; current bars: 20 for amount, none
# for n_items (all NULL on the last day); top values: 5 countries + "all
# other values", 2 booleans + "all other values"
is(count(qr{<rect class="bar base"}), 20 + 20 + 6 + 3, 'baseline bars');
is(count(qr{<rect class="bar cur"}), 20 + 0 + 6 + 3, 'current bars');
is(count(qr{<path class="band"}), 6, 'a band on every chart over time');
is(count(qr{<path class="line"}), 6, 'a line on every chart over time');
# 30 periods per chart; n_items has no mean on the last day
is(count(qr{<circle class="pt}), 6 * 30 - 1, 'one point per period and chart');
# outside their band: exactly the periods and features in which the drift
# tests mean_sigma and null_rate_sigma find drift
my $drifting = q1(q{
	SELECT string_agg(to_char(period_start, 'YYYY-MM-DD'), ',' ORDER BY period_start)
	  FROM featstore.drift_tests('orders', '2026-10-11', '2026-11-10')
	 WHERE test IN ('mean_sigma', 'null_rate_sigma') AND verdict = 'drift'});
like($drifting, qr/^(.*,)?2026-11-09,2026-11-09$/, "drift_tests finds the mean and the null rate drifting on 2026-11-09 ($drifting)");
my @out_days = $dom =~ m{<circle class="pt out"[^>]*><title>([0-9-]+): }g;
is(join(',', sort @out_days), $drifting, 'the points outside their band are the periods drift_tests finds drifting');
is(count(qr{<tr class="alert">}), 3, 'three open alert rows: two drift, one stale_data');
is(count(qr{<table class="drift">}), 4, 'a table of drift tests per feature');
is(count(qr{<td class="v-drift">drift</td>}), q1(q{SELECT count(*) FROM featstore.drift_tests('orders', '2026-11-09', '2026-11-10') WHERE verdict = 'drift'}),
	'as many drift verdicts as drift_tests() finds in the current period');
is(count(qr{<article class="feature drifting"}), 2, 'two features marked as drifting');
like($dom, qr{Orders per customer &lt;script&gt;alert\(1\)&lt;/script&gt;}, 'the hostile description is text');
is(count(qr{<script}), 0, 'no script element in the DOM');
is(count(qr{<b>}), 0, 'no element from a top value');


# --- the screenshot, an artifact
chromium("--screenshot=$art/report.png", '--hide-scrollbars');
ok(-s "$art/report.png", "screenshot written to $art/report.png");
my $colors = `/usr/bin/python3 test/python/png_colors.py '$art/report.png' 2563eb cbd5e1 d1fae5 dc2626`;
note($colors);
my ($size) = $colors =~ /^(\d+ \d+)/;
is($size, '1280 2400', 'the screenshot is 1280x2400');
my %px = $colors =~ /^(\w{6}) (\d+)$/mg;
cmp_ok($px{'2563eb'} // 0, '>', 5000, 'blue (current bars, lines, points) is drawn');
cmp_ok($px{'cbd5e1'} // 0, '>', 5000, 'grey (baseline bars) is drawn');
cmp_ok($px{'d1fae5'} // 0, '>', 1000, 'green (the bands) is drawn');
cmp_ok($px{'dc2626'} // 0, '>', 500, 'red (status, drifting features, points outside the band) is drawn');

$node->stop;
done_testing();
