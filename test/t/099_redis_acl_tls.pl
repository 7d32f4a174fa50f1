# Redis ACL users and TLS (issue 13).  A redis-server 7 that speaks TLS only
# (tls-port, a throwaway CA made here with openssl) and whose default user
# is disabled; the worker reaches it through Debian's stunnel4 as a
# client-side tunnel on loopback, and authenticates as an ACL user limited
# to featstore's keys and commands (AUTH user password).  Passwords never
# reach errors or the server log.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use FeatstoreCluster qw(fs_key);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => 'stunnel4 and openssl are needed'
  unless system('sh', '-c', 'command -v stunnel4 && command -v openssl') == 0;

my $dir = PostgreSQL::Test::Utils::tempdir('tls');
my $pw = 'acl-S3cret-pw';
my $wrong = 'wrong-pw-XYZ';

# a throwaway CA and a server certificate for 127.0.0.1
sub run_ok
{
	my ($cmd, $what) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run($cmd, '>', \$out, '2>', \$err, IPC::Run::timeout(60)) or die "$what: $err";
}
run_ok([ 'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
	'-subj', '/CN=featstore test CA', '-keyout', "$dir/ca.key", '-out', "$dir/ca.crt" ], 'CA');
run_ok([ 'openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1',
	'-keyout', "$dir/redis.key", '-out', "$dir/redis.csr" ], 'CSR');
open my $ext, '>', "$dir/san.ext" or die;
print $ext "subjectAltName = IP:127.0.0.1\n";
close $ext;
run_ok([ 'openssl', 'x509', '-req', '-in', "$dir/redis.csr", '-CA', "$dir/ca.crt",
	'-CAkey', "$dir/ca.key", '-CAcreateserial', '-days', '2', '-extfile', "$dir/san.ext",
	'-out', "$dir/redis.crt" ], 'server certificate');

# Redis with TLS only (port 0: no plain-text port)
my $tls_port = PostgreSQL::Test::Cluster::get_free_port();
system('redis-server', '--bind', '127.0.0.1', '--port', '0', '--tls-port', $tls_port,
	'--tls-cert-file', "$dir/redis.crt", '--tls-key-file', "$dir/redis.key",
	'--tls-ca-cert-file', "$dir/ca.crt", '--tls-auth-clients', 'no',
	'--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--dir', $dir,
	'--pidfile', "$dir/redis.pid", '--logfile', "$dir/redis.log") == 0
  or die 'could not start redis-server with TLS';
END { kill 'KILL', slurp_file("$dir/redis.pid") =~ s/\s+//gr if -f "$dir/redis.pid"; }
my @tls_cli = ('redis-cli', '-h', '127.0.0.1', '-p', $tls_port, '--tls', '--cacert', "$dir/ca.crt");
sub tls_cli
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ @tls_cli, @_ ], '>', \$out, '2>', \$err, IPC::Run::timeout(20));
	$out =~ s/\s+$//;
	return $out;
}
poll_until(sub { tls_cli('PING') eq 'PONG' }, 10) or die 'TLS Redis does not answer';

# an ACL user for featstore: its keys and the commands it sends, nothing else
is(tls_cli('ACL', 'SETUSER', 'featstore', 'on', ">$pw", 'resetkeys', '~fs:*', '-@all',
	'+get', '+set', '+del', '+unlink', '+evalsha', '+script|load', '+scan', '+dbsize',
	'+info', '+ping'), 'OK', 'ACL user created');
is(tls_cli('ACL', 'SETUSER', 'default', 'off'), 'OK', 'the default user disabled');

# stunnel4: a client-side tunnel on loopback that verifies the server
my $tunnel_port = PostgreSQL::Test::Cluster::get_free_port();
open my $conf, '>', "$dir/stunnel.conf" or die;
print $conf <<"CONF";
foreground = yes
pid =
output = $dir/stunnel.log
[redis]
client = yes
accept = 127.0.0.1:$tunnel_port
connect = 127.0.0.1:$tls_port
CAfile = $dir/ca.crt
verifyChain = yes
checkIP = 127.0.0.1
CONF
close $conf;
my $stunnel = IPC::Run::start([ 'stunnel4', "$dir/stunnel.conf" ], '>', '/dev/null', '2>', '/dev/null');
END { $stunnel->kill_kill if $stunnel; }
poll_until(sub {
	my $out = '';
	IPC::Run::run([ 'redis-cli', '-p', $tunnel_port, '--user', 'featstore', '--pass', $pw,
		'--no-auth-warning', 'PING' ], '>', \$out, '2>', '/dev/null', IPC::Run::timeout(5));
	$out =~ /PONG/;
}, 15) or die 'stunnel does not forward';

