# The worker survives what goes wrong in one group.  A queue row it dies on
# (SIGKILL while the row is held busy: Redis pauses writes, so the push
# waits) is retried alone and parked after 3 attempts, with its error in
# materialization_status; the rows that shared its first batch are not
# parked, the other groups reach Redis, and materialize() retries it.  A
# group broken behind featstore's back (a feature column renamed) fails
# alone: another group stays fresh, the log holds a few lines, and fixing
# it logs the recovery once.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $rport = start_redis();
# a long Redis deadline: a paused write keeps the worker waiting, not failing
my $node = online_node('faults', $rport, "featstore.redis_timeout = '60s'\nrestart_after_crash = on\n");
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY item (id text);
		CREATE FEATURE GROUP poison ENTITY item FEATURES (v bigint 'Value') ONLINE;
		CREATE FEATURE GROUP good ENTITY item FEATURES (v bigint 'Value') ONLINE;
		CREATE FEATURE GROUP other ENTITY item FEATURES (v bigint 'Value') ONLINE;
		CREATE FEATURE GROUP broken ENTITY item FEATURES (v bigint 'Value') ONLINE;
	$$)});
$node->safe_psql('postgres',
	"INSERT INTO $_ (id, event_timestamp, v) SELECT 'i' || g, now() - interval '1 minute', g FROM generate_series(1, 500) g")
  for qw(poison good other broken);
wait_caught_up($node, 'initial load');

# attempts(kind, group) reads the attempts of a queue row
sub attempts
{
	my ($kind, $group) = @_;
	return $node->safe_psql('postgres',
		"SELECT attempts FROM featstore.online_queue WHERE kind = '$kind' AND group_name = '$group'");
}

