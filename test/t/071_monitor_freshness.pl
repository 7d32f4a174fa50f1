# Freshness in the monitor worker (issue 11, part core), the conditions TAP
# 070 leaves out and a hostile group owner:
# - a stopped online worker (SIGSTOP): its queue ages past the SLA, and
#   materialization_lag opens beside stale_data; both resolve once it runs;
# - the online worker gone, and not restarted (its launcher frozen):
#   worker_failing with state "stopped", resolved once it runs again;
# - a transformation that has not succeeded within its SLA:
#   transformation_stale, resolved by a successful refresh();
# - an owner's forced row-level policy runs, during the check, as that owner
#   and never as the worker's superuser; a policy that makes the read slow
#   costs its own group featstore.monitor_group_timeout, and the other
#   groups are checked all the same.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('fresh', $rport, q{
featstore.monitor_naptime = '300ms'
featstore.monitor_worker_grace = '2s'
featstore.monitor_group_timeout = '1s'
featstore.skew_check_interval = 0
});

sub sq { return $node->safe_psql('postgres', $_[0]); }
sub as_role { return $node->safe_psql('postgres', $_[1], extra_params => [ '-U', $_[0] ]); }

sub open_kinds
{
	my ($group) = @_;
	return sq("SELECT coalesce(string_agg(kind, ',' ORDER BY kind), '') FROM featstore.alerts
			   WHERE group_name = '$group' AND resolved_at IS NULL");
}

sq(q{
	CREATE ROLE alice LOGIN IN ROLE featstore_editor;
	CREATE ROLE mallory LOGIN IN ROLE featstore_editor;
	CREATE SCHEMA alice AUTHORIZATION alice;
	CREATE SCHEMA mallory AUTHORIZATION mallory;
});
as_role('alice', q{
	SET search_path = alice;
	CREATE TABLE alice.raw (rider_id bigint, at timestamptz, n integer);
	DO LANGUAGE featstore $$
		CREATE ENTITY rider (rider_id bigint);
		CREATE FEATURE GROUP lagging_g ENTITY rider FEATURES (trips bigint)
			FRESHNESS '8 seconds' MONITOR NONE ONLINE;
		CREATE FEATURE GROUP xform_g ENTITY rider
			AS SELECT rider_id, pg_catalog.now() AS event_timestamp, n FROM alice.raw
			SCHEDULE MANUAL FEATURES (n integer) FRESHNESS '6 seconds' MONITOR NONE;
		CREATE FEATURE GROUP old_g ENTITY rider FEATURES (x integer) FRESHNESS '1 hour' MONITOR NONE;
	$$;
	INSERT INTO alice.raw VALUES (1, now(), 1);
	INSERT INTO alice.old_g (rider_id, event_timestamp, x) VALUES (1, now() - interval '2 hours', 1);
	INSERT INTO alice.lagging_g (rider_id, event_timestamp, trips) VALUES (1, now(), 1);
});
wait_caught_up($node, 'the online group is in Redis');

# a stopped online worker: changes wait, the queue ages past the SLA
my $worker = sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'featstore online worker'");
kill 'STOP', $worker;
as_role('alice', q{INSERT INTO alice.lagging_g (rider_id, event_timestamp, trips) VALUES (2, now(), 2)});
ok(poll_until(sub { open_kinds('lagging_g') eq 'materialization_lag,stale_data' }, 30),
	'a stopped worker: materialization_lag opens with stale_data');
is(sq(q{SELECT (details->>'queue_depth')::int >= 1 AND (details->>'lag')::float > 8
		  FROM featstore.alerts WHERE group_name = 'lagging_g' AND kind = 'materialization_lag'
		   AND resolved_at IS NULL}), 't', 'its details: the queue and a lag past the SLA');
is(sq(q{SELECT status FROM featstore.group_health WHERE group_name = 'lagging_g'}), 'alert',
	'group_health says alert');
kill 'CONT', $worker;
as_role('alice', q{INSERT INTO alice.lagging_g (rider_id, event_timestamp, trips) VALUES (3, now(), 3)});
ok(poll_until(sub { open_kinds('lagging_g') eq '' }, 6),
	'the worker runs again and a fresh row arrives: both resolve');

# the worker stopped for good: its launcher is frozen, so nothing restarts it
my $launcher = sq("SELECT pid FROM pg_stat_activity WHERE backend_type = 'featstore online launcher'");
kill 'STOP', $launcher;
sq("SELECT pg_terminate_backend($worker)");
ok(poll_until(sub { open_kinds('lagging_g') =~ /worker_failing/ }, 20),
	'a stopped worker opens worker_failing after the grace');
is(sq(q{SELECT details->>'worker_state' FROM featstore.alerts
		 WHERE group_name = 'lagging_g' AND kind = 'worker_failing' AND resolved_at IS NULL}), 'stopped',
	'naming its state');
kill 'CONT', $launcher;
ok(poll_until(sub { sq("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'featstore online worker'") eq '1' }, 20),
	'the launcher starts the worker again');
as_role('alice', q{INSERT INTO alice.lagging_g (rider_id, event_timestamp, trips) VALUES (4, now(), 4)});
ok(poll_until(sub { open_kinds('lagging_g') eq '' }, 10), 'and worker_failing resolves');

# a transformation not refreshed within its SLA
ok(poll_until(sub { open_kinds('xform_g') =~ /transformation_stale/ }, 20),
	'transformation_stale opens');
is(sq(q{SELECT details->>'sla' || ' ' || (details->>'last_success' IS NULL)::text FROM featstore.alerts
		 WHERE group_name = 'xform_g' AND kind = 'transformation_stale' AND resolved_at IS NULL}),
	'6 seconds true', 'naming the SLA and no success yet');
as_role('alice', q{SELECT featstore.refresh('xform_g')});
ok(poll_until(sub { open_kinds('xform_g') eq '' }, 5), 'a successful refresh resolves it');

# a hostile owner: a forced policy that records who runs it, and one that is slow
as_role('mallory', q{
	SET search_path = mallory;
	CREATE TABLE mallory.spy (who name, sess name);
	GRANT INSERT ON mallory.spy TO PUBLIC;
	CREATE FUNCTION mallory.peek() RETURNS boolean LANGUAGE plpgsql AS $f$
	BEGIN
		INSERT INTO mallory.spy VALUES (current_user, session_user);
		RETURN true;
	END $f$;
	CREATE FUNCTION mallory.slow() RETURNS boolean LANGUAGE plpgsql AS $f$
	BEGIN
		PERFORM pg_sleep(3);
		RETURN true;
	END $f$;
	DO LANGUAGE featstore $$
		CREATE ENTITY thing (thing_id bigint);
		CREATE FEATURE GROUP spy_g ENTITY thing FEATURES (x integer) FRESHNESS '1 hour' MONITOR NONE;
		CREATE FEATURE GROUP slow_g ENTITY thing FEATURES (x integer) FRESHNESS '1 hour' MONITOR NONE;
	$$;
	INSERT INTO mallory.spy_g (thing_id, event_timestamp, x) VALUES (1, now() - interval '3 hours', 1);
	INSERT INTO mallory.slow_g (thing_id, event_timestamp, x) VALUES (1, now() - interval '3 hours', 1);
	ALTER TABLE mallory.spy_g ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
	CREATE POLICY p ON mallory.spy_g USING (mallory.peek());
	ALTER TABLE mallory.slow_g ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
	CREATE POLICY p ON mallory.slow_g USING (mallory.slow());
	TRUNCATE mallory.spy;
});
ok(poll_until(sub { open_kinds('spy_g') eq 'stale_data' }, 20), 'the hostile group is checked');
is(sq(q{SELECT string_agg(DISTINCT who || '/' || sess, ',') FROM mallory.spy}),
	'mallory/' . sq('SELECT current_user'),
	'its policy ran as its owner, never as the worker\'s superuser');
my $slow_warning = qr/WARNING:  featstore monitor: could not check the freshness of feature group "slow_g": it took longer than featstore.monitor_group_timeout \(1000 ms\)/;
ok(poll_until(sub { count_log($node, $slow_warning) >= 1 }, 30),
	'the slow group costs its own timeout, with a WARNING');
sleep(3);
is(count_log($node, $slow_warning), 1, 'logged once, not at every check');
is(open_kinds('slow_g'), '', 'and gets no verdict');
my $checked = sq(q{SELECT checked_at FROM featstore.freshness_checks WHERE group_name = 'old_g'});
ok(poll_until(sub { sq(q{SELECT checked_at FROM featstore.freshness_checks WHERE group_name = 'old_g'}) gt $checked }, 10),
	'while the other groups are still checked');
is(open_kinds('old_g'), 'stale_data', 'and alerted');
is(count_log($node, qr/terminated by signal|server process .* was terminated/), 0, 'nothing crashed');

$node->stop;
done_testing();
