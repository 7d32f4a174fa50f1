# FeatstoreOnline: helpers for the online-store TAP tests.  Each test runs
# its own Redis processes on free loopback ports and its own PostgreSQL node
# with featstore preloaded and the worker serving the "postgres" database.
# Every wait is bounded.
package FeatstoreOnline;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

our @EXPORT = qw(start_redis stop_redis redis_cmd online_node wait_caught_up
  verify_zero poll_until count_log);

# Redis servers this test started, stopped at exit even if the test dies
my %started;
END
{
	stop_redis($_) for keys %started;
}

# start_redis(port => P, password => PW) starts redis-server; returns the port
sub start_redis
{
	my %o = @_;
	my $port = $o{port} // PostgreSQL::Test::Cluster::get_free_port();
	my $dir = "$PostgreSQL::Test::Utils::tmp_check/redis_$port";
	mkdir $dir;
	my @cmd = (
		'redis-server', '--bind', '127.0.0.1', '--port', $port,
		'--save', '', '--appendonly', 'no', '--daemonize', 'yes',
		'--dir', $dir, '--pidfile', "$dir/redis.pid",
		'--logfile', "$dir/redis.log");
	push @cmd, '--requirepass', $o{password} if $o{password};
	system(@cmd) == 0 or die "could not start redis-server on $port";
	$started{$port} = 1;
	poll_until(sub { (redis_cmd($port, $o{password}, 'PING') // '') eq 'PONG' }, 10)
	  or die "redis-server on $port did not answer";
	return $port;
}

# stop_redis(port, signal) kills the redis-server on port (KILL by default)
sub stop_redis
{
	my ($port, $signal) = @_;
	my $pidfile = "$PostgreSQL::Test::Utils::tmp_check/redis_$port/redis.pid";
	open my $fh, '<', $pidfile or return;
	my $pid = <$fh>;
	close $fh;
	chomp $pid;
	kill($signal // 'KILL', $pid);
	poll_until(sub { !kill(0, $pid) }, 10);
	unlink $pidfile;
	delete $started{$port};
}

# redis_cmd(port, password, args...) runs redis-cli; returns its trimmed output
sub redis_cmd
{
	my ($port, $password, @args) = @_;
	my @cmd = ('redis-cli', '-h', '127.0.0.1', '-p', $port);
	push @cmd, '-a', $password, '--no-auth-warning' if $password;
	my ($out, $err) = ('', '');
	IPC::Run::run([ @cmd, @args ], '>', \$out, '2>', \$err,
		IPC::Run::timeout(10));
	$out =~ s/\s+$//;
	return $out;
}

# online_node(name, redis_port, extra_conf, create) makes, starts and prepares
# a node; create is the statement that installs featstore (default: the
# current version)
sub online_node
{
	my ($name, $redis_port, $extra, $create) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = 'featstore'
featstore.database = 'postgres'
featstore.redis_port = $redis_port
featstore.redis_timeout = '1s'
featstore.online_poll_interval = '200ms'
} . ($extra // ''));
	$node->start;
	$node->safe_psql('postgres', $create // 'CREATE EXTENSION featstore');
	return $node;
}

# wait_caught_up(node) waits until the worker has pushed everything ready
sub wait_caught_up
{
	my ($node, $what) = @_;
	my $ok = $node->poll_query_until('postgres', q{
		SELECT NOT EXISTS (SELECT 1 FROM featstore.online_queue_depth())
		   AND (SELECT state FROM featstore.online_worker_status()) = 'idle'});
	ok($ok, 'worker caught up' . ($what ? ": $what" : ''));
	return $ok;
}

# verify_zero(node, group, name) checks that verify_online finds no difference
sub verify_zero
{
	my ($node, $group, $name) = @_;
	my $diff = $node->safe_psql('postgres',
		"SELECT entity, problem, expected, actual FROM featstore.verify_online('$group')");
	is($diff, '', $name // "verify_online('$group') finds no difference");
}

# poll_until(code, seconds) retries code every 50 ms; true once it returns true
sub poll_until
{
	my ($code, $seconds) = @_;
	my $deadline = time() + $seconds;
	while (time() < $deadline)
	{
		return 1 if $code->();
		usleep(50_000);
	}
	return 0;
}

# count_log(node, regex) counts the server log lines matching regex
sub count_log
{
	my ($node, $re) = @_;
	my $log = slurp_file($node->logfile);
	my @m = ($log =~ /$re/g);
	return scalar @m;
}

1;
