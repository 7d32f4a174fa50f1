# A stream of commits reaches Redis within a second; late rows, deleted
# winners, short TTLs and future-dated rows follow the point-in-time rule.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $rport = start_redis();
my $node = online_node('stream', $rport);

$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY customer (customer_id integer);
		CREATE FEATURE GROUP spend ENTITY customer
			FEATURES (total numeric 'Total spend', n bigint 'Purchases') TTL '1 day' ONLINE;
		CREATE FEATURE GROUP recent ENTITY customer
			FEATURES (last_item text 'Last item') TTL '2 seconds' ONLINE;
	$$)});

# commit to visible, one commit at a time, against an idle worker
my @lat;
for my $i (1 .. 40)
{
	my $c = $i % 10;
	my $key = "fs:postgres:{customer:$c}:spend";
	my $before = redis_cmd($rport, undef, 'GET', $key);
	$node->safe_psql('postgres',
		"INSERT INTO spend (customer_id, event_timestamp, total, n) VALUES ($c, now(), $i, $i)");
	my $t0 = time();
	poll_until(sub { redis_cmd($rport, undef, 'GET', $key) ne $before }, 5);
	push @lat, time() - $t0;
}
@lat = sort { $a <=> $b } @lat;
my $p50 = $lat[ int(@lat * 0.5) ];
my $max = $lat[-1];
diag(sprintf('commit to Redis: p50 %.1f ms, max %.1f ms (one commit at a time, idle worker)',
	$p50 * 1000, $max * 1000));
cmp_ok($max, '<', 1.0, 'every commit visible in Redis within one second');
wait_caught_up($node, 'stream');
verify_zero($node, 'spend');

# Redis forgetting the script (SCRIPT FLUSH, a failover) costs a reload, not a change
redis_cmd($rport, undef, 'SCRIPT', 'FLUSH');
$node->safe_psql('postgres',
	"INSERT INTO spend (customer_id, event_timestamp, total, n) SELECT c, now(), 0, 41 FROM generate_series(0, 9) c");
wait_caught_up($node, 'after SCRIPT FLUSH');
is($node->safe_psql('postgres', "SELECT features->>'n' FROM featstore.online_features('spend', '3')"),
	'41', 'written after the script was reloaded');
verify_zero($node, 'spend', 'no difference after SCRIPT FLUSH');
$node->safe_psql('postgres', "DELETE FROM spend WHERE n = 41");
wait_caught_up($node, 'undo');

# a late row with an older event_timestamp does not overwrite
$node->safe_psql('postgres',
	"INSERT INTO spend (customer_id, event_timestamp, total, n) VALUES (1, now() - interval '1 hour', -1, -1)");
wait_caught_up($node, 'late row');
is($node->safe_psql('postgres', "SELECT features->>'n' FROM featstore.online_features('spend', '1')"),
	'31', 'late older row did not overwrite the newest');
verify_zero($node, 'spend', 'no difference after a late row');

# deleting the winner restores the previous one, deleting all removes the key
$node->safe_psql('postgres', "DELETE FROM spend WHERE customer_id = 1 AND n = 31");
wait_caught_up($node, 'delete winner');
is($node->safe_psql('postgres', "SELECT features->>'n' FROM featstore.online_features('spend', '1')"),
	'21', 'previous winner restored');
$node->safe_psql('postgres', "DELETE FROM spend WHERE customer_id = 1");
wait_caught_up($node, 'delete all');
is(redis_cmd($rport, undef, 'EXISTS', 'fs:postgres:{customer:1}:spend'), '0', 'key removed with its last row');
verify_zero($node, 'spend', 'no difference after deletes');

# short TTL: the key expires at event_timestamp + TTL, like the offline join
$node->safe_psql('postgres',
	"INSERT INTO recent (customer_id, event_timestamp, last_item) VALUES (5, now(), 'tea')");
wait_caught_up($node, 'ttl row');
my $pttl = redis_cmd($rport, undef, 'PTTL', 'fs:postgres:{customer:5}:recent');
ok($pttl > 0 && $pttl <= 2000, "key carries the TTL ($pttl ms)");
verify_zero($node, 'recent', 'no difference before expiry');
ok(poll_until(sub { redis_cmd($rport, undef, 'EXISTS', 'fs:postgres:{customer:5}:recent') eq '0' }, 5),
	'key expired after the TTL');
verify_zero($node, 'recent', 'no difference after expiry');

# a row older than the TTL never reaches Redis
$node->safe_psql('postgres',
	"INSERT INTO recent (customer_id, event_timestamp, last_item) VALUES (6, now() - interval '3 seconds', 'old')");
wait_caught_up($node, 'expired row');
is(redis_cmd($rport, undef, 'EXISTS', 'fs:postgres:{customer:6}:recent'), '0', 'already-expired row not served');

# a future-dated row is served from its event_timestamp on
$node->safe_psql('postgres',
	"INSERT INTO spend (customer_id, event_timestamp, total, n) VALUES (2, clock_timestamp() + interval '1 second', 0, 1000)");
wait_caught_up($node, 'future row');
is($node->safe_psql('postgres', "SELECT features->>'n' FROM featstore.online_features('spend', '2')"),
	'32', 'future row not served early');
ok(poll_until(sub {
	$node->safe_psql('postgres', "SELECT features->>'n' FROM featstore.online_features('spend', '2')") eq '1000'
}, 5), 'future row served once current');
verify_zero($node, 'spend', 'no difference after the future row');

$node->stop;
stop_redis($rport);
done_testing();
