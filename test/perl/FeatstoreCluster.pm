# FeatstoreCluster: a real Redis Cluster for the TAP tests (issue 13): six
# redis-server processes on free loopback ports, made 3 masters and 3
# replicas by redis-cli --cluster create.  Also the documented key layout,
# computed from the settings as a client would, and reads with redis-cli -c.
package FeatstoreCluster;

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use FeatstoreOnline qw(poll_until);

our @EXPORT = qw(start_cluster start_cluster_node stop_cluster_node cluster_cli
  cluster_ok cluster_agreed cluster_masters cluster_dbsize fs_key cluster_get_exists cluster_features);

# cluster nodes this test started, killed at exit even if the test dies
my %started;
END
{
	stop_cluster_node($_) for keys %started;
}

# start_cluster_node(port, %o) starts one cluster-enabled redis-server
# (o: node_timeout in ms, keep_config to reuse its nodes.conf)
sub start_cluster_node
{
	my ($port, %o) = @_;
	my $dir = "$PostgreSQL::Test::Utils::tmp_check/redis_cluster_$port";
	mkdir $dir;
	unlink "$dir/nodes.conf" unless $o{keep_config};
	my @cmd = (
		'redis-server', '--bind', '127.0.0.1', '--port', $port,
		'--cluster-enabled', 'yes',
		'--cluster-config-file', "$dir/nodes.conf",
		'--cluster-node-timeout', $o{node_timeout} // 1000,
		'--save', '', '--appendonly', 'no', '--daemonize', 'yes',
		'--dir', $dir, '--pidfile', "$dir/redis.pid",
		'--logfile', "$dir/redis.log");
	system(@cmd) == 0 or die "could not start redis-server on $port";
	$started{$port} = 1;
	poll_until(sub { cluster_cli($port, 'PING') eq 'PONG' }, 10)
	  or die "redis-server on $port did not answer";
	return $port;
}

# stop_cluster_node(port, signal) kills one node (KILL by default)
sub stop_cluster_node
{
	my ($port, $signal) = @_;
	my $pidfile = "$PostgreSQL::Test::Utils::tmp_check/redis_cluster_$port/redis.pid";
	open my $fh, '<', $pidfile or return;
	my $pid = <$fh>;
	close $fh;
	chomp $pid;
	kill($signal // 'KILL', $pid);
	poll_until(sub { !kill(0, $pid) }, 10);
	unlink $pidfile;
	delete $started{$port};
}

# start_cluster(%o) starts 6 nodes and makes them 3 masters with a replica
# each; returns the ports, masters first
sub start_cluster
{
	my %o = @_;
	my @ports = map { free_cluster_port() } 1 .. 6;
	start_cluster_node($_, %o) for @ports;
	create_cluster(@ports);
	return @ports;
}

# free_cluster_port() returns a free port whose cluster bus port (+10000) is
# free too: a node that cannot bind its bus port exits
sub free_cluster_port
{
	for (1 .. 200)
	{
		my $port = PostgreSQL::Test::Cluster::get_free_port();
		next if $port + 10000 > 65535;
		my $bus = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port + 10000,
			Proto => 'tcp', Listen => 1, ReuseAddr => 1);
		next unless $bus;
		close $bus;
		return $port;
	}
	die 'no free port with a free cluster bus port';
}

# create_cluster(ports) runs redis-cli --cluster create over empty nodes
sub create_cluster
{
	my @ports = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'redis-cli', '--cluster', 'create',
		(map { "127.0.0.1:$_" } @ports), '--cluster-replicas', '1', '--cluster-yes' ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(60))
	  or die "redis-cli --cluster create failed: $out $err";
	cluster_ok(\@ports, 30) or die "the cluster did not become ok: $out";
	# every replica must have synced before a test kills its master
	poll_until(sub {
		my $n = 0;
		for my $p (@ports)
		{
			my $info = cluster_cli($p, 'INFO', 'replication');
			$n++ if $info =~ /role:slave/ && $info =~ /master_link_status:up/;
		}
		$n == 3;
	}, 30) or die 'the replicas did not sync';
}

# cluster_cli(port, args...) runs redis-cli (no -c); returns trimmed output
sub cluster_cli
{
	my ($port, @args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'redis-cli', '-h', '127.0.0.1', '-p', $port, @args ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(20));
	$out =~ s/\s+$//;
	return $out;
}

