# PostgreSQL restarts and crashes with changes queued, a SIGKILL of the
# worker, SIGTERM latency, and concurrent writers whose commits land out of
# timestamp order.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $rport = start_redis();
my $node = online_node('restarts', $rport, "restart_after_crash = on\n");
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY account (account_id bigint, region text);
		CREATE FEATURE GROUP balance ENTITY account
			FEATURES (amount numeric 'Balance', currency text 'Currency') TTL '7 days' ONLINE;
	$$)});
sub worker_pid
{
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'featstore online worker'");
}

# --- restart PostgreSQL (fast, then immediate) with changes queued ---
stop_redis($rport);
$node->safe_psql('postgres', q{
	INSERT INTO balance (account_id, region, event_timestamp, amount, currency)
	SELECT g % 100, 'eu', now() - (g || ' seconds')::interval, g, 'EUR' FROM generate_series(1, 1000) g});
$node->restart;
is($node->safe_psql('postgres', 'SELECT sum(entities) FROM featstore.online_queue'), '1000',
	'the queue survived a restart');
$node->safe_psql('postgres', q{
	INSERT INTO balance (account_id, region, event_timestamp, amount, currency)
	SELECT g, 'us', now(), g, 'USD' FROM generate_series(1, 50) g});
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', 'SELECT sum(entities) FROM featstore.online_queue'), '1050',
	'the queue survived a crash');
start_redis(port => $rport);
wait_caught_up($node, 'after the restarts');
verify_zero($node, 'balance', 'no difference after restarts with changes queued');

# --- SIGTERM stops the worker within a second (it is restarted afterwards) ---
my $pid = worker_pid();
my $t0 = time();
kill 'TERM', $pid;
ok(poll_until(sub { !kill(0, $pid) }, 5), 'worker exited after SIGTERM');
my $stop_s = time() - $t0;
cmp_ok($stop_s, '<', 1.0, sprintf('worker stopped in %.0f ms', $stop_s * 1000));
ok(poll_until(sub { my $p = worker_pid(); $p ne '' && $p ne $pid }, 15), 'worker restarted');

# --- SIGKILL of the worker in the middle of a stream loses nothing ---
for my $i (1 .. 20)
{
	if ($i == 10)
	{
		$pid = worker_pid();
		kill 'KILL', $pid if $pid;
		# the postmaster treats it as a crash and reinitializes
		ok($node->poll_query_until('postgres', 'SELECT true'), 'server back after the SIGKILL');
	}
	$node->safe_psql('postgres',
		"INSERT INTO balance (account_id, region, event_timestamp, amount, currency) VALUES ($i, 'eu', now(), $i * 10, 'EUR')");
}
wait_caught_up($node, 'after the SIGKILL');
verify_zero($node, 'balance', 'no difference after a SIGKILL of the worker');

# --- concurrent writers commit out of timestamp order ---
my $a = $node->background_psql('postgres');
my $b = $node->background_psql('postgres');
# A writes the newer row first but commits last
$a->query_safe("BEGIN");
$a->query_safe("INSERT INTO balance VALUES (500, 'eu', now() - interval '1 minute', DEFAULT, 2, 'new')");
$b->query_safe("INSERT INTO balance VALUES (500, 'eu', now() - interval '2 minutes', DEFAULT, 1, 'old')");
wait_caught_up($node, 'older row committed first');
is($node->safe_psql('postgres', "SELECT features->>'currency' FROM featstore.online_features('balance', '500', 'eu')"),
	'old', 'only the committed row is visible');
$a->query_safe("COMMIT");
wait_caught_up($node, 'newer row committed last');
is($node->safe_psql('postgres', "SELECT features->>'currency' FROM featstore.online_features('balance', '500', 'eu')"),
	'new', 'newer row wins when committed last');
# B writes the older row and commits after A's newer row is in Redis
$b->query_safe("BEGIN");
$b->query_safe("INSERT INTO balance VALUES (501, 'eu', now() - interval '5 minutes', DEFAULT, 1, 'old')");
$a->query_safe("INSERT INTO balance VALUES (501, 'eu', now() - interval '1 minute', DEFAULT, 2, 'new')");
wait_caught_up($node, 'newer row committed first');
$b->query_safe("COMMIT");
wait_caught_up($node, 'older row committed last');
is($node->safe_psql('postgres', "SELECT features->>'currency' FROM featstore.online_features('balance', '501', 'eu')"),
	'new', 'older row committed last does not regress the value');
$a->quit;
$b->quit;

# many writers at once, random event times, a few hot entities
my $script = "$PostgreSQL::Test::Utils::tmp_check/writers.sql";
open my $fh, '>', $script or die;
print $fh q{\set id random(1, 20)
\set back random(0, 3600)
INSERT INTO balance VALUES (:id, 'eu', now() - (:back || ' seconds')::interval, DEFAULT, :back, 'EUR');
};
close $fh;
$node->command_ok(
	[ 'pgbench', '-n', '-c', '4', '-j', '2', '-T', '3', '-f', $script, '-d', 'postgres' ],
	'four concurrent writers for three seconds');
wait_caught_up($node, 'after the concurrent writers');
verify_zero($node, 'balance', 'no difference after concurrent out-of-order writers');

$node->stop;
stop_redis($rport);
done_testing();
