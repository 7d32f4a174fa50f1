# The Python client against a real Redis Cluster (test/perl/FeatstoreCluster.pm:
# 3 masters and 3 replicas on loopback ports) that featstore's own worker
# fills: a PostgreSQL with featstore.redis_cluster = on, seeded by one node
# and featstore.redis_cluster_nodes.  After the worker's writes and
# materialize() of every group, verify_online finds no difference.  The
# client, with a redis+cluster:// URL and with cluster=True, must then read
# exactly what an independent read gives (test/python/client_online_check.py:
# its own keys from the prefix and featstore.online_namespace(), raw GETs one
# key at a time through redis-py's RedisCluster, msgpack decoded there) and
# what featstore.online_features() says: 0 differences.  A few values are
# also read with redis-cli -c.  The keys spread over the three masters, an
# entity's groups share one slot (the hash tag), and a cluster that is down
# is RedisUnavailableError.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use FeatstoreCluster;
use FeatstorePython;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => '/usr/bin/python3 with psycopg2, redis, msgpack, pandas is needed'
  unless python_ok();

my @ports = start_cluster();
my @masters = cluster_masters($ports[0]);
is(scalar @masters, 3, 'a cluster of three masters (and three replicas) is up');

my $node = online_node('pycluster', $ports[3], qq{
featstore.redis_cluster = on
featstore.redis_cluster_nodes = '127.0.0.1:$ports[1]'
});
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY card (bank text, card_id bigint);
		CREATE ENTITY dev (dev_id uuid);
		CREATE FEATURE GROUP spend ENTITY card FEATURES (total double precision, n bigint,
			note text, ok boolean, seen timestamptz, r real, num numeric, arr integer[],
			small integer) TTL '1 day' ONLINE;
		CREATE FEATURE GROUP flags ENTITY card FEATURES (blocked boolean) TTL '1 hour' ONLINE;
		CREATE FEATURE GROUP devg ENTITY dev FEATURES (score double precision) ONLINE;
		CREATE FEATURE SERVICE m FEATURES (spend.total, spend.r, flags.blocked, devg.score);
	$$);
	CREATE TABLE texts AS SELECT * FROM unnest(ARRAY['b:1', 'b2', '', 'x{y}%', 'a,b',
		'q"uote', E'line\nbreak', '\N', 'x']) t(s);
	INSERT INTO spend
	SELECT t.s, c, now() - (c * 7 + g) * interval '1 hour', now(),
	       CASE WHEN g = 1 THEN 'NaN' ELSE round((random() * 1000)::numeric, 3)::float8 END,
	       (random() * 1e12)::bigint, t.s, random() < 0.5,
	       now() - random() * interval '900 days', (random() * 10)::real,
	       round((random() * 1e6)::numeric, 4), ARRAY[g, NULL, -1], g
	  FROM texts t, generate_series(0, 3) c, generate_series(0, 2) g;
	INSERT INTO flags SELECT s, 1, now() - interval '2 hours', now(), true FROM texts;
	INSERT INTO flags SELECT s, 2, now() - interval '50 minutes', now(), false FROM texts;
	INSERT INTO devg VALUES (('00000000-0000-0000-0000-' || lpad(to_hex(7919), 12, '0'))::uuid, now(), now(), 0.5);
});
wait_caught_up($node, 'the worker wrote to the cluster');
for my $g (qw(spend flags devg))
{
	$node->safe_psql('postgres', "SELECT featstore.materialize('$g')");
}
wait_caught_up($node, 'materialize() of every group');
verify_zero($node, $_, "verify_online('$_') against the cluster: no difference") for qw(spend flags devg);

my $ns = $node->safe_psql('postgres', 'SELECT featstore.online_namespace()');
is($ns, 'postgres', "the namespace is the database's name");
is(fs_key($node, 'card', [ 'x{y}%', 0 ], 'spend'), 'fs:postgres:{card:x%7By%7D%25:0}:spend',
	'the documented key, escaped');
# redis-cli -c (it follows MOVED) reads what the worker wrote
like(cluster_features($ports[2], fs_key($node, 'dev', [ '00000000-0000-0000-0000-000000001eef' ], 'devg')),
	qr/^\d+ \{"score": 0\.5\}$/, 'redis-cli -c: the dev key holds its value');
