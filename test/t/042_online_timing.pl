# Redis is exact on time, whatever featstore.online_poll_interval (3 s here):
# a future-dated row is served within 50 ms of its event_timestamp; a Redis
# restarted empty while nothing is written is rebuilt within 2 s; queued
# whole-group walks run back to back, and the worker is never shown idle
# while work is queued.  Redis is read only through the documented layout
# (test/python/online_probe.py).
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $rport = start_redis();
my $node = online_node('timing', $rport, "featstore.online_poll_interval = '3s'\n");
my @groups = map { "walk$_" } 1 .. 5;
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY item (id text);
		CREATE FEATURE GROUP fut ENTITY item FEATURES (v bigint 'Value') ONLINE;
		CREATE FEATURE GROUP walk1 ENTITY item FEATURES (v bigint 'Value') ONLINE;
		CREATE FEATURE GROUP walk2 ENTITY item FEATURES (v bigint 'Value') ONLINE;
		CREATE FEATURE GROUP walk3 ENTITY item FEATURES (v bigint 'Value') ONLINE;
		CREATE FEATURE GROUP walk4 ENTITY item FEATURES (v bigint 'Value') ONLINE;
		CREATE FEATURE GROUP walk5 ENTITY item FEATURES (v bigint 'Value') ONLINE;
	$$)});
$node->safe_psql('postgres',
	"INSERT INTO $_ (id, event_timestamp, v) SELECT 'i' || g, now() - interval '1 minute', g FROM generate_series(1, 2000) g")
  for @groups;
wait_caught_up($node, 'initial load');
my $keys = 5 * 2000;
is(redis_cmd($rport, undef, 'DBSIZE'), $keys, 'every entity in Redis');

# probe(args...) runs the Python probe against this node and Redis
sub probe
{
	my @cmd = ('/usr/bin/python3', 'test/python/online_probe.py', @_,
		'--pghost', $node->host, '--pgport', $node->port, '--redis-port', $rport);
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err, IPC::Run::timeout(60));
	diag($err) if $err ne '';
	return $out;
}

# --- future-dated rows: served within 50 ms of their event_timestamp ---
# 100 rows for fresh entities, due 0.2 to 2 s from now, polled from 2 ms
# before each is due
# loadavg() is the 1-minute load average and cpus() the processors online,
# reported with the figures: other test runs may share this machine
sub loadavg { return (split ' ', slurp_file('/proc/loadavg'))[0]; }
sub cpus { my $n = `getconf _NPROCESSORS_ONLN`; chomp $n; return $n || 1; }
my $load_before = loadavg();
my $out = probe('future', '--group', 'fut', '--entity', 'item', '--rows', 100,
	'--min-ms', 200, '--max-ms', 2000);
my $load = $load_before > loadavg() ? $load_before : loadavg();
like($out, qr/^missing=0$/m, 'every future-dated row reached Redis');
note($_) for grep { /^slowest/ } split /\n/, $out;
my ($n, $p50, $p99, $max, $min) = $out =~ /future n=(\d+) p50=(\S+) p99=(\S+) max=(\S+) min=(\S+)/;
diag(sprintf('future-dated rows, event_timestamp to Redis: p50 %.1f ms, p99 %.1f ms, max %.1f ms, min %.1f ms (%d rows, poll interval 3 s)',
	$p50, $p99, $max, $min, $n));
cmp_ok($p99, '<', 50, "p99 delay under 50 ms (load average $load over " . cpus() . ' CPUs)');
cmp_ok($min, '>', -1, 'no row served before its event_timestamp');
verify_zero($node, 'fut', 'fut: no difference');

