# Redis Cluster (issue 13): the worker, materialize(), online_features and
# verify_online against a real cluster of 3 masters and 3 replicas, and a
# stream of commits while redis-cli --cluster reshard moves slots between
# masters.  featstore.redis_key_slot() agrees with CLUSTER KEYSLOT.  Reads
# are done with redis-cli -c and the documented key layout.
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

my @ports = start_cluster(node_timeout => 2000);
my @masters = cluster_masters($ports[0]);
is(scalar @masters, 3, 'three masters serve the slots');

# seeded by one replica's port and a list: any node will do
my $node = online_node('cluster', $ports[4], qq{
featstore.redis_cluster = on
featstore.redis_cluster_nodes = '127.0.0.1:$ports[1], 127.0.0.1:$ports[2]'
});

# the slot function against Redis' own, hash tags included
for my $k ('fs:{user:u1}:user_stats', 'foo', '123456789', '{user1000}.following',
	'foo{}{bar}', 'foo{{bar}}zap', 'foo{bar}{zap}', '{', '}{', "caf\x{e9}{\x{fc}}x", '')
{
	my $sql = $k;
	utf8::encode($sql);
	my $slot = $node->safe_psql('postgres', "SELECT featstore.redis_key_slot(\$k\$$sql\$k\$)");
	is($slot, cluster_cli($ports[0], 'CLUSTER', 'KEYSLOT', $sql), "redis_key_slot of '$sql'");
}
is($node->safe_psql('postgres', "SELECT featstore.redis_key_slot('123456789')"), '12739',
	'the CRC16/XMODEM check value (0x31C3)');
is($node->safe_psql('postgres', "SELECT featstore.redis_key_slot(NULL)"), '', 'strict');

$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY user (user_id text);
		CREATE FEATURE GROUP user_stats ENTITY user FEATURES (n bigint, score double precision) ONLINE;
		CREATE FEATURE GROUP user_flags ENTITY user FEATURES (blocked boolean) TTL '1 day' ONLINE;
	$$);
	INSERT INTO user_stats (user_id, event_timestamp, n, score)
		SELECT 'u' || i, now() - interval '1 hour', i, i / 4.0 FROM generate_series(1, 20000) i;
	INSERT INTO user_flags (user_id, event_timestamp, blocked)
		SELECT 'u' || i, now() - interval '1 hour', i % 2 = 0 FROM generate_series(1, 5000) i;
	INSERT INTO user_stats (user_id, event_timestamp, n, score) VALUES ('a:{b}', now(), 7, 0.5);
});
wait_caught_up($node, 'first fill');
is(cluster_dbsize($ports[0]), 25001, 'one key per entity and group, over the masters');
for my $m (@masters)
{
	cmp_ok(cluster_cli($m, 'DBSIZE'), '>', 5000, "master $m holds a share of the keys");
}
verify_zero($node, 'user_stats');
verify_zero($node, 'user_flags');
my $key = fs_key($node, 'user', ['a:{b}'], 'user_stats');
like($key, qr/\{user:a%3A%7Bb%7D\}:user_stats$/, 'the key escapes the entity as documented');
like(cluster_features($ports[0], $key), qr/^\d+ \{"n": 7, "score": 0\.5\}$/,
	'redis-cli -c reads the value under the documented key');
is($node->safe_psql('postgres',
	"SELECT status, features->>'n' FROM featstore.online_features('user_stats', 'a:{b}')"),
	'found|7', 'online_features reads it through the cluster');

# unforced writes: compare-and-set script calls, split per slot
$node->safe_psql('postgres', q{
	INSERT INTO user_stats (user_id, event_timestamp, n, score)
		SELECT 'u' || i, now() - interval '30 minutes', -i, 1 FROM generate_series(1, 3000) i;
	INSERT INTO user_stats (user_id, event_timestamp, n, score)
		SELECT 'u' || i, now() - interval '2 hours', 0, 0 FROM generate_series(1, 100) i;
});
wait_caught_up($node, 'compare-and-set stream');
is(cluster_features($ports[0], fs_key($node, 'user', ['u42'], 'user_stats')) =~ s/^\d+ //r,
	'{"n": -42, "score": 1.0}', 'the newer row won; the older one was refused by the script');
my $skipped = $node->safe_psql('postgres',
	"SELECT stale_skipped FROM featstore.materialization_status WHERE group_name = 'user_stats'");
