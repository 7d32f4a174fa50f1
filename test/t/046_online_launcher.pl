# The launcher: a server whose featstore.database does not exist yet logs
# one waiting line (no FATAL every restart), starts the worker once the
# database appears, restarts it when it exits, and waits again when the
# database is dropped.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $waiting = qr/LOG:  featstore online worker: waiting for database "later" to be created/;
my $rport = start_redis();
my $node = online_node('launcher', $rport, "featstore.database = 'later'\n", 'SELECT 1');

sub pid_of
{
	my ($type) = @_;
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = '$type'");
}

# longer than the old worker's 5 s restart delay, so repeated FATALs would show
ok(poll_until(sub { count_log($node, $waiting) == 1 }, 10), 'the launcher says it is waiting');
sleep(7);
is(count_log($node, $waiting), 1, 'once');
is(count_log($node, qr/FATAL/), 0, 'and nothing fails meanwhile');
isnt(pid_of('featstore online launcher'), '', 'the launcher runs, connected to no database');
is(pid_of('featstore online worker'), '', 'no worker runs yet');

# the database appears: the worker serves it
$node->safe_psql('postgres', 'CREATE DATABASE later');
$node->safe_psql('later', q{
	CREATE EXTENSION featstore;
	DO LANGUAGE featstore $$
		CREATE ENTITY acct (acct_id bigint);
		CREATE FEATURE GROUP late_g ENTITY acct FEATURES (v bigint) ONLINE;
	$$;
	INSERT INTO late_g (acct_id, event_timestamp, v) VALUES (1, now() - interval '1 minute', 42);
});
ok(poll_until(sub { redis_cmd($rport, undef, 'EXISTS', 'fs:later:{acct:1}:late_g') eq '1' }, 15),
	'a write reaches Redis once the database exists');
is(count_log($node, qr/LOG:  featstore online worker: database "later" exists; starting the worker/), 1,
	'the launcher says so once');
is($node->safe_psql('later', 'SELECT pid FROM featstore.online_worker_status()'),
	pid_of('featstore online worker'), 'the status shows the worker\'s pid');
is($node->safe_psql('later', "SELECT features->>'v' FROM featstore.online_features('late_g', '1')"),
	'42', 'online_features reads it');

# a worker that exits is started again; the launcher stays
my $launcher = pid_of('featstore online launcher');
my $worker = pid_of('featstore online worker');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($worker)");
ok(poll_until(sub { my $p = pid_of('featstore online worker'); $p ne '' && $p ne $worker }, 15),
	'the worker is restarted after it exits');
is(pid_of('featstore online launcher'), $launcher, 'by the same launcher');
$node->safe_psql('later',
	"INSERT INTO late_g (acct_id, event_timestamp, v) VALUES (2, now() - interval '1 minute', 7)");
ok(poll_until(sub { redis_cmd($rport, undef, 'EXISTS', 'fs:later:{acct:2}:late_g') eq '1' }, 15),
	'the new worker serves the database');

# the database is dropped: the launcher waits for it again, quietly
$node->safe_psql('postgres', 'DROP DATABASE later WITH (FORCE)');
ok(poll_until(sub { count_log($node, $waiting) == 2 }, 15), 'the launcher waits again after a drop');
is(pid_of('featstore online worker'), '', 'with no worker');

$node->stop;
done_testing();
