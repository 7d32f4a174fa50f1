# Redis Cluster faults (issue 13), on a real cluster of 3 masters and 3
# replicas: a master killed during a stream of commits (its replica is
# promoted), then the whole cluster restarted empty.  Each ends with
# verify_online = 0 and the values read with redis-cli -c under the
# documented key layout.  Last, a window group's keys expire through the
# new cluster.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use FeatstoreCluster;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

plan skip_all => '/usr/bin/python3 with msgpack is needed'
  unless system('/usr/bin/python3', '-c', 'import msgpack') == 0;

my @ports = start_cluster(node_timeout => 1000);
my @masters = cluster_masters($ports[0]);
my $victim = $masters[0];

# auto-detected, seeded by the master that will die, and one more seed: a
# new backend finds the cluster through it after the failover
my $node = online_node('faults', $victim, qq{
featstore.redis_cluster = auto
featstore.redis_cluster_nodes = '127.0.0.1:$ports[4]'
});
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY card (card_id bigint);
		CREATE FEATURE GROUP card_spend ENTITY card FEATURES (total double precision, n bigint) ONLINE;
		CREATE FEATURE GROUP card_risk ENTITY card FEATURES (risk real) TTL '1 day' ONLINE;
	$$);
	INSERT INTO card_spend (card_id, event_timestamp, total, n)
		SELECT i, now() - interval '1 hour', i, 1 FROM generate_series(1, 10000) i;
	INSERT INTO card_risk (card_id, event_timestamp, risk)
		SELECT i, now() - interval '1 hour', 0.5 FROM generate_series(1, 3000) i;
});
wait_caught_up($node, 'first fill');
is(cluster_dbsize($ports[0]), 13000, 'every key written over the three masters');
verify_zero($node, 'card_spend');

# commit(c) writes a new value for 100 cards and one risk, and returns
sub commit
{
	my ($c) = @_;
	$node->safe_psql('postgres', qq{
		INSERT INTO card_spend (card_id, event_timestamp, total, n)
			SELECT 1 + (i * 7919 + $c * 101) % 10000, now(), $c, $c FROM generate_series(1, 100) i;
		INSERT INTO card_risk (card_id, event_timestamp, risk) VALUES (1 + $c % 3000, now(), $c);
	});
}

# --- a master killed in the middle of a stream of commits
my $c = 0;
commit($c++) for 1 .. 20;
my $kill_at = time();
stop_cluster_node($victim, 'KILL');
my @alive = grep { $_ != $victim } @ports;
while (time() - $kill_at < 6)
{
	commit($c++);
	usleep(20_000);
}
ok(cluster_ok(\@alive, 30), 'the cluster is ok again: the replica was promoted');
my @new_masters = cluster_masters($alive[0]);
is(scalar @new_masters, 3, 'three masters again');
ok(!grep({ $_ == $victim } @new_masters), 'the killed master is not one of them');
commit($c++) for 1 .. 20;
ok(poll_until(sub {
	$node->safe_psql('postgres', q{
		SELECT NOT EXISTS (SELECT 1 FROM featstore.online_queue_depth())
		   AND (SELECT state FROM featstore.online_worker_status()) = 'idle'}) eq 't'
}, 60), 'the worker caught up after the failover');
diag("$c commits, the master killed after 20 of them");
is(count_log($node, qr/Redis is a new process .* rematerializing 2 online groups/), 1,
	'a new master (a new run_id among the masters) rematerializes every group once');
wait_caught_up($node, 'after the rematerialization');
is(cluster_dbsize($alive[0]), 13000, 'no key lost, none added');
is($node->safe_psql('postgres', "SELECT count(*) FROM featstore.verify_online('card_spend', 100000)"),
	'0', 'verify_online(card_spend) = 0 after the failover');
is($node->safe_psql('postgres', "SELECT count(*) FROM featstore.verify_online('card_risk', 100000)"),
	'0', 'verify_online(card_risk) = 0 after the failover');
my $last = $c - 1;
my $card = 1 + (1 * 7919 + $last * 101) % 10000;
like(cluster_features($alive[0], fs_key($node, 'card', [$card], 'card_spend')),
	qr/"n": $last,/, 'the last commit reads back with redis-cli -c');

# --- the whole cluster restarted empty, on the same ports
$node->safe_psql('postgres', "SELECT 1");
stop_cluster_node($_, 'KILL') for @alive;
start_cluster_node($_, node_timeout => 1000) for @ports;
FeatstoreCluster::create_cluster(@ports);
ok(poll_until(sub { cluster_dbsize($ports[0]) == 13000 }, 60),
	'every key is back in the new, empty cluster');
wait_caught_up($node, 'after the restart');
verify_zero($node, 'card_spend', 'verify_online(card_spend) = 0 after the restart');
verify_zero($node, 'card_risk', 'verify_online(card_risk) = 0 after the restart');
commit($c++);
wait_caught_up($node, 'a commit after the restart');
$last = $c - 1;
$card = 1 + (5 * 7919 + $last * 101) % 10000;
like(cluster_features($ports[3], fs_key($node, 'card', [$card], 'card_spend')),
	qr/"n": $last,/, 'a new commit reads back with redis-cli -c');
is($node->safe_psql('postgres',
	"SELECT status, features->>'n' FROM featstore.online_features('card_spend', '$card')"),
	"found|$last", 'online_features reads it through the new cluster');
# window expiry through the cluster: a group FROM a source, whose keys the
# worker writes with PXAT and removes at their due time
$node->safe_psql('postgres', q{
	CREATE TABLE events (acct_id bigint, event_time timestamptz, amount double precision);
	SELECT * FROM featstore.exec($$
		CREATE ENTITY acct (acct_id bigint);
		CREATE FEATURE GROUP acct_2s ENTITY acct FROM events TIMESTAMP event_time
			FEATURES (c bigint AS count(*) OVER '2 seconds', s double precision AS sum(amount) OVER '2 seconds') ONLINE;
	$$);
	INSERT INTO events SELECT i, now(), i FROM generate_series(1, 300) i;
});
wait_caught_up($node, 'a source group');
is(cluster_dbsize($ports[0]), 13300, 'one key per account with an event in the window');
like(cluster_features($ports[1], fs_key($node, 'acct', [42], 'acct_2s')), qr/"c": 1, "s": 42\.0/,
	'its value reads back with redis-cli -c');
verify_zero($node, 'acct_2s');
ok(poll_until(sub { cluster_dbsize($ports[0]) == 13000 }, 20), 'the window emptied: every key gone');
is(cluster_features($ports[1], fs_key($node, 'acct', [42], 'acct_2s')), 'nil', 'absent, as documented');
verify_zero($node, 'acct_2s', 'verify_online(acct_2s) = 0 once the window is empty');

is(count_log($node, qr/server process .* was terminated|terminated by signal/), 0, 'no crash');

$node->stop;
done_testing();