like(cluster_features($ports[0], fs_key($node, 'card', [ 'b2', 2 ], 'flags')),
	qr/^\d+ \{"blocked": false\}$/, 'redis-cli -c: a flags key holds its value');
is(cluster_features($ports[0], fs_key($node, 'card', [ 'b2', 1 ], 'flags')), 'nil',
	'redis-cli -c: a value past its TTL is not there');
my @sizes = map { cluster_cli($_, 'DBSIZE') } @masters;
ok(!grep({ $_ == 0 } @sizes), 'the keys spread over the three masters (' . join(', ', @sizes) . ')');
is(cluster_cli($ports[0], 'CLUSTER', 'KEYSLOT', fs_key($node, 'card', [ 'b2', 2 ], 'spend')),
	cluster_cli($ports[0], 'CLUSTER', 'KEYSLOT', fs_key($node, 'card', [ 'b2', 2 ], 'flags')),
	"an entity's groups share one slot");

# a value that is not featstore's
my ($sout, $serr) = ('', '');
IPC::Run::run([ 'redis-cli', '-c', '-h', '127.0.0.1', '-p', $ports[0], 'SET',
	fs_key($node, 'card', [ 'x', 0 ], 'spend'), 'hello' ], '>', \$sout, '2>', \$serr);
is($sout, "OK\n", 'redis-cli -c: a value that is not featstore\'s planted');

my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';
my $oracle = "cluster:127.0.0.1:$ports[2]";
my ($rc, $out, $err);
for my $url ("redis+cluster://127.0.0.1:$ports[1],127.0.0.1:$ports[2]", "redis://127.0.0.1:$ports[0]?cluster")
{
	my @env = $url =~ /\?cluster$/ ? (env => { FEATSTORE_TEST_CLUSTER => 1 }) : ();
	(my $u = $url) =~ s/\?cluster$//;
	($rc, $out, $err) = run_python(args => [ 'test/python/client_online_check.py', $dsn, $u, $oracle, $ns ], @env);
	my ($checked, $found, $missing, $invalid, $diffs) =
	  $out =~ /^checked=(\d+) found=(\d+) missing=(\d+) invalid=(\d+) diffs=(\d+)$/m;
	diag("$out\n$err") if ($diffs // 1) != 0;
	is($diffs, 0, "through the cluster ($url): the client equals the independent read and online_features "
		  . "($checked values: $found found, $missing missing, $invalid invalid)");
	ok(($found // 0) > 100 && ($missing // 0) > 100 && ($invalid // 0) >= 9, 'every status is exercised');
}

my $probe = q{
import sys, featstore
s = featstore.FeatureStore(sys.argv[1], redis_url=sys.argv[2])
r = s.get_online_features("m", [{"bank": "b2", "card_id": 2, "dev_id": "00000000-0000-0000-0000-000000001eef"}])
print("cluster", s.is_cluster, r.to_dict(include_status=True))
sys.stdout.flush(); sys.stdin.readline()
try:
    s.get_online_features("m", [{"bank": "b2", "card_id": 2, "dev_id": "00000000-0000-0000-0000-000000001eef"}])
    print("down no error")
except Exception as e:
    print("down", type(e).__name__, str(e)[:60])
};
my $h = IPC::Run::start([ '/usr/bin/python3', '-c', $probe, $dsn, "redis+cluster://127.0.0.1:$ports[0]" ],
	'<', \my $in, '>', \my $hout, '2>', \my $herr,
	init => sub { $ENV{PYTHONPATH} = install_client(); $ENV{PYTHONSAFEPATH} = 1 },
	IPC::Run::timeout(120));
$h->pump until $hout =~ /^cluster .*\n/m;    # the whole line
like($hout, qr/^cluster True \{'bank': \['b2'\], 'card_id': \[2\], 'dev_id': \['00000000-0000-0000-0000-000000001eef'\], 'total': \[[0-9.]+\], 'total__status': \['found'\], 'r': \[[0-9.]+\], 'r__status': \['found'\], 'blocked': \[False\], 'blocked__status': \['found'\], 'score': \[0\.5\], 'score__status': \['found'\]\}$/m,
	'a service read from the cluster') or diag($herr);
stop_cluster_node($_) for @ports;
$in = "go\n";
$h->finish;
like($hout, qr/^down RedisUnavailableError redis is unavailable/m, 'a cluster that is down: RedisUnavailableError')
  or diag($herr);

$node->stop;
done_testing();