my $pwfile = "$dir/redis.pw";
sub write_pw { open my $f, '>', $pwfile or die; print $f "$_[0]\n"; close $f; chmod 0600, $pwfile; }
write_pw($pw);
# auto: INFO cluster says cluster_enabled:0, so this Redis is used standalone
my $node = online_node('acl_tls', $tunnel_port, qq{
featstore.redis_user = 'featstore'
featstore.redis_password_file = '$pwfile'
featstore.redis_cluster = auto
});
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY user (user_id text);
		CREATE FEATURE GROUP user_profile ENTITY user FEATURES (country text, score real) ONLINE;
	$$);
	INSERT INTO user_profile (user_id, event_timestamp, country, score)
		SELECT 'u' || i, now(), 'FR', i FROM generate_series(1, 500) i;
	UPDATE user_profile SET score = -1, created_at = clock_timestamp() WHERE user_id = 'u7';
});
wait_caught_up($node, 'through stunnel and TLS, as the ACL user');
verify_zero($node, 'user_profile');
my $key = fs_key($node, 'user', ['u7'], 'user_profile');
like(tls_cli('--user', 'featstore', '--pass', $pw, '--no-auth-warning', 'GET', $key),
	qr/event_timestamp.*features.*country.*FR/s,
	'the value is in the TLS Redis under the documented layout (read with redis-cli --tls)');
is(tls_cli('--user', 'featstore', '--pass', $pw, '--no-auth-warning', 'DBSIZE'), '500',
	'every entity written');
is($node->safe_psql('postgres',
	"SELECT status, features->>'score' FROM featstore.online_features('user_profile', 'u7')"),
	'found|-1', 'online_features reads through the tunnel as the ACL user');
is(tls_cli('--user', 'featstore', '--pass', $pw, '--no-auth-warning', 'FLUSHALL') =~ /NOPERM/ ? 1 : 0, 1,
	'the ACL user cannot run what featstore does not send');

# a wrong password: refused with the user's name, never the password
write_pw($wrong);
my ($rc, $out, $err) = $node->psql('postgres',
	"SELECT status FROM featstore.online_features('user_profile', 'u7')");
like($err, qr/Redis refused user "featstore" with its password \(featstore.redis_user, featstore.redis_password\): WRONGPASS/,
	'a wrong password is refused, naming the user and the settings');
unlike($err, qr/\Q$wrong\E|\Q$pw\E/, 'the error shows no password');
# the worker reconnects with the file it reads at each connection
$node->safe_psql('postgres', "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'featstore online worker'");
$node->poll_query_until('postgres',
	"SELECT state = 'redis unavailable' FROM featstore.online_worker_status()");
like($node->safe_psql('postgres', 'SELECT last_error FROM featstore.online_worker_status()'),
	qr/refused user "featstore"/, 'the worker shows the refusal');
write_pw($pw);
$node->safe_psql('postgres', "INSERT INTO user_profile (user_id, event_timestamp, country, score) VALUES ('u501', now(), 'DE', 1)");
wait_caught_up($node, 'after the password file was fixed');
is(tls_cli('--user', 'featstore', '--pass', $pw, '--no-auth-warning', 'DBSIZE'), '501',
	'the worker reconnected with the right password');

# a user without a password is a clear error
$node->append_conf('postgresql.conf', "featstore.redis_password_file = ''\n");
$node->reload;
($rc, $out, $err) = $node->psql('postgres',
	"SELECT status FROM featstore.online_features('user_profile', 'u1')");
like($err, qr/featstore.redis_user "featstore" is set but no password is: set featstore.redis_password or featstore.redis_password_file/,
	'a user without a password names both settings');

# featstore.redis_tls says what to do instead
($rc, $out, $err) = $node->psql('postgres', 'ALTER SYSTEM SET featstore.redis_tls = on');
like($err, qr/HINT:  Run stunnel4 as a client-side TLS tunnel on loopback/, 'redis_tls points at stunnel');

# the user is visible, no password is: not in the log, not in pg_settings for
# an ordinary role
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
is($node->safe_psql('postgres', q{SET ROLE plain;
	SELECT string_agg(name || '=' || setting, ',' ORDER BY name) FROM pg_settings
	 WHERE name IN ('featstore.redis_user', 'featstore.redis_password', 'featstore.redis_password_file')}),
	'featstore.redis_user=featstore', 'an ordinary role sees the user only');
my $log = slurp_file($node->logfile);
unlike($log, qr/\Q$pw\E|\Q$wrong\E/, 'no password in the server log');
like($log, qr/refused user "featstore"/, 'the refusal is logged (without the password)');

$node->stop;
done_testing();
