# The launcher follows databases without a restart (issue 13): a database
# created and given featstore after the start is picked up; one without
# featstore gets no worker; featstore.max_online_workers bounds the served
# databases (the rest is logged once and shown); DROP EXTENSION stops that
# database's workers and frees its slot for a waiting database; a plain
# DROP DATABASE (no FORCE) succeeds while its worker runs.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('launch2', $rport,
	"featstore.database = ''\nfeatstore.max_online_workers = 2\n");

sub workers_of
{
	my ($db) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT count(*) FROM pg_stat_activity
		 WHERE datname = '$db' AND backend_type IN ('featstore online worker', 'featstore monitor')});
}

sub db_state
{
	my ($db) = @_;
	return $node->safe_psql('postgres',
		"SELECT state FROM featstore.online_databases() WHERE database = '$db'");
}

sub make_db
{
	my ($db, $v) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, qq{
		CREATE EXTENSION featstore;
		DO LANGUAGE featstore \$\$
			CREATE ENTITY acct (acct_id bigint);
			CREATE FEATURE GROUP g ENTITY acct FEATURES (v bigint) ONLINE;
		\$\$;
		INSERT INTO g (acct_id, event_timestamp, v) VALUES (1, now() - interval '1 minute', $v);
	});
}

# a database without featstore: scouted, no worker
$node->safe_psql('postgres', 'CREATE DATABASE plain');
ok(poll_until(sub { db_state('plain') eq 'featstore not installed' }, 20),
	'a database without featstore is known as such');
is(workers_of('plain'), '0', 'and has no worker');

# created after the start, featstore installed: picked up (slot 2 of 2)
make_db('late1', 11);
ok(poll_until(sub { redis_cmd($rport, undef, 'EXISTS', 'fs:late1:{acct:1}:g') eq '1' }, 20),
	'a database created after the start is served without a restart');
is(db_state('late1'), 'served', 'online_databases() says served');
is(workers_of('late1'), '2', 'by an online worker and a monitor');

# beyond featstore.max_online_workers: shown and logged once, no worker
make_db('late2', 22);
ok(poll_until(sub { db_state('late2') eq 'not served: featstore.max_online_workers reached' }, 20),
	'a third database with featstore is not served: the bound is 2');
sleep 2;
is(workers_of('late2'), '0', 'it has no worker');
is(redis_cmd($rport, undef, 'EXISTS', 'fs:late2:{acct:1}:g'), '0', 'nothing of it in Redis');
is(count_log($node, qr/LOG:  featstore online launcher: 1 database with featstore is not served: featstore.max_online_workers is 2/),
	1, 'logged once');
is($node->safe_psql('late2', 'SELECT state FROM featstore.online_worker_status()'), 'stopped',
	'its status shows no worker');

# DROP EXTENSION stops late1's workers; the freed slot goes to late2
$node->safe_psql('late1', 'DROP EXTENSION featstore CASCADE');
ok(poll_until(sub { workers_of('late1') eq '0' }, 20), 'DROP EXTENSION stops that database\'s workers');
is(count_log($node, qr/LOG:  featstore online worker: featstore is not installed in database "late1"; the worker stops/),
	1, 'the worker says why it leaves');
ok(poll_until(sub { redis_cmd($rport, undef, 'EXISTS', 'fs:late2:{acct:1}:g') eq '1' }, 20),
	'the waiting database gets the freed slot and is served');
is(db_state('late2'), 'served', 'online_databases() says so');
ok(poll_until(sub { db_state('late1') eq 'featstore not installed' }, 20), 'late1 is known without featstore');

# CREATE EXTENSION again in late1: no slot is free now
$node->safe_psql('late1', 'CREATE EXTENSION featstore');
ok(poll_until(sub { db_state('late1') eq 'not served: featstore.max_online_workers reached' }, 20),
	'a CREATE EXTENSION is noticed; the bound still holds');

# a plain DROP DATABASE while its worker runs: the workers leave in time
is(workers_of('late2'), '2', 'late2\'s workers run');
my ($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE late2');
is($ret, 0, 'DROP DATABASE (no FORCE) succeeds while its workers run') or diag($err);
ok(poll_until(sub { db_state('late2') eq '' }, 20), 'the launcher forgets the dropped database');
ok(poll_until(sub { db_state('late1') eq 'served' }, 20), 'and serves late1 in its slot');
# stopping a worker logs "terminating background worker ... due to
# administrator command" at FATAL: nothing else failed
is(count_log($node, qr/FATAL:  (?!terminating background worker "featstore (?:online worker|monitor)" due to administrator command)/),
	0, 'no worker failed on the way');

$node->stop;
done_testing();
