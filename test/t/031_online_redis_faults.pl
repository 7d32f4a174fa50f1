# Redis faults: unreachable at start, killed in the middle of a stream of
# commits and restarted empty, and a wrong password.  Changes wait in
# PostgreSQL, the outage and the recovery are logged once each, and the
# password never reaches the log.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $group_ddl = q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY device (device_id uuid);
		CREATE FEATURE GROUP health ENTITY device
			FEATURES (battery real 'Battery level', errors integer 'Errors today') ONLINE;
	$$)};
my $insert = q{
	INSERT INTO health (device_id, event_timestamp, battery, errors)
	SELECT md5((g % 50)::text)::uuid, now(), random(), %d FROM generate_series(1, 20) g};

# --- Redis not reachable when PostgreSQL starts ---
my $rport = PostgreSQL::Test::Cluster::get_free_port();
my $node = online_node('faults', $rport);
$node->safe_psql('postgres', $group_ddl);
$node->safe_psql('postgres', sprintf($insert, 1));
ok($node->poll_query_until('postgres',
	"SELECT worker_state = 'redis unavailable' AND last_error LIKE 'could not connect to Redis%'"
	  . " FROM featstore.materialization_status WHERE group_name = 'health'"),
	'status shows Redis unavailable');
is($node->safe_psql('postgres',
	"SELECT queue_depth > 0 FROM featstore.materialization_status WHERE group_name = 'health'"),
	't', 'changes wait in the queue');
my $ret = $node->psql('postgres', "SELECT * FROM featstore.online_features('health', md5('1')::uuid::text)",
	stderr => \my $stderr);
like($stderr, qr/could not use the Redis online store: could not connect to Redis/,
	'online_features reports the unreachable Redis');
start_redis(port => $rport);
wait_caught_up($node, 'after Redis came up');
verify_zero($node, 'health', 'no difference after a late Redis start');
is(count_log($node, qr/Redis is unavailable/), 1, 'outage logged once');
is(count_log($node, qr/Redis is reachable again/), 1, 'recovery logged once');

# --- Redis killed in the middle of a stream, restarted empty ---
for my $i (1 .. 30)
{
	$node->safe_psql('postgres', sprintf($insert, $i));
	stop_redis($rport, 'KILL') if $i == 10;
	start_redis(port => $rport) if $i == 20;
}
wait_caught_up($node, 'after the Redis restart');
verify_zero($node, 'health', 'no difference after Redis was killed and restarted empty');
is(count_log($node, qr/Redis is unavailable/), 2, 'second outage logged once');
is(count_log($node, qr/Redis is reachable again/), 2, 'second recovery logged once');
is(count_log($node, qr/Redis is a new process/), 1, 'the new, empty Redis process was rematerialized');
# --- a bad reply is a logged error, not a crash: a key of the wrong type ---
my $victim = $node->safe_psql('postgres', "SELECT redis_key FROM featstore.online_features('health', md5('7')::uuid::text)");
redis_cmd($rport, undef, 'DEL', $victim);
redis_cmd($rport, undef, 'HSET', $victim, 'not', 'featstore');
$node->safe_psql('postgres', sprintf($insert, 99));
ok($node->poll_query_until('postgres',
	"SELECT last_error LIKE '%WRONGTYPE%' FROM featstore.materialization_status WHERE group_name = 'health'"),
	'a wrong-type key shows as the last error');
ok(poll_until(sub { count_log($node, qr/unexpected Redis reply to the featstore script/) >= 1 }, 10),
	'and is logged');
sleep(1);    # a few retries with backoff
is(count_log($node, qr/unexpected Redis reply to the featstore script/), 1, 'once, however often it is retried');
is($node->safe_psql('postgres', 'SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = \'featstore online worker\''),
	't', 'the worker is still running');
redis_cmd($rport, undef, 'DEL', $victim);
wait_caught_up($node, 'after the bad key was removed');
verify_zero($node, 'health', 'no difference after the bad key was removed');

$node->stop;
stop_redis($rport);

# --- wrong password ---
my $secret = 'pw-' . int(rand(1e9));
my $wrong = 'wrong-' . int(rand(1e9));
my $aport = start_redis(password => $secret);
my $anode = online_node('password', $aport, "featstore.redis_password = '$wrong'\n");
$anode->safe_psql('postgres', $group_ddl);
$anode->safe_psql('postgres', sprintf($insert, 1));
ok($anode->poll_query_until('postgres',
	"SELECT last_error LIKE '%featstore.redis_password%' FROM featstore.materialization_status WHERE group_name = 'health'"),
	'status names the password setting');
$anode->safe_psql('postgres', 'CREATE ROLE plain LOGIN IN ROLE featstore_reader');
$anode->psql('postgres', 'SHOW featstore.redis_password', stderr => \$stderr,
	extra_params => [ '-U', 'plain' ]);
like($stderr, qr/must be superuser or have privileges of pg_read_all_settings/,
	'ordinary roles cannot read the password');

# fix it without a restart: a password file, named in the configuration
my $pwfile = $anode->data_dir . '/redis_password';
open my $pw, '>', $pwfile or die;
print $pw "$secret\n";
close $pw;
chmod 0600, $pwfile;
$anode->append_conf('postgresql.conf', "featstore.redis_password_file = '$pwfile'\n");
$anode->reload;
wait_caught_up($anode, 'after the password fix');
verify_zero($anode, 'health', 'no difference after the password fix');
my $log = slurp_file($anode->logfile);
unlike($log, qr/\Q$secret\E/, 'the password is not in the log');
unlike($log, qr/\Q$wrong\E/, 'the wrong password is not in the log either');
$anode->stop;
stop_redis($aport);
done_testing();