is($skipped, '100', 'the 100 entities queued again by older rows: the script kept the newer value');
verify_zero($node, 'user_stats');

my %id = map { $_ => cluster_cli($_, 'CLUSTER', 'MYID') } @masters;

# ASK and MOVED, one slot migrated by hand: a new entity's key in a slot
# that is MIGRATING is refused with ASK by its old master and written to the
# new one after ASKING; once the slot belongs to the new master, the next
# write is refused with MOVED and follows it
my $ask_key = fs_key($node, 'user', ['ask1'], 'user_stats');
my $ask_slot = $node->safe_psql('postgres', "SELECT featstore.redis_key_slot('$ask_key')");
my ($src) = grep { cluster_cli($_, 'GET', $ask_key) !~ /MOVED/ } @masters;
my ($dst) = grep { $_ != $src } @masters;
sub asking_calls
{
	my ($port) = @_;
	return cluster_cli($port, 'INFO', 'commandstats') =~ /cmdstat_asking:calls=(\d+)/ ? $1 : 0;
}
my $asking_before = asking_calls($dst);
is(cluster_cli($dst, 'CLUSTER', 'SETSLOT', $ask_slot, 'IMPORTING', $id{$src}), 'OK', 'slot importing');
is(cluster_cli($src, 'CLUSTER', 'SETSLOT', $ask_slot, 'MIGRATING', $id{$dst}), 'OK', 'slot migrating');
$node->safe_psql('postgres',
	"INSERT INTO user_stats (user_id, event_timestamp, n, score) VALUES ('ask1', now(), 1, 1)");
wait_caught_up($node, 'a write into a migrating slot');
is(cluster_cli($dst, 'CLUSTER', 'COUNTKEYSINSLOT', $ask_slot), '1', 'ASK: the key went to the importing master');
is(asking_calls($dst) - $asking_before, 1, 'after one ASKING');
for my $k (split /\n/, cluster_cli($src, 'CLUSTER', 'GETKEYSINSLOT', $ask_slot, '1000'))
{
	cluster_cli($src, 'MIGRATE', '127.0.0.1', $dst, $k, '0', '5000');
}
cluster_cli($_, 'CLUSTER', 'SETSLOT', $ask_slot, 'NODE', $id{$dst}) for @masters;
cluster_ok(\@ports, 30);
$node->safe_psql('postgres',
	"INSERT INTO user_stats (user_id, event_timestamp, n, score) VALUES ('ask1', now(), 2, 2)");
wait_caught_up($node, 'a write after the slot moved');
like(cluster_features($src, $ask_key), qr/^\d+ \{"n": 2, "score": 2\.0\}$/,
	'MOVED: the new value is on the new master (read with redis-cli -c)');
is(cluster_cli($src, 'CLUSTER', 'COUNTKEYSINSLOT', $ask_slot), '0', 'nothing left on the old master');
is(asking_calls($dst) - $asking_before, 1, 'no ASKING for a moved slot');
verify_zero($node, 'user_stats');

# a stream of commits while slots move from the first master to the others
my $slot_u1 = $node->safe_psql('postgres',
	"SELECT featstore.redis_key_slot('" . fs_key($node, 'user', ['u1'], 'user_stats') . "')");
