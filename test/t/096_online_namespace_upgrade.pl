# Namespaces and the upgrade from 0.2.0 (issue 13): an updated database
# keeps the legacy key layout <prefix>:{<entity>:<keys>}:<group>, so the
# keys of its 0.2.0 worker stay the ones read and written; its namespace
# moves with set_online_namespace(); and pg_dump / pg_restore keeps a
# namespace that was set.  Redis is read with redis-cli.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('nsupg', $rport, undef, "CREATE EXTENSION featstore VERSION '0.2.0'");
my $N = 100;

sub scan_count
{
	my ($pattern) = @_;
	my $out = redis_cmd($rport, undef, '--scan', '--pattern', $pattern);
	return scalar(grep { $_ ne '' } split /\n/, $out);
}

$node->safe_psql('postgres', qq{
	DO LANGUAGE featstore \$\$
		CREATE ENTITY acct (acct_id bigint);
		CREATE FEATURE GROUP bal ENTITY acct FEATURES (v bigint) ONLINE;
	\$\$;
	INSERT INTO bal (acct_id, event_timestamp, v)
	SELECT g, now() - interval '1 minute', g FROM generate_series(1, $N) g;
});
ok($node->poll_query_until('postgres',
	"SELECT worker_state = 'waiting for ALTER EXTENSION UPDATE' FROM featstore.materialization_status WHERE group_name = 'bal'"),
	'the new library waits for the update of a 0.2.0 schema');

$node->safe_psql('postgres', 'ALTER EXTENSION featstore UPDATE');
is($node->safe_psql('postgres', 'SELECT featstore.online_namespace()'), '',
	'the updated database keeps the legacy layout (empty namespace)');
is($node->safe_psql('postgres', 'SELECT is_default, namespace FROM featstore.online_namespace'), 'f|',
	'recorded as a set row, which pg_dump keeps');
wait_caught_up($node, 'after the update');
is(scan_count('fs:{acct:*}:bal'), $N, "redis-cli: the $N keys are 0.2.0's, fs:{acct:<id>}:bal");
is(redis_cmd($rport, undef, 'DBSIZE'), $N, 'and nothing else');
verify_zero($node, 'bal', 'verify_online reads the legacy keys');

# the legacy keys are the ones the worker and the readers use
is(redis_cmd($rport, undef, 'DEL', 'fs:{acct:7}:bal'), '1', 'redis-cli: one legacy key deleted by hand');
is($node->safe_psql('postgres', "SELECT entity, problem FROM featstore.verify_online('bal')"),
	'{7}|missing in Redis', 'verify_online sees it missing');
$node->safe_psql('postgres', "INSERT INTO bal (acct_id, event_timestamp, v) VALUES (7, now(), 70)");
wait_caught_up($node, 'a new row');
is(redis_cmd($rport, undef, 'EXISTS', 'fs:{acct:7}:bal'), '1', 'the worker writes it back at the legacy key');
is($node->safe_psql('postgres', "SELECT redis_key, features->>'v' FROM featstore.online_features('bal', '7')"),
	'fs:{acct:7}:bal|70', 'online_features reads the legacy key');

# moving to a namespace: rewritten there, the legacy keys purged
is($node->safe_psql('postgres', "SELECT featstore.set_online_namespace('postgres')"), '1',
	'set_online_namespace moves the online group');
wait_caught_up($node, 'after the move');
is(scan_count('fs:postgres:{acct:*}:bal'), $N, "redis-cli: $N keys under fs:postgres:");
is(scan_count('fs:{*'), 0, 'redis-cli: no legacy key left');
is(redis_cmd($rport, undef, 'DBSIZE'), $N, 'and nothing else');
verify_zero($node, 'bal', 'verify_online after the move');
is($node->safe_psql('postgres',
	'SELECT old_namespace, new_namespace, groups_moved FROM featstore.online_namespace_history'),
	'|postgres|1', 'the move is in the history');

# pg_dump and pg_restore keep a namespace that was set
$node->safe_psql('postgres', "SELECT featstore.set_online_namespace('kept_ns')");
wait_caught_up($node, 'after the second move');
my $dump = $PostgreSQL::Test::Utils::tmp_check . '/nsupg.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, $node->connstr('postgres') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
is($node->safe_psql('restored', 'SELECT featstore.online_namespace()'), 'kept_ns',
	'the restored database has the namespace that was set');
is($node->safe_psql('restored',
	'SELECT string_agg(old_namespace || \'>\' || new_namespace, \',\' ORDER BY changed_at) FROM featstore.online_namespace_history'),
	'>postgres,postgres>kept_ns', 'and its history');

# a fresh database's default, and what the checks refuse
$node->safe_psql('postgres', 'CREATE DATABASE fresh_ns');
$node->safe_psql('fresh_ns', 'CREATE EXTENSION featstore');
is($node->safe_psql('fresh_ns', 'SELECT featstore.online_namespace()'), 'fresh_ns',
	'a fresh install takes the database\'s name');
my ($ret, $out, $err) = $node->psql('fresh_ns', "SELECT featstore.set_online_namespace('x')");
like($err, qr/ERROR:  the featstore online store does not serve database "fresh_ns"/,
	'set_online_namespace refuses in a database the filter leaves out');

$node->stop;
done_testing();
