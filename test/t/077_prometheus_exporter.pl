# The Prometheus metrics (issue 11, part ops): Debian's real
# prometheus-postgres-exporter runs on a free loopback port with
# examples/prometheus/featstore-queries.yaml, connected as a login role with
# only featstore_reader and pg_monitor; /metrics is scraped with HTTP::Tiny
# and every metric name and value is checked against SQL: the online
# store's queue depth after an insert with the worker stopped (SIGSTOP), the
# age of the oldest queued change, entities written, the lag, the open
# alerts by kind (a skew alert), the last skew check.  The exporter's role
# reads no group table: it gets the counts, never a row.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use HTTP::Tiny;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $exporter_bin = '/usr/bin/prometheus-postgres-exporter';
plan skip_all => "$exporter_bin is not installed" unless -x $exporter_bin;

my $rport = start_redis();
my $node = online_node('prom', $rport, "featstore.skew_check_interval = 0\n");
$node->safe_psql('postgres', q{
	CREATE ROLE featstore_exporter LOGIN IN ROLE featstore_reader, pg_monitor;
	SELECT * FROM featstore.exec($$
		CREATE ENTITY rider (rider_id bigint);
		CREATE FEATURE GROUP trips ENTITY rider FEATURES (n bigint) ONLINE;
		CREATE FEATURE GROUP ledger ENTITY rider FEATURES (balance numeric);
	$$);
	INSERT INTO trips (rider_id, event_timestamp, n)
	SELECT g, now() - interval '1 hour', g FROM generate_series(1, 30) g;
	INSERT INTO ledger (rider_id, event_timestamp, balance) VALUES (1, now(), 10);
});
wait_caught_up($node, '30 entities');

# --- the exporter, as featstore_exporter, on a free loopback port ---
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $yaml = 'examples/prometheus/featstore-queries.yaml';
my ($eout, $eerr) = ('', '');
local $ENV{DATA_SOURCE_NAME} = sprintf('host=%s port=%d dbname=postgres user=featstore_exporter sslmode=disable',
	$node->host, $node->port);
my $exporter = IPC::Run::start(
	[ $exporter_bin, "--extend.query-path=$yaml", '--disable-default-metrics',
	  '--disable-settings-metrics', "--web.listen-address=127.0.0.1:$port" ],
	'>', \$eout, '2>', \$eerr);
END { $exporter->kill_kill if $exporter; }
my $http = HTTP::Tiny->new(timeout => 10);