sub reshard
{
	my ($from, $to, $slots) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ 'redis-cli', '--cluster', 'reshard', "127.0.0.1:$from",
		'--cluster-from', $id{$from}, '--cluster-to', $id{$to}, '--cluster-slots', $slots,
		'--cluster-yes', '--cluster-pipeline', '10' ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(300));
	return ($h, \$out, \$err);
}
my $commits = 0;
my $start = time();
for my $round ([ $masters[0], $masters[1], 3000 ], [ $masters[1], $masters[2], 2500 ])
{
	# the previous round's slot map must have reached every node first
	ok(cluster_agreed($round->[0], 60), "the nodes agree on the slots before moving $round->[2]");
	my ($h, $out, $err) = reshard(@$round);
	while ($h->pumpable)
	{
		my $c = $commits++;
		$node->safe_psql('postgres', qq{
			INSERT INTO user_stats (user_id, event_timestamp, n, score)
				SELECT 'u' || (1 + (i * 7919 + $c * 104729) % 20000), now(), $c, i
				  FROM generate_series(1, 200) i ON CONFLICT DO NOTHING;
			DELETE FROM user_flags WHERE user_id IN
				(SELECT 'u' || (1 + (i * 31 + $c * 977) % 5000) FROM generate_series(1, 20) i);
			UPDATE user_flags SET blocked = NOT blocked, created_at = clock_timestamp()
			 WHERE user_id IN (SELECT 'u' || (1 + (i * 13 + $c * 331) % 5000) FROM generate_series(1, 20) i);
		});
		eval { $h->pump_nb };
	}
	ok($h->finish, "reshard of $round->[2] slots from $round->[0] to $round->[1]")
	  or diag("$$out $$err");
}
diag(sprintf('%d commits during the reshards (%.1f s)', $commits, time() - $start));
cmp_ok($commits, '>', 10, 'commits ran while slots moved');
cluster_ok(\@ports, 30);
my @owners = map { cluster_cli($_, 'CLUSTER', 'COUNTKEYSINSLOT', $slot_u1) } @masters;
diag("keys of slot $slot_u1 per master after the reshards: @owners");
my $asking = 0;
for my $m (@masters)
{
	$asking += $1 if cluster_cli($m, 'INFO', 'commandstats') =~ /cmdstat_asking:calls=(\d+)/;
}
diag("ASKING calls the masters answered: $asking");

wait_caught_up($node, 'after the reshards');
my $expect = $node->safe_psql('postgres', q{
	SELECT (SELECT count(DISTINCT user_id) FROM user_stats)
	     + (SELECT count(DISTINCT user_id) FROM user_flags)});
is(cluster_dbsize($ports[0]), $expect, 'one key per entity with a row, none lost, none stale');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM featstore.verify_online('user_stats', 100000)"), '0',
	'verify_online(user_stats) = 0 over every key after the reshards');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM featstore.verify_online('user_flags', 100000)"), '0',
	'verify_online(user_flags) = 0 after the reshards');
my ($last_id, $last_n) = split /\|/, $node->safe_psql('postgres', q{
	SELECT user_id, n FROM user_stats ORDER BY event_timestamp DESC, created_at DESC LIMIT 1});
like(cluster_features($ports[2], fs_key($node, 'user', [$last_id], 'user_stats')),
	qr/"n": $last_n,/, 'the last commit is in Redis under the documented key');

# materialize() rewrites every entity over the moved slots; the purge walks
# every master (SCAN with a cursor per node)
is($node->safe_psql('postgres', "SELECT featstore.materialize('user_stats')"), '20002',
	'materialize() counts the entities');
wait_caught_up($node, 'materialize');
verify_zero($node, 'user_stats');
$node->safe_psql('postgres', "SELECT * FROM featstore.exec('ALTER FEATURE GROUP user_flags SET OFFLINE')");
wait_caught_up($node, 'the purge');
is(cluster_dbsize($ports[0]), 20002, 'SET OFFLINE purged the group on every master');
is(count_log($node, qr/server process .* was terminated|terminated by signal/), 0, 'no crash');

# settings a cluster cannot honour are clear errors, in a new session
sub fresh_error
{
	my ($conf, $what) = @_;
	$node->safe_psql('postgres', $_) for @$conf;
	$node->reload;
	my ($rc, $out, $err) = $node->psql('postgres',
		"SELECT status FROM featstore.online_features('user_stats', 'u1')");
	$node->safe_psql('postgres', 'ALTER SYSTEM RESET ALL');
	$node->reload;
	return $err;
}
like(fresh_error([ 'ALTER SYSTEM SET featstore.redis_db = 1' ]),
	qr/a Redis Cluster has database 0 only: set featstore.redis_db to 0/, 'redis_db 1 with a cluster');
my $plain = start_redis();
like(fresh_error([ "ALTER SYSTEM SET featstore.redis_port = $plain",
		"ALTER SYSTEM SET featstore.redis_cluster_nodes = ''" ]),
	qr/Redis at 127\.0\.0\.1:$plain is not usable as a Redis Cluster node \(featstore.redis_cluster\): ERR This instance has cluster support disabled/,
	'redis_cluster = on against a standalone Redis names the server and the setting');
is($node->safe_psql('postgres',
	"SELECT status FROM featstore.online_features('user_stats', 'u1')"), 'found',
	'and the cluster is used again once the settings are back');

$node->stop;
done_testing();
