# One online worker per database (issue 13): two databases created after
# the server started, with the same groups and the same entities but
# different values, share one Redis.  Each is served by its own worker
# (named in pg_stat_activity), each one's keys live under its namespace,
# each one's verify_online is clean, and a reader using the documented
# layout (redis-cli and msgpack, not featstore's read path) gets each
# database's own values.  set_online_namespace() then moves one database's
# keys and leaves the other's alone.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => '/usr/bin/python3 with msgpack is needed'
  unless system('/usr/bin/python3', '-c', 'import msgpack, redis') == 0;

my $rport = start_redis();
# every database where featstore is installed
my $node = online_node('perdb', $rport, "featstore.database = ''\n");
my $N = 200;

sub q_db { my ($db, $sql) = @_; return $node->safe_psql($db, $sql); }

sub caught_up
{
	my ($db) = @_;
	return $node->poll_query_until($db, q{
		SELECT NOT EXISTS (SELECT 1 FROM featstore.online_queue_depth())
		   AND (SELECT state FROM featstore.online_worker_status()) = 'idle'});
}

# read_v(key...) reads keys with redis-cli's protocol through redis-py and
# decodes the documented msgpack value: features.v per key, '-' if absent
sub read_v
{
	my @keys = @_;
	my $code = q{
import sys, msgpack, redis
r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]))
for raw in r.mget(sys.argv[2:]):
    print('-' if raw is None else msgpack.unpackb(raw, raw=False)['features']['v'])
};
	my ($out, $err) = ('', '');
	IPC::Run::run([ '/usr/bin/python3', '-c', $code, $rport, @keys ], '>', \$out, '2>', \$err,
		IPC::Run::timeout(30)) or die "reader failed: $err";
	chomp $out;
	return join(',', split /\n/, $out);
}

sub scan_count
{
	my ($pattern) = @_;
	my $out = redis_cmd($rport, undef, '--scan', '--pattern', $pattern);
	return scalar(grep { $_ ne '' } split /\n/, $out);
}

# two databases appear after the start; the same definitions in both
for my $db ('shop_a', 'shop_b')
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	my $base = $db eq 'shop_a' ? 1000 : 2000;
	q_db($db, qq{
		CREATE EXTENSION featstore;
		DO LANGUAGE featstore \$\$
			CREATE ENTITY acct (acct_id bigint);
			CREATE FEATURE GROUP bal ENTITY acct FEATURES (v bigint 'Balance') ONLINE;
		\$\$;
		INSERT INTO bal (acct_id, event_timestamp, v)
		SELECT g, now() - interval '1 minute', $base + g FROM generate_series(1, $N) g;
	});
}
for my $db ('shop_a', 'shop_b')
{
	ok(caught_up($db), "$db: its worker caught up");
	is(q_db($db, 'SELECT featstore.online_namespace()'), $db, "$db: the namespace is the database's name");
	is(q_db($db, "SELECT count(*) FROM featstore.verify_online('bal')"), '0', "$db: verify_online finds no difference");
}

# the workers, one per database, named in pg_stat_activity
my $workers = $node->safe_psql('postgres', q{
	SELECT string_agg(backend_type || ' / ' || datname || ' / ' || application_name, ', ' ORDER BY datname, backend_type)
	  FROM pg_stat_activity WHERE backend_type IN ('featstore online worker', 'featstore monitor')});
is($workers,
	'featstore monitor / postgres / featstore monitor postgres, featstore online worker / postgres / featstore online worker postgres, '
	. 'featstore monitor / shop_a / featstore monitor shop_a, featstore online worker / shop_a / featstore online worker shop_a, '
	. 'featstore monitor / shop_b / featstore monitor shop_b, featstore online worker / shop_b / featstore online worker shop_b',
	'an online worker and a monitor per database, each named after it');
for my $db ('shop_a', 'shop_b')
{
	is(q_db($db, 'SELECT worker_pid FROM featstore.materialization_status'),
		$node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE backend_type = 'featstore online worker' AND datname = '$db'"),
		"$db: its status shows its own worker");
}
is(q_db('shop_a', q{SELECT string_agg(database || '=' || state, ',' ORDER BY database) FROM featstore.online_databases()}),
	'postgres=served,shop_a=served,shop_b=served', 'online_databases() lists the three served databases');

# the documented layout: each database's values under its own namespace
is(scan_count('fs:shop_a:{acct:*}:bal'), $N, "redis-cli: $N keys under shop_a's namespace");
is(scan_count('fs:shop_b:{acct:*}:bal'), $N, "redis-cli: $N keys under shop_b's namespace");
is(scan_count('fs:{*'), 0, 'redis-cli: none in the legacy layout');
is(read_v('fs:shop_a:{acct:1}:bal', 'fs:shop_a:{acct:200}:bal', 'fs:shop_b:{acct:1}:bal', 'fs:shop_b:{acct:200}:bal'),
	'1001,1200,2001,2200', 'a reader with each namespace gets its database\'s values');