# scrape(): the samples of /metrics, as { 'name{labels}' => value }, labels
# sorted and without the exporter's own server label
sub scrape
{
	my $res = $http->get("http://127.0.0.1:$port/metrics");
	return undef unless $res->{success};
	my %m;
	for my $line (split /\n/, $res->{content})
	{
		next if $line =~ /^#/ || $line !~ /^(\w+)(?:\{(.*)\})? (\S+)$/;
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		my @l = sort grep { !/^server=/ } ($labels =~ /(\w+="[^"]*")/g);
		$m{ $name . (@l ? '{' . join(',', @l) . '}' : '') } = $value;
	}
	return \%m;
}
my $m;
ok(poll_until(sub { $m = scrape(); $m && exists $m->{pg_up} }, 30), 'the exporter answers on 127.0.0.1')
  or diag($eerr);
is($m->{pg_up}, 1, 'pg_up 1: connected as featstore_exporter');
my @load = grep { /^pg_exporter_user_queries_load_error\{filename="\Q$yaml\E"/ } keys %$m;
is(scalar(@load) . ' ' . join(',', map { $m->{$_} } @load), '1 0', 'the queries file loads');
is($m->{pg_exporter_last_scrape_error}, 0, 'no query failed');
unlike($eerr, qr/level=error/, 'no error in its log') or diag($eerr);

# --- online store: entities written, lag, queue depth ---
my $sql = $node->safe_psql('postgres', q{
	SELECT entities_written || ' ' || queue_depth || ' ' || (extract(epoch FROM lag) > 0)
	  FROM featstore.materialization_status WHERE group_name = 'trips'});
is($sql, '30 0 true', 'SQL: 30 entities written, none queued');
is($m->{'featstore_online_entities_written_total{group="trips"}'}, 30, 'featstore_online_entities_written_total = 30');
is($m->{'featstore_online_queue_depth{group="trips"}'}, 0, 'featstore_online_queue_depth = 0');
cmp_ok($m->{'featstore_online_lag_seconds{group="trips"}'}, '>', 0, 'featstore_online_lag_seconds > 0');
ok(!exists $m->{'featstore_online_queue_depth{group="ledger"}'}, 'an offline group has no online metrics');

# the worker stopped (SIGSTOP), 7 new entities wait in the queue
my $wpid = $node->safe_psql('postgres', q{SELECT pid FROM featstore.online_worker_status()});
ok(kill('STOP', $wpid), "worker $wpid stopped");
$node->safe_psql('postgres', q{
	INSERT INTO trips (rider_id, event_timestamp, n) SELECT g, now(), g FROM generate_series(101, 107) g});
sleep 1;
$m = scrape();
my ($depth, $age) = split / /, $node->safe_psql('postgres', q{
	SELECT queue_depth || ' ' || extract(epoch FROM now() - oldest_enqueued)
	  FROM featstore.materialization_status WHERE group_name = 'trips'});
is($depth, 7, 'SQL: 7 entities queued');
is($m->{'featstore_online_queue_depth{group="trips"}'}, 7, 'featstore_online_queue_depth = 7 while the worker is stopped');
cmp_ok($m->{'featstore_online_oldest_queued_seconds{group="trips"}'}, '>=', 1, 'featstore_online_oldest_queued_seconds >= 1 s ...');
cmp_ok($m->{'featstore_online_oldest_queued_seconds{group="trips"}'}, '<=', $age, '... and no more than SQL says a moment later');
ok(kill('CONT', $wpid), 'worker resumed');
wait_caught_up($node, 'after SIGCONT');
$m = scrape();
is($m->{'featstore_online_queue_depth{group="trips"}'}, 0, 'queue drained: 0');
is($m->{'featstore_online_entities_written_total{group="trips"}'}, 37, 'entities written: 37');

# --- open alerts by kind, and the last skew check ---
for my $kind (qw(drift stale_data materialization_lag worker_failing transformation_stale skew stats_failed))
{
	is($m->{qq{featstore_alerts_open{group="trips",kind="$kind"}}}, 0, "featstore_alerts_open{kind=\"$kind\"} = 0");
}
$node->safe_psql('postgres', q{
	SET session_replication_role = replica;
	UPDATE trips SET n = -1 WHERE rider_id IN (4, 5);
	RESET session_replication_role;
	SELECT featstore.check_skew('trips');});
$m = scrape();
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM featstore.alerts WHERE kind = 'skew' AND resolved_at IS NULL}), '1', 'SQL: one open skew alert');
is($m->{'featstore_alerts_open{group="trips",kind="skew"}'}, 1, 'featstore_alerts_open{kind="skew"} = 1');
is($m->{'featstore_alerts_open{group="ledger",kind="skew"}'}, 0, 'and 0 for the other group');
my ($ss, $sd) = split / /, $node->safe_psql('postgres', q{
	SELECT sample_size || ' ' || differences FROM featstore.skew_checks ORDER BY id DESC LIMIT 1});
is("$ss $sd", '37 2', 'SQL: the check compared 37 entities, 2 differ');
is($m->{'featstore_skew_differences{group="trips"}'}, 2, 'featstore_skew_differences = 2');
is($m->{'featstore_skew_sample_size{group="trips"}'}, 37, 'featstore_skew_sample_size = 37');
is($m->{'featstore_skew_last_check_done{group="trips"}'}, 1, 'featstore_skew_last_check_done = 1');
cmp_ok($m->{'featstore_skew_last_check_age_seconds{group="trips"}'}, '<', 30, 'featstore_skew_last_check_age_seconds: just now');

# --- freshness age, for a group with an SLA, as the freshness check saw it ---
ok(!exists $m->{'featstore_freshness_age_seconds{group="trips"}'}, 'no SLA: no freshness metric');
$node->safe_psql('postgres', q{
	SELECT featstore.set_freshness('trips', '1 hour');
	SELECT featstore.check_freshness();});
