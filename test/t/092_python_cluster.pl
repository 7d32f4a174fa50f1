# The Python client against a real Redis Cluster of 3 masters on loopback
# ports (redis-server --cluster-enabled yes, redis-cli --cluster create).
# featstore's worker cannot write to a cluster yet (cluster13 builds that),
# so the worker fills a standalone Redis and the test copies every key to
# the cluster byte for byte with its PXAT expiry (GET + PEXPIRETIME, then SET
# ... PXAT).  The client, with a redis+cluster:// URL and with cluster=True,
# must then read through redis-py's RedisCluster exactly what an
# independent read of the standalone gives (test/python/client_online_check.py):
# 0 differences.  The keys spread over the three masters, an entity's groups
# share one slot (the hash tag), and a cluster that is down is
# RedisUnavailableError.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use FeatstorePython;
use IO::Socket::INET;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => '/usr/bin/python3 with psycopg2, redis, msgpack, pandas is needed'
  unless python_ok();

# cluster_port() is a free port whose cluster bus port (+10000) is free too
sub cluster_port
{
	for (1 .. 50)
	{
		my $p = PostgreSQL::Test::Cluster::get_free_port();
		next if $p + 10000 > 65535;
		my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p + 10000,
			Proto => 'tcp', ReuseAddr => 1);
		next unless $s;
		close $s;
		return $p;
	}
	die 'no free port pair for a cluster node';
}

my @ports = map { cluster_port() } 1 .. 3;
my @pids;
for my $p (@ports)
{
	my $dir = "$PostgreSQL::Test::Utils::tmp_check/cluster_$p";
	mkdir $dir;
	system('redis-server', '--bind', '127.0.0.1', '--port', $p, '--cluster-enabled', 'yes',
		'--cluster-config-file', "$dir/nodes.conf", '--save', '', '--appendonly', 'no',
		'--daemonize', 'yes', '--dir', $dir, '--pidfile', "$dir/redis.pid",
		'--logfile', "$dir/redis.log") == 0 or die "cannot start cluster node $p";
}
END
{
	for my $p (@ports)
	{
		my $f = "$PostgreSQL::Test::Utils::tmp_check/cluster_$p/redis.pid";
		next unless open my $fh, '<', $f;
		my $pid = <$fh>;
		chomp $pid;
		kill 'KILL', $pid if $pid;
	}
}
poll_until(sub { (redis_cmd($_, undef, 'PING') // '') eq 'PONG' or return 0 for @ports; 1 }, 10)
  or die 'cluster nodes did not answer';
my ($cout, $cerr) = ('', '');
IPC::Run::run([ 'redis-cli', '--cluster', 'create', (map { "127.0.0.1:$_" } @ports),
	'--cluster-replicas', '0', '--cluster-yes' ], '>', \$cout, '2>', \$cerr, IPC::Run::timeout(60))
  or die "cluster create: $cout $cerr";
ok(poll_until(sub { redis_cmd($_, undef, 'CLUSTER', 'INFO') =~ /cluster_state:ok/ or return 0 for @ports; 1 }, 30),
	'a 3-master cluster is up');

my $rport = start_redis();
my $node = online_node('pycluster', $rport);
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
wait_caught_up($node);
redis_cmd($rport, undef, 'SET', 'fs:{card:x:0}:spend', 'hello');    # invalid in both

my $copy = q{
import sys, redis
from redis.cluster import RedisCluster, ClusterNode
src = redis.Redis(port=int(sys.argv[1]))
dst = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", int(sys.argv[2]))])
n = same = ttl = 0
for k in src.scan_iter(match=b"fs:*", count=1000):
    v, pxat = src.get(k), src.execute_command("PEXPIRETIME", k)
    if pxat > 0:
        dst.set(k, v, pxat=pxat)
        ttl += 1
    else:
        dst.set(k, v)
    n += 1
    same += dst.get(k) == v and dst.execute_command("PEXPIRETIME", k) == pxat
print("copied", n, "identical", same, "with_expiry", ttl)
};
my ($rc, $out, $err) = run_python(args => [ '-c', $copy, $rport, $ports[0] ]);
my ($n, $same, $ttl) = $out =~ /^copied (\d+) identical (\d+) with_expiry (\d+)$/m;
ok(defined $n && $n > 30 && $same == $n && $ttl > 0,
	"the standalone's keys copied to the cluster byte for byte with their expiry ($n keys, $ttl with PXAT)")
  or diag("$out $err");
my @sizes = map { redis_cmd($_, undef, 'DBSIZE') } @ports;
ok(!grep({ $_ == 0 } @sizes), 'the keys spread over the three masters (' . join(', ', @sizes) . ')');
is(redis_cmd($ports[0], undef, 'CLUSTER', 'KEYSLOT', 'fs:{card:b2:2}:spend'),
	redis_cmd($ports[0], undef, 'CLUSTER', 'KEYSLOT', 'fs:{card:b2:2}:flags'),
	"an entity's groups share one slot");

my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';
my $std = "redis://127.0.0.1:$rport/0";
for my $url ("redis+cluster://127.0.0.1:$ports[1],127.0.0.1:$ports[2]", "redis://127.0.0.1:$ports[0]?cluster")
{
	my @env = $url =~ /\?cluster$/ ? (env => { FEATSTORE_TEST_CLUSTER => 1 }) : ();
	(my $u = $url) =~ s/\?cluster$//;
	($rc, $out, $err) = run_python(args => [ 'test/python/client_online_check.py', $dsn, $u, $std, '' ], @env);
	my ($checked, $found, $missing, $invalid, $diffs) =
	  $out =~ /^checked=(\d+) found=(\d+) missing=(\d+) invalid=(\d+) diffs=(\d+)$/m;
	diag("$out\n$err") if ($diffs // 1) != 0;
	is($diffs, 0, "through the cluster ($url): the client equals the standalone read "
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
$h->pump until $hout =~ /^cluster/m;
like($hout, qr/^cluster True \{'bank': \['b2'\], 'card_id': \[2\], 'dev_id': \['00000000-0000-0000-0000-000000001eef'\], 'total': \[[0-9.]+\], 'total__status': \['found'\], 'r': \[[0-9.]+\], 'r__status': \['found'\], 'blocked': \[False\], 'blocked__status': \['found'\], 'score': \[0\.5\], 'score__status': \['found'\]\}$/m,
	'a service read from the cluster') or diag($herr);
for my $p (@ports)
{
	my $f = "$PostgreSQL::Test::Utils::tmp_check/cluster_$p/redis.pid";
	open my $fh, '<', $f or next;
	my $pid = <$fh>;
	chomp $pid;
	kill 'KILL', $pid;
}
$in = "go\n";
$h->finish;
like($hout, qr/^down RedisUnavailableError redis is unavailable/m, 'a cluster that is down: RedisUnavailableError')
  or diag($herr);

$node->stop;
stop_redis($rport);
done_testing();