# kill_busy_worker(attempts, what, how) waits until the worker, waiting on
# Redis, has counted that many attempts on the poison walk, then kills it:
# SIGKILL (a crash: the server restarts) or pg_terminate_backend (a FATAL
# exit: the worker alone restarts, after bgw_restart_time)
sub kill_busy_worker
{
	my ($n, $what, $how) = @_;
	ok($node->poll_query_until('postgres', qq{
		SELECT (SELECT attempts FROM featstore.online_queue WHERE kind = 'scan' AND group_name = 'poison') = $n
		   AND EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'featstore online worker'
					   AND query = 'featstore: writing to Redis')}),
		"attempt $n on the poison row is on record while the worker is busy with it$what");
	my $pid = $node->safe_psql('postgres', 'SELECT pid FROM featstore.online_worker_status()');
	if (($how // 'KILL') eq 'KILL')
	{
		kill 'KILL', $pid;
		ok($node->poll_query_until('postgres', 'SELECT true'), "server back after SIGKILL $n");
	}
	else
	{
		$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
		ok($node->poll_query_until('postgres',
			"SELECT pid IS NOT NULL AND pid <> $pid FROM featstore.online_worker_status()"),
			"worker restarted after pg_terminate_backend");
	}
}

# --- a row the worker dies on ---
redis_cmd($rport, undef, 'CLIENT', 'PAUSE', '600000', 'WRITE');
# one transaction: the walk's row comes first, good's captured row after it,
# so the first batch holds both
$node->safe_psql('postgres', q{
	BEGIN;
	SELECT featstore.materialize('poison');
	INSERT INTO good (id, event_timestamp, v) VALUES ('late', now(), 1);
	COMMIT});
kill_busy_worker(1, ', together with good\'s row');
is(attempts('keys', 'good'), '1', 'the row that shared the batch has one attempt too');
kill_busy_worker(2, ', alone');
is(attempts('keys', 'good'), '1', 'the other row was not in that attempt');
kill_busy_worker(3, ', alone', 'terminate');
my $poison_id = $node->safe_psql('postgres', "SELECT id FROM featstore.online_queue WHERE kind = 'scan' AND group_name = 'poison'");
ok(poll_until(sub { count_log($node,
	qr/the previous worker stopped in the middle of a batch of 1 queue row from id $poison_id \(feature group "poison"\)/) == 1 }, 10),
	'shared memory told the new worker which row its predecessor was on');
$node->safe_psql('postgres',
	"INSERT INTO other (id, event_timestamp, v) SELECT 'o' || g, now(), g FROM generate_series(1, 50) g");
ok($node->poll_query_until('postgres',
	"SELECT state = 'failed' FROM featstore.online_queue WHERE kind = 'scan' AND group_name = 'poison'"),
	'the poison row is parked after 3 attempts');
is($node->safe_psql('postgres',
	"SELECT parked, parked_error, queue_depth FROM featstore.materialization_status WHERE group_name = 'poison'"),
	'500|the worker died while processing this row|0', 'materialization_status shows it parked, with its error');
# a parked row's error may quote key values: a reader who cannot read the
# group's table sees that there is one, not what it says
$node->safe_psql('postgres', 'CREATE ROLE parked_reader IN ROLE featstore_reader');
is($node->safe_psql('postgres',
	"SET ROLE parked_reader; SELECT parked, parked_error FROM featstore.materialization_status WHERE group_name = 'poison'"),
	'500|<insufficient privilege>', 'a reader without SELECT on the table sees the parked error hidden');
$node->safe_psql('postgres', 'DROP ROLE parked_reader');
is($node->safe_psql('postgres', "SELECT state, attempts, last_error FROM featstore.online_queue WHERE id = $poison_id"),
	'failed|3|the worker died while processing this row', 'so does the queue');
like($node->safe_psql('postgres',
	"SELECT worker_state || ': ' || last_error FROM featstore.materialization_status WHERE group_name = 'poison'"),
	qr/^error: queue row \d+ parked: 3 attempts in a row did not finish/, 'and the group in error');
is(count_log($node, qr/feature group "poison": queue row \d+ parked/), 1, 'the parking is logged once');
redis_cmd($rport, undef, 'CLIENT', 'UNPAUSE');
wait_caught_up($node, 'the other rows after the parking');
is($node->safe_psql('postgres', "SELECT count(*) FROM featstore.online_queue WHERE group_name = 'good'"),
	'0', 'the row that shared the first batch was not parked: it reached Redis');
verify_zero($node, $_, "$_: no difference while poison is parked") for qw(good other);
sleep 1;
is($node->safe_psql('postgres', "SELECT state || ' ' || attempts FROM featstore.online_queue WHERE group_name = 'poison'"),
	'failed 3', 'a parked row is not retried');

# the user's action: materialize() takes the group's parked rows back
redis_cmd($rport, undef, 'DEL', 'fs:postgres:{item:i1}:poison');
$node->safe_psql('postgres', "SELECT featstore.materialize('poison')");
wait_caught_up($node, "materialize('poison')");
is($node->safe_psql('postgres',
	"SELECT parked, worker_state FROM featstore.materialization_status WHERE group_name = 'poison'"),
	'0|idle', 'nothing parked any more, the group is served');
verify_zero($node, 'poison', 'poison: no difference after materialize()');

# --- one group broken behind featstore's back fails alone ---
$node->safe_psql('postgres', q{
	SET session_replication_role = replica;
	ALTER TABLE broken RENAME COLUMN v TO v_renamed});
my $offset = -s $node->logfile;
my $t_break = time();
my @probe = ('/usr/bin/python3', 'test/python/online_probe.py', 'fresh', '--group', 'good', '--entity', 'item',
	'--writes', 50, '--gap-ms', 100,
	'--also', "INSERT INTO broken (id, event_timestamp, v_renamed) VALUES ('b' || clock_timestamp(), now(), 1)",
	'--pghost', $node->host, '--pgport', $node->port, '--redis-port', $rport);
my ($out, $err) = ('', '');
IPC::Run::run(\@probe, '>', \$out, '2>', \$err, IPC::Run::timeout(120));
diag($err) if $err ne '';
my ($n, $p50, $p99, $max) = $out =~ /fresh n=(\d+) p50=(\S+) p99=(\S+) max=(\S+)/;
diag(sprintf('good group while broken fails: commit to Redis p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d writes)',
	$p50, $p99, $max, $n));
is($n, 50, 'fifty writes to the good group');
cmp_ok($p99, '<', 1000, 'p99 freshness of the good group under 1 s');
is($node->safe_psql('postgres',
	"SELECT worker_state, last_error ~ 'v' FROM featstore.materialization_status WHERE group_name = 'broken'"),
	'error|t', 'the broken group shows its error');
ok($node->poll_query_until('postgres',
	"SELECT worker_state IN ('idle', 'pushing') AND queue_depth = 0 FROM featstore.materialization_status WHERE group_name = 'good'"),
	'the good group does not, and has nothing queued');
ok($node->safe_psql('postgres', "SELECT queue_depth > 0 FROM featstore.materialization_status WHERE group_name = 'broken'"),
	'the broken group keeps its changes queued');
usleep(1_000_000 * ($t_break + 10 - time())) if time() < $t_break + 10;
# lines of processes without a session: the worker (the clients' statements are logged too)
my @lines = grep { /^\S+ \S+ \S+ \[\d+\] [A-Z]+:  / && !/ statement: / } split /\n/, substr(slurp_file($node->logfile), $offset);
note($_) for @lines;
cmp_ok(scalar(@lines), '<=', 3, 'over 10 s the worker logged at most 3 lines (' . scalar(@lines) . ')');
is(scalar(grep { /feature group "broken" failed/ } @lines), 1, 'the failure is logged once');
unlike(join("\n", @lines), qr/SELECT|FROM/, 'no query text in the log');
verify_zero($node, 'good', 'good: no difference while broken fails');

# fixing the group: the recovery is logged once and it catches up
$offset = -s $node->logfile;
$node->safe_psql('postgres', q{
	SET session_replication_role = replica;
	ALTER TABLE broken RENAME COLUMN v_renamed TO v});
wait_caught_up($node, 'after the fix');
is(scalar(() = substr(slurp_file($node->logfile), $offset) =~ /feature group "broken" recovered/g), 1,
	'the recovery is logged once');
verify_zero($node, 'broken', 'broken: no difference after the fix');
is($node->safe_psql('postgres', "SELECT worker_state FROM featstore.materialization_status WHERE group_name = 'broken'"),
	'idle', 'the group is served again');
unlike(slurp_file($node->logfile), qr/terminated by signal (?!9)/, 'no crash but the test\'s own SIGKILLs');

# --- the next unknown cause: a key column's type changed behind featstore's
# back (issue 8, section 2), which crashed the index walk with signal 11 and
# restarted the server forever.  Whether the walk still dies on it (parked
# after 3 deaths) or refuses it cleanly (the group in error), the server
# stops restarting and the other groups flow ---
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY num (k text);
		CREATE FEATURE GROUP keyed ENTITY num FEATURES (v bigint 'Value') ONLINE;
	$$);
	INSERT INTO keyed (k, event_timestamp, v) SELECT g::text, now() - interval '1 minute', g FROM generate_series(1, 200) g});
