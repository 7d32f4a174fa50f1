# The monitor worker (issue 11, part core): the launcher starts it beside
# the online worker; on its own it opens stale_data for a stale group and,
# with Redis stopped, worker_failing for an online one, and resolves both
# when fresh rows arrive and the worker recovers; every new alert arrives
# as NOTIFY featstore_alerts with a payload of names only, which the
# listener example (examples/alerts_listener.py) prints with the row; a
# reader without grants sees neither rows nor values.  The worker survives
# a cancel, its statement timeout, a dropped group and featstore.monitor =
# off; DROP EXTENSION stops it and CREATE EXTENSION starts a new one.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => '/usr/bin/python3 with psycopg2 is needed'
  unless system('/usr/bin/python3', '-c', 'import psycopg2') == 0;

my $rport = start_redis();
my $node = online_node('monitor', $rport, q{
featstore.monitor_naptime = '300ms'
featstore.monitor_worker_grace = '2s'
featstore.skew_check_interval = 0
});
my $super = $node->safe_psql('postgres', 'SELECT current_user');

sub sq { return $node->safe_psql('postgres', $_[0]); }

sub monitor_pid
{
	return sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'featstore monitor'");
}

sub open_kinds
{
	my ($group) = @_;
	return sq("SELECT coalesce(string_agg(kind, ',' ORDER BY kind), '') FROM featstore.alerts
			   WHERE group_name = '$group' AND resolved_at IS NULL");
}

# the launcher starts the monitor in featstore.database, and it runs
ok(poll_until(sub { monitor_pid() ne '' }, 20), 'the launcher starts the featstore monitor worker');
ok(poll_until(sub { count_log($node, qr/LOG:  featstore monitor: running/) >= 1 }, 20),
	'which finds the extension and runs');
my $pid = monitor_pid();

sq(q{
	CREATE ROLE mon_owner LOGIN IN ROLE featstore_editor;
	CREATE ROLE mon_reader LOGIN IN ROLE featstore_reader;
	GRANT CREATE ON SCHEMA public TO mon_owner;
});

# two listeners, from before the first alert: the on-call superuser and
# a reader without grants
my ($out, $err, $rout, $rerr) = ('', '', '', '');
my $connstr = $node->connstr('postgres');
my $listener = IPC::Run::start(
	[ '/usr/bin/python3', 'examples/alerts_listener.py', $connstr, '--count', '2', '--timeout', '120' ],
	'>', \$out, '2>', \$err, IPC::Run::timeout(180));
my $reader_listener = IPC::Run::start(
	[ '/usr/bin/python3', 'examples/alerts_listener.py', "$connstr user=mon_reader",
		'--count', '1', '--timeout', '120' ],
	'>', \$rout, '2>', \$rerr, IPC::Run::timeout(180));
ok(poll_until(sub { $listener->pump_nb; $reader_listener->pump_nb;
	$err =~ /listening/ && $rerr =~ /listening/ }, 20), 'the listeners listen');

$node->safe_psql('postgres', q{
	DO LANGUAGE featstore $$
		CREATE ENTITY rider (rider_id bigint);
		CREATE FEATURE GROUP stale_g ENTITY rider FEATURES (trips bigint)
			FRESHNESS '1 hour' MONITOR NONE;
		CREATE FEATURE GROUP online_g ENTITY rider FEATURES (rating double precision)
			FRESHNESS '1 hour' MONITOR NONE ONLINE;
	$$;
	INSERT INTO stale_g (rider_id, event_timestamp, trips) VALUES (1, now() - interval '3 hours', 10);
	INSERT INTO online_g (rider_id, event_timestamp, rating) VALUES (1, now() - interval '10 minutes', 4.5);
}, extra_params => [ '-U', 'mon_owner' ]);

# stale_data opens by itself
ok(poll_until(sub { open_kinds('stale_g') eq 'stale_data' }, 20),
	'the worker opens stale_data for a group whose newest event is older than its SLA');
is(open_kinds('online_g'), '', 'and nothing for the fresh online group');
is(sq(q{SELECT details->>'sla' || ' ' || (details->>'age')::numeric::int / 3600
		 FROM featstore.alerts WHERE group_name = 'stale_g' AND resolved_at IS NULL}), '1 hour 3',
	'the details say the SLA and an age of about three hours');

# the online worker fails: Redis stops; a change waits in the queue
stop_redis($rport);
sq(q{INSERT INTO online_g (rider_id, event_timestamp, rating) VALUES (2, now(), 3.0)});
ok(poll_until(sub { open_kinds('online_g') eq 'worker_failing' }, 30),
	'worker_failing opens once the online worker has failed for the group longer than the grace');
like(sq(q{SELECT details->>'worker_state' FROM featstore.alerts
		   WHERE group_name = 'online_g' AND resolved_at IS NULL}), qr/^(redis unavailable|connecting)$/,
	'naming the worker\'s state');
is(sq(q{SELECT worker_state || ' ' || status || ' ' || array_to_string(open_alert_kinds, ',')
		 FROM featstore.group_health WHERE group_name = 'online_g'}) =~ s/^connecting/redis unavailable/r,
	'redis unavailable alert worker_failing', 'group_health shows it');

# NOTIFY: both new alerts arrived, with the payload and the row
ok(poll_until(sub { $listener->pump_nb; ($out =~ tr/\n//) >= 2 }, 20), 'the listener printed two alerts');
$listener->finish;
my @printed = map { decode_json($_) } split /\n/, $out;
is(join(',', map { $_->{notification}{kind} . ':' . $_->{notification}{group} } @printed),
	'stale_data:stale_g,worker_failing:online_g', 'in the order they opened');
is(join(',', sort keys %{ $printed[0]{notification} }), 'feature,group,id,kind,since',
	'the payload names the alert and carries no data values');
is($printed[0]{alert}{kind} . ' ' . $printed[0]{alert}{details}{sla} . ' ' . $printed[0]{alert}{id},
	'stale_data 1 hour ' . $printed[0]{notification}{id}, 'the listener read the row by its id');
ok(poll_until(sub { $reader_listener->pump_nb; $rout =~ /\n/ }, 20), 'the reader\'s listener got a notification');
$reader_listener->finish;
my $seen = decode_json((split /\n/, $rout)[0]);
is($seen->{notification}{group}, 'stale_g', 'any role may LISTEN: the names reach it');
ok(!defined $seen->{alert}, 'but the row is not visible to a reader without grants');
is($node->safe_psql('postgres', q{SELECT count(*) FROM featstore.alerts},
		extra_params => [ '-U', 'mon_reader' ]), '0', 'the reader sees no alert rows');
is($node->safe_psql('postgres', q{SELECT count(*) FROM featstore.group_health},
		extra_params => [ '-U', 'mon_reader' ]), '0', 'and no group_health rows');

# recovery: Redis back, fresh rows; the worker resolves both alerts
start_redis(port => $rport);
sq(q{INSERT INTO stale_g (rider_id, event_timestamp, trips) VALUES (1, now(), 11)});
ok(poll_until(sub { open_kinds('stale_g') eq '' && open_kinds('online_g') eq '' }, 30),
	'the alerts resolve once the conditions are gone');
is(sq(q{SELECT count(*) FROM featstore.alerts WHERE resolved_at >= since}), '2', 'both closed');
is(sq(q{SELECT string_agg(group_name || ':' || status, ',' ORDER BY group_name)
		 FROM featstore.group_health}), 'online_g:ok,stale_g:ok', 'group_health is ok again');

# a cancel ends the current unit only; a statement timeout is logged
sq("SELECT pg_cancel_backend($pid)");
sq(q{ALTER SYSTEM SET featstore.monitor_statement_timeout = '1ms'; SELECT pg_reload_conf()});
ok(poll_until(sub { count_log($node,
	qr/featstore monitor: the freshness check failed: canceling statement due to statement timeout/) >= 1 }, 20),
	'the statement timeout bounds a unit');
sq(q{ALTER SYSTEM RESET featstore.monitor_statement_timeout; SELECT pg_reload_conf()});
is(monitor_pid(), $pid, 'the worker survives the cancel and the timeout');

# a dropped group, while the worker checks it
sq(q{INSERT INTO stale_g (rider_id, event_timestamp, trips) VALUES (2, now() - interval '5 hours', 1)});
$node->safe_psql('postgres', q{DO LANGUAGE featstore $$ DROP FEATURE GROUP stale_g $$},
	extra_params => [ '-U', 'mon_owner' ]);
my $checked = sq(q{SELECT max(checked_at) FROM featstore.freshness_checks});
ok(poll_until(sub { sq(q{SELECT max(checked_at) FROM featstore.freshness_checks}) gt $checked }, 20),
	'the worker goes on checking after a group is dropped');
is(monitor_pid(), $pid, 'the same worker');

# off, it runs nothing; on again, it checks
sq(q{ALTER SYSTEM SET featstore.monitor = off; SELECT pg_reload_conf()});
ok(poll_until(sub { count_log($node, qr/featstore monitor: featstore.monitor is off/) >= 1 }, 20),
	'featstore.monitor = off is logged');
sq(q{ALTER SYSTEM RESET featstore.monitor; SELECT pg_reload_conf()});
ok(poll_until(sub { count_log($node, qr/LOG:  featstore monitor: running/) >= 2 }, 20),
	'on again, it runs');

# the extension dropped: the launcher stops the database's workers (issue
# 13: one pair per database where featstore is installed); created again,
# a new monitor runs
sq(q{DROP EXTENSION featstore CASCADE});
ok(poll_until(sub { monitor_pid() eq '' }, 20), 'without the extension no monitor runs');
sq(q{CREATE EXTENSION featstore});
ok(poll_until(sub { count_log($node, qr/LOG:  featstore monitor: running/) >= 3 }, 20),
	'and one runs again after CREATE EXTENSION');
isnt(monitor_pid(), $pid, 'a new process');
is(count_log($node, qr/TRAP|terminated by signal|server process .* was terminated/), 0, 'nothing crashed');

$node->stop;
done_testing();