# a change in one database reaches its own keys only
q_db('shop_b', "INSERT INTO bal (acct_id, event_timestamp, v) VALUES (1, now(), 7)");
ok(caught_up('shop_b'), 'shop_b caught up after a write');
is(read_v('fs:shop_a:{acct:1}:bal', 'fs:shop_b:{acct:1}:bal'), '1001,7', 'only shop_b\'s value changed');

# set_online_namespace moves shop_a's keys; shop_b's stay
is(q_db('shop_a', "SELECT featstore.set_online_namespace('team:a')"), '1', 'shop_a moves one online group');
ok(caught_up('shop_a'), 'shop_a caught up after the move');
is(scan_count('fs:team%3Aa:{acct:*}:bal'), $N, "redis-cli: $N keys under the new namespace, escaped");
is(scan_count('fs:shop_a:*'), 0, 'redis-cli: the old namespace is empty');
is(read_v('fs:team%3Aa:{acct:5}:bal', 'fs:shop_b:{acct:5}:bal'), '1005,2005', 'values intact on both sides');
is(scan_count('fs:shop_b:{acct:*}:bal'), $N, "redis-cli: shop_b still has its $N keys");
is(q_db('shop_a', "SELECT count(*) FROM featstore.verify_online('bal')"), '0', 'shop_a: verify_online after the move');
is(q_db('shop_b', "SELECT count(*) FROM featstore.verify_online('bal')"), '0', 'shop_b: verify_online untouched');
is(q_db('shop_a', "SELECT redis_key FROM featstore.online_features('bal', '5')"), 'fs:team%3Aa:{acct:5}:bal',
	'online_features names the new key');

# a namespace another database uses, or another database's name, is refused
my ($ret, $out, $err) = $node->psql('shop_b', "SELECT featstore.set_online_namespace('team:a')");
like($err, qr/ERROR:  online namespace "team:a" is the namespace of database "shop_a"/,
	'set_online_namespace refuses the namespace of another served database');
($ret, $out, $err) = $node->psql('shop_b', "SELECT featstore.set_online_namespace('shop_a')");
like($err, qr/ERROR:  online namespace "shop_a" is the name of another database/,
	'and another database\'s name');

# two databases under one namespace all the same (as two databases updated
# from 0.2.0 both keep ''; here a superuser writes the registry row): the
# later one writes nothing and says why, the first keeps its keys
q_db('shop_b', "INSERT INTO featstore.online_namespace (is_default, namespace) VALUES (false, 'team:a')");
q_db('shop_b', "INSERT INTO bal (acct_id, event_timestamp, v) VALUES (5, now(), 55)");
ok($node->poll_query_until('shop_b',
	q{SELECT last_error LIKE 'online namespace "team:a" is already the namespace of database "shop_a"%' FROM featstore.online_worker_status()}),
	'shop_b\'s worker refuses to write under shop_a\'s namespace');
is(read_v('fs:team%3Aa:{acct:5}:bal'), '1005', 'shop_a\'s value is untouched');
is(q_db('shop_b', 'SELECT sum(entities) FROM featstore.online_queue'), '1', 'shop_b\'s change stays queued');
ok(count_log($node, qr/LOG:  featstore online worker: online namespace "team:a" is already the namespace of database "shop_a"/) >= 1,
	'and it is logged');
# the way out: the later database moves; its purge of the shared namespace
# is skipped, so the first database keeps every key
is(q_db('shop_b', "SELECT featstore.set_online_namespace('shop_b2')"), '1', 'shop_b moves to a namespace of its own');
ok(caught_up('shop_b'), 'and catches up');
is(scan_count('fs:team%3Aa:{acct:*}:bal'), $N, "redis-cli: shop_a still has its $N keys");
is(read_v('fs:shop_b2:{acct:5}:bal', 'fs:team%3Aa:{acct:5}:bal'), '55,1005', 'each database has its value');
is(scan_count('fs:shop_b2:{acct:*}:bal'), $N, "redis-cli: shop_b's $N keys under its new namespace");
ok(count_log($node, qr/LOG:  featstore online worker: the purge of feature group "bal" in online namespace "team:a" is skipped/) == 1,
	'the skipped purge is logged');
is(q_db('shop_a', "SELECT count(*) FROM featstore.verify_online('bal')"), '0', 'shop_a: verify_online');
is(q_db('shop_b', "SELECT count(*) FROM featstore.verify_online('bal')"), '0', 'shop_b: verify_online');

$node->stop;
done_testing();