wait_caught_up($node, 'keyed loaded');
$node->safe_psql('postgres', q{
	SET session_replication_role = replica;
	ALTER TABLE keyed ALTER COLUMN k TYPE bigint USING k::bigint});
# materialize() checks the table's shape first and refuses it by name; a walk
# queued by hand (as a Redis restart would queue one) reaches the worker,
# whose own check makes it the group's error, not a crash
my ($mrc, $mout, $merr) = $node->psql('postgres', "SELECT featstore.materialize('keyed')");
like($merr, qr/key column "k" of feature group "keyed" has type bigint, but the registry records text/,
	'materialize() refuses the changed key type by name');
$node->safe_psql('postgres',
	"INSERT INTO featstore.online_queue (group_name, kind, entities, force) VALUES ('keyed', 'scan', 200, true)");
ok($node->poll_query_until('postgres', q{
	SELECT EXISTS (SELECT FROM featstore.online_queue WHERE group_name = 'keyed' AND state = 'failed')
	    OR (SELECT worker_state = 'error' FROM featstore.materialization_status WHERE group_name = 'keyed')}),
	'the changed key type ends parked or in error');
is($node->safe_psql('postgres', "SELECT worker_state FROM featstore.materialization_status WHERE group_name = 'keyed'"),
	'error', '... in error, by the read-time check');
my $crashes = count_log($node, qr/terminated by signal (?!9)/);
is($crashes, 0, "no crash on it: the table is checked before it is read");
$node->safe_psql('postgres',
	"INSERT INTO other (id, event_timestamp, v) SELECT 'k' || g, now(), g FROM generate_series(1, 20) g");
# keyed stays in error with its walk queued, so wait for the other group alone
ok($node->poll_query_until('postgres',
	"SELECT queue_depth = 0 FROM featstore.materialization_status WHERE group_name = 'other'"),
	'the other group drains while keyed is in error');
verify_zero($node, 'other', 'other: no difference');
sleep 2;
is(count_log($node, qr/terminated by signal (?!9)/), $crashes, 'and no crash since');

$node->stop;
stop_redis($rport);
done_testing();