# cluster_ok(ports, seconds) waits until every live node of ports says
# cluster_state:ok with all 16384 slots assigned
sub cluster_ok
{
	my ($ports, $seconds) = @_;
	return poll_until(sub {
		for my $p (@$ports)
		{
			next unless cluster_cli($p, 'PING') eq 'PONG';
			my $info = cluster_cli($p, 'CLUSTER', 'INFO');
			return 0 unless $info =~ /cluster_state:ok/ && $info =~ /cluster_slots_ok:16384/;
		}
		return 1;
	}, $seconds);
}

# cluster_agreed(port, seconds) waits until every node reports the same slot
# map, as redis-cli --cluster check sees it: a reshard started before the
# last one's configuration reached every node refuses with "Nodes don't
# agree about configuration!"
sub cluster_agreed
{
	my ($port, $seconds) = @_;
	return poll_until(sub {
		my ($out, $err) = ('', '');
		my $ok = IPC::Run::run([ 'redis-cli', '--cluster', 'check', "127.0.0.1:$port" ],
			'>', \$out, '2>', \$err, IPC::Run::timeout(30));
		return $ok && $out !~ /don't agree|\[ERR\]|\[WARNING\]/;
	}, $seconds);
}

# cluster_masters(port) returns the ports of the masters that serve slots
sub cluster_masters
{
	my ($port) = @_;
	my @m;
	for my $line (split /\n/, cluster_cli($port, 'CLUSTER', 'NODES'))
	{
		my @f = split / /, $line;
		next unless $f[2] =~ /master/ && $f[2] !~ /fail/ && @f > 8;
		push @m, $1 if $f[1] =~ /:(\d+)@/;
	}
	return sort { $a <=> $b } @m;
}

# cluster_dbsize(port) sums DBSIZE over the masters
sub cluster_dbsize
{
	my ($port) = @_;
	my $n = 0;
	$n += cluster_cli($_, 'DBSIZE') for cluster_masters($port);
	return $n;
}

# escape(part) escapes a key part as docs/online-store.md says
sub escape
{
	my ($s) = @_;
	$s =~ s/%/%25/g;
	$s =~ s/:/%3A/g;
	$s =~ s/\{/%7B/g;
	$s =~ s/\}/%7D/g;
	return $s;
}

# fs_key(node, entity, [keys], group) is the documented key, computed as a
# client does: the prefix setting, and featstore.online_namespace() where
# it exists ('' before it did)
sub fs_key
{
	my ($node, $entity, $keys, $group) = @_;
	my $prefix = $node->safe_psql('postgres',
		"SELECT current_setting('featstore.redis_key_prefix')");
	my $ns = '';
	$ns = $node->safe_psql('postgres', 'SELECT featstore.online_namespace()')
	  if $node->safe_psql('postgres',
		"SELECT to_regprocedure('featstore.online_namespace()') IS NOT NULL") eq 't';
	my $tag = join ':', map { escape($_) } $entity, @$keys;
	return join ':', $prefix, ($ns eq '' ? () : (escape($ns))), "{$tag}", escape($group);
}

# cluster_get_exists(port, key) asks any node with redis-cli -c (it follows
# MOVED) whether key exists: 1 or 0
sub cluster_get_exists
{
	my ($port, $key) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'redis-cli', '-c', '-h', '127.0.0.1', '-p', $port, 'EXISTS', $key ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(20));
	$out =~ s/\s+$//;
	return $out;
}

# cluster_features(port, key) reads key with redis-cli -c (any node; it
# follows MOVED) and decodes the msgpack value with Debian's python3-msgpack:
# "nil" when absent, else "event_timestamp features-as-sorted-json"
sub cluster_features
{
	my ($port, $key) = @_;
	my $py = <<'PY';
import json, subprocess, sys, msgpack
out = subprocess.run(['redis-cli', '-c', '-h', '127.0.0.1', '-p', sys.argv[1], 'GET', sys.argv[2]],
                     capture_output=True, check=True, timeout=20).stdout
if out == b'\n':
    print('nil')
else:
    v = msgpack.unpackb(out[:-1], raw=False)
    print(v['event_timestamp'], json.dumps(v['features'], sort_keys=True))
PY
	my ($out, $err) = ('', '');
	IPC::Run::run([ '/usr/bin/python3', '-c', $py, $port, $key ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(30))
	  or die "cluster_features: $err";
	$out =~ s/\s+$//;
	return $out;
}

1;