$m = scrape();
my ($fage, $fnewest) = split / /, $node->safe_psql('postgres', q{
	SELECT extract(epoch FROM now() - newest_event) || ' ' || (newest_event = (SELECT max(event_timestamp) FROM trips))
	  FROM featstore.group_health WHERE group_name = 'trips'});
is($fnewest, 'true', 'SQL (group_health): the newest event is the history\'s newest');
my $mage = $m->{'featstore_freshness_age_seconds{group="trips"}'};
ok(defined $mage && $mage > 0 && $mage <= $fage && $fage - $mage < 5,
	"featstore_freshness_age_seconds ($mage) is group_health's age ($fage) at the scrape");
is($m->{'featstore_freshness_sla_seconds{group="trips"}'}, 3600, 'featstore_freshness_sla_seconds = 3600');
cmp_ok($m->{'featstore_freshness_checked_age_seconds{group="trips"}'}, '<', 30, 'featstore_freshness_checked_age_seconds: just checked');

# --- drift verdicts of the latest stored period ---
ok(!exists $m->{'featstore_drift_tests{group="ledger",verdict="ok"}'}, 'no statistics yet: no drift metric');
$node->safe_psql('postgres', q{
	INSERT INTO ledger (rider_id, event_timestamp, balance)
	SELECT g, timestamptz '2026-01-01 00:00+00' + make_interval(days => d, secs => g),
	       (g % 50) + CASE WHEN d = 9 THEN 100 ELSE 0 END
	  FROM generate_series(0, 9) d, generate_series(1, 200) g;
	SELECT featstore.compute_stats('ledger', timestamptz '2026-01-01 00:00+00' + make_interval(days => d),
	                               timestamptz '2026-01-02 00:00+00' + make_interval(days => d))
	  FROM generate_series(0, 9) d;});
my $verdicts = $node->safe_psql('postgres', q{
	SELECT string_agg(verdict || '=' || n, ',' ORDER BY verdict)
	  FROM (SELECT verdict, count(*) AS n FROM featstore.drift
	         WHERE group_name = 'ledger' AND period_start = '2026-01-10 00:00+00' GROUP BY verdict) v});
like($verdicts, qr/drift=[1-9]/, "SQL (featstore.drift): the shifted last day drifts ($verdicts)");
$m = scrape();
my %sqlv = map { split /=/ } split /,/, $verdicts;
for my $v ('ok', 'drift', 'no baseline')
{
	is($m->{qq{featstore_drift_tests{group="ledger",verdict="$v"}}}, $sqlv{$v} // 0,
		"featstore_drift_tests{verdict=\"$v\"} = " . ($sqlv{$v} // 0) . ', as featstore.drift counts it');
}
cmp_ok($m->{'featstore_drift_period_end_timestamp_seconds{group="ledger"}'}, '==',
	$node->safe_psql('postgres', q{SELECT extract(epoch FROM timestamptz '2026-01-11 00:00+00')}),
	'featstore_drift_period_end_timestamp_seconds: the end of the latest period');
is($node->safe_psql('postgres', q{SELECT count(*) FROM featstore.drift}, extra_params => [ '-U', 'featstore_exporter' ]),
	'0', 'featstore_exporter itself sees no drift row');

# --- what the exporter's role itself may read ---
is($node->safe_psql('postgres', q{SELECT count(*) FROM featstore.alerts}, extra_params => [ '-U', 'featstore_exporter' ]),
	'0', 'featstore_exporter sees no alert row (it may read no group table) ...');
my ($rc, $out, $err) = $node->psql('postgres', q{SELECT count(*) FROM trips}, extra_params => [ '-U', 'featstore_exporter' ]);
like($err, qr/permission denied for table trips/, '... nor the history');
$node->safe_psql('postgres', q{CREATE ROLE plain_reader LOGIN IN ROLE featstore_reader});
is($node->safe_psql('postgres', q{SELECT count(*) FROM featstore.monitor_metrics}, extra_params => [ '-U', 'plain_reader' ]),
	'0', 'a reader without pg_monitor gets no counts of groups it may not read');
$node->safe_psql('postgres', q{GRANT SELECT ON trips TO plain_reader});
is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT group_name, ',') FROM featstore.monitor_metrics}, extra_params => [ '-U', 'plain_reader' ]),
	'trips', '... and those of the group it may read once granted');

$exporter->kill_kill;
$exporter = undef;
done_testing();