# --- Redis restarted empty while nothing is written ---
my $all = $keys + 100;
is(redis_cmd($rport, undef, 'DBSIZE'), $all, 'the walks and the future-dated rows are in Redis');
sleep 1;    # the worker is asleep, in the middle of a 3 s poll interval
stop_redis($rport, 'KILL');
my $t0 = time();
start_redis(port => $rport);
my $back = poll_until(sub { redis_cmd($rport, undef, 'DBSIZE') >= $all }, 10);
my $restart_s = time() - $t0;
ok($back, 'every key back after the restart');
diag(sprintf('Redis restarted empty, no writes: every key back %.0f ms after the new Redis was started', $restart_s * 1000));
cmp_ok($restart_s, '<', 2, 'rebuilt within 2 s');
is(count_log($node, qr/Redis is a new process/), 1, 'the new process was noticed once');

# --- FLUSHALL and five walks: back to back, never idle while queued ---
# Samples of the status view come from one snapshot for the queue and the
# live worker state a moment later, so the sample taken as the last walk ends
# may pair its depth with the state that follows; a real idle with work
# queued lasts (one poll interval, before the fix), so two samples in a row
# are required to call it one.
my ($sout, $serr) = ('', '');
my $sampler = IPC::Run::start(
	[ '/usr/bin/python3', 'test/python/online_probe.py', 'sample', '--seconds', 4,
	  '--pghost', $node->host, '--pgport', $node->port, '--redis-port', $rport ],
	'>', \$sout, '2>', \$serr, IPC::Run::timeout(60));
usleep(500_000);
redis_cmd($rport, undef, 'FLUSHALL');
$t0 = time();
$node->safe_psql('postgres', 'BEGIN; ' . join('', map { "SELECT featstore.materialize('$_'); " } @groups) . 'COMMIT');
$back = poll_until(sub { redis_cmd($rport, undef, 'DBSIZE') >= $keys }, 20);
my $walks_s = time() - $t0;
ok($back, 'five walks done');
diag(sprintf('FLUSHALL + materialize() of 5 groups of 2000 entities, poll interval 3 s: %.0f ms', $walks_s * 1000));
cmp_ok($walks_s, '<', 3, 'in less than one poll interval for all five');
$sampler->finish;
my (%last, @idle_queued);
my $samples = 0;
for my $line (split /\n/, $sout)
{
	my ($i, $t, $g, $state, $depth) = $line =~ /^sample (\d+) (\S+) (\S+) (\S+) (\d+)$/ or next;
	$samples++;
	my $bad = $state eq 'idle' && $depth > 0;
	push @idle_queued, $line if $bad && $last{$g};
	$last{$g} = $bad;
}
cmp_ok($samples, '>', 100, "the status view was sampled ($samples group rows)");
is(join("\n", @idle_queued), '', 'worker_state never idle in two samples in a row while queue_depth > 0');
verify_zero($node, $_, "$_: no difference after the walks") for @groups;

# --- a walk of several chunks: the next chunk follows at once ---
$node->safe_psql('postgres', "ALTER SYSTEM SET featstore.online_batch_size = 250; SELECT pg_reload_conf()");
ok($node->poll_query_until('postgres', "SELECT current_setting('featstore.online_batch_size') = '250'"),
	'chunks of 250 entities');
sleep 1;	# the worker reads the setting at its next wake-up
redis_cmd($rport, undef, 'FLUSHALL');
$t0 = time();
$node->safe_psql('postgres', "SELECT featstore.materialize('$groups[0]')");
$back = poll_until(sub { redis_cmd($rport, undef, 'DBSIZE') >= 2000 }, 40);
my $chunks_s = time() - $t0;
ok($back, 'the eight-chunk walk is done');
diag(sprintf('materialize() of 2000 entities in chunks of 250, poll interval 3 s: %.0f ms', $chunks_s * 1000));
cmp_ok($chunks_s, '<', 3, 'its eight chunks take less than one poll interval');
verify_zero($node, $groups[0], "$groups[0]: no difference after the chunked walk");
$node->safe_psql('postgres', "ALTER SYSTEM RESET featstore.online_batch_size; SELECT pg_reload_conf()");

$node->stop;
stop_redis($rport);
done_testing();
