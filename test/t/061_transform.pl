# Scheduled SQL transformations (issue 10, part 2), end to end: the worker
# runs a group's query on its schedule as the group table's owner and the
# rows reach Redis; a failing run appends nothing, is recorded and retried
# with a doubling backoff up to the schedule, then succeeds; a schedule that
# keeps failing is shown stale; the worker wakes for the next due run;
# refresh() by a role that does not own the table is refused; a hostile
# owner's query runs as the owner, in a restricted section, even when the
# worker (a superuser) or a superuser's refresh() runs it; and pg_cron
# drives refresh() of SCHEDULE MANUAL groups, a failing one recorded and
# retried on the next tick.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);

my $rport = start_redis();
# pg_cron runs its jobs in background workers as the role that scheduled them
my $node = online_node('transform', $rport, qq{
shared_preload_libraries = 'featstore, pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
featstore.online_poll_interval = '5s'
});
my $super = $node->safe_psql('postgres', 'SELECT current_user');

$node->safe_psql('postgres', q{
	CREATE ROLE alice LOGIN IN ROLE featstore_editor;
	CREATE ROLE mallory LOGIN IN ROLE featstore_editor;
	CREATE SCHEMA app;
	CREATE TABLE app.users (user_id bigint, birth_date date, country text, flag boolean DEFAULT false);
	INSERT INTO app.users VALUES (1, '1990-05-01', 'FR'), (2, '2001-01-01', 'DE'), (3, '1975-12-31', 'IT');
	GRANT USAGE ON SCHEMA app TO alice, mallory;
	GRANT SELECT ON app.users TO alice, mallory;
	CREATE SCHEMA alice AUTHORIZATION alice;
	CREATE SCHEMA mallory AUTHORIZATION mallory;
	SELECT featstore.exec($$CREATE ENTITY user (user_id bigint)$$);
});

# as(role, sql) runs sql as role and dies on error
sub as
{
	my ($role, $sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]);
}

# try_as(role, sql) runs sql as role; returns (ok, stdout, stderr)
sub try_as
{
	my ($role, $sql) = @_;
	my ($out, $err);
	my $ret = $node->psql('postgres', $sql, extra_params => [ '-U', $role ],
		stdout => \$out, stderr => \$err);
	return ($ret == 0, $out, $err);
}

# q1(sql) runs sql as the superuser
sub q1
{
	return $node->safe_psql('postgres', $_[0]);
}

# --- 1. a scheduled run, as the issue spells it; its rows reach Redis
as('alice', q{DO LANGUAGE featstore $$
CREATE FEATURE GROUP alice.user_profile ENTITY user
    AS SELECT user_id, now() AS event_timestamp, date_part('year', age(birth_date))::int AS age_years, country
       FROM app.users
    SCHEDULE '1 hour'
    FEATURES (age_years integer 'Age in whole years', country text 'Country code')
    ONLINE;
$$});
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM featstore.transformation_runs WHERE group_name = 'user_profile' AND status = 'succeeded'}),
	'the worker ran the new group at once');
is(q1(q{SELECT rows, trigger, run_by FROM featstore.transformation_runs WHERE group_name = 'user_profile'}),
	"3|schedule|$super", 'the run appended 3 rows, started by the worker');
is(q1(q{SELECT count(*) FROM (
	  SELECT user_id, age_years, country FROM alice.user_profile
	  EXCEPT ALL
	  SELECT user_id, date_part('year', age(birth_date))::int, country FROM app.users) d}),
	'0', 'the history table holds the query result');
is(q1(q{SELECT count(*), count(DISTINCT created_at >= event_timestamp) FROM alice.user_profile}), '3|1',
	'every row is dated by the run (now() of its transaction)');
is(q1(q{SELECT next_run_at - last_success_at, consecutive_failures, last_error IS NULL
	  FROM featstore.transformations WHERE group_name = 'user_profile'}),
	'01:00:00|0|t', 'the next run is due one schedule after this one started');
wait_caught_up($node, 'user_profile');
verify_zero($node, 'user_profile', 'Redis holds the transformed rows');
like(q1(q{SELECT status || ' ' || (features->>'country') FROM featstore.online_features('user_profile', '2')}),
	qr/^found DE$/, 'online_features reads a transformed value');

# --- 2. a failing run appends nothing, is recorded, retried with backoff, then succeeds
q1(q{UPDATE app.users SET flag = true WHERE user_id = 2});
# an eighth of 8 s: retries after 1, 2 and 4 s, then every 8 s
as('alice', q{DO LANGUAGE featstore $$
CREATE FEATURE GROUP alice.flaky ENTITY user
    AS SELECT user_id, now() AS event_timestamp, 100 / CASE WHEN flag THEN 0 ELSE 1 END AS v FROM app.users
    SCHEDULE '8 seconds'
    FEATURES (v integer);
$$});
ok($node->poll_query_until('postgres',
	q{SELECT count(*) >= 3 FROM featstore.transformation_runs WHERE group_name = 'flaky' AND status = 'failed'}),
	'the failing group ran three times');
is(q1(q{SELECT count(*) FROM alice.flaky}), '0', 'failed runs appended nothing');
is(q1(q{SELECT DISTINCT error || ' ' || sqlstate || ' ' || trigger FROM featstore.transformation_runs
	  WHERE group_name = 'flaky' AND status = 'failed'}),
	'division by zero 22012 schedule', 'each failure is recorded with its error');
my $backoff = q1(q{SELECT next_run_at - last_error_at = interval '1 second' * 2 ^ (consecutive_failures - 1)
		  OR (consecutive_failures > 3 AND next_run_at - last_error_at = interval '8 seconds')
	  FROM featstore.transformations WHERE group_name = 'flaky'});
is($backoff, 't', 'the retry waits 1 s doubled per consecutive failure, at most the schedule');
# the gaps between failed runs: never early, and the worker wakes for them
my @gaps = split /\n/, q1(q{
	SELECT round(extract(epoch FROM lead(started_at) OVER (ORDER BY id) - finished_at)::numeric, 3)
	  FROM featstore.transformation_runs WHERE group_name = 'flaky' ORDER BY id LIMIT 3});
for my $i (0 .. 1)
{
	my $want = 2**$i;
	my $n = $i + 1;
	ok($gaps[$i] >= $want && $gaps[$i] < $want + 1.5,
		"retry $n came $gaps[$i] s after the failure (due after $want s), with a 5 s poll interval");
}
is(q1(q{SELECT stale, consecutive_failures >= 3, last_error FROM featstore.transformation_status WHERE group_name = 'flaky'}),
	'f|t|division by zero', 'the status view shows the failures, not yet stale');
q1(q{UPDATE app.users SET flag = false});
ok($node->poll_query_until('postgres',
	q{SELECT consecutive_failures = 0 FROM featstore.transformations WHERE group_name = 'flaky'}),
	'a retry succeeded once the input was fixed');
is(q1(q{SELECT count(*), sum(v) FROM alice.flaky}), '3|300', 'the successful retry appended every row');
is(q1(q{SELECT last_run_status, last_run_rows, last_error, next_run_at - last_success_at
	  FROM featstore.transformation_status WHERE group_name = 'flaky'}),
	'succeeded|3|division by zero|00:00:08', 'the status view shows the success; the last error stays');

# --- 3. a schedule that keeps failing goes stale; the worker wakes for due runs
as('alice', q{DO LANGUAGE featstore $$
CREATE FEATURE GROUP alice.broken ENTITY user
    AS SELECT user_id, now() AS event_timestamp, (1 / 0)::int AS v FROM app.users
    SCHEDULE '1 second'
    FEATURES (v integer);
CREATE FEATURE GROUP alice.ticker ENTITY user
    AS SELECT user_id, now() AS event_timestamp, 1 AS v FROM app.users WHERE user_id = 1
    SCHEDULE '3 seconds'
    FEATURES (v integer);
$$});
ok($node->poll_query_until('postgres',
	q{SELECT stale FROM featstore.transformation_status WHERE group_name = 'broken'}),
	'a schedule failing for over two schedules is stale');
is(q1(q{SELECT last_run_status, consecutive_failures >= 2, last_success_at IS NULL
	  FROM featstore.transformation_status WHERE group_name = 'broken'}),
	'failed|t|t', 'the stale group shows why');
ok($node->poll_query_until('postgres',
	q{SELECT count(*) >= 3 FROM featstore.transformation_runs WHERE group_name = 'ticker'}),
	'the 3-second group ran three times');
my @ticks = split /\n/, q1(q{
	SELECT round(extract(epoch FROM lead(started_at) OVER (ORDER BY id) - started_at)::numeric, 3)
	  FROM featstore.transformation_runs WHERE group_name = 'ticker' ORDER BY id LIMIT 2});
for my $t (@ticks)
{
	ok($t >= 3 && $t < 4.5, "the next run started $t s after the last (schedule 3 s, poll interval 5 s)");
}

# a refresh() held open in a transaction holds its group's lock: the worker
# skips that group and keeps running the others
as('alice', q{DO LANGUAGE featstore $$
CREATE FEATURE GROUP alice.held ENTITY user
    AS SELECT user_id, now() AS event_timestamp, 1 AS v FROM app.users WHERE user_id = 1
    SCHEDULE '1 second'
    FEATURES (v integer);
$$});
ok($node->poll_query_until('postgres',
	q{SELECT count(*) >= 1 FROM featstore.transformation_runs WHERE group_name = 'held' AND trigger = 'schedule'}),
	'the worker runs the 1-second group');
my ($hout, $herr) = ('', '');
my $holder = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-U', 'alice', '-c',
	  q{BEGIN; SELECT featstore.refresh('held'); SELECT pg_sleep(8); COMMIT;} ],
	'>', \$hout, '2>', \$herr);
ok($node->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(8)%' AND state = 'active' AND pid <> pg_backend_pid()}),
	'alice holds a refresh() open');
my $held0 = q1(q{SELECT count(*) FROM featstore.transformation_runs WHERE group_name = 'held'});
my $tick0 = q1(q{SELECT count(*) FROM featstore.transformation_runs WHERE group_name = 'ticker'});
sleep(4);
is(q1(q{SELECT count(*) FROM featstore.transformation_runs WHERE group_name = 'held'}), $held0,
	'the worker did not run the held group meanwhile');
ok(q1(q{SELECT count(*) FROM featstore.transformation_runs WHERE group_name = 'ticker'}) > $tick0,
	'the worker kept running the other groups');
$holder->finish;
ok($node->poll_query_until('postgres',
	qq{SELECT count(*) >= $held0 + 2 FROM featstore.transformation_runs WHERE group_name = 'held'}),
	'the held group runs again once the refresh() committed');

# the worker cancels a scheduled run after one schedule (at most a minute)
as('alice', q{DO LANGUAGE featstore $$
CREATE FEATURE GROUP alice.slow ENTITY user
    AS SELECT user_id, now() AS event_timestamp, 1 AS v FROM app.users CROSS JOIN pg_sleep(30)
    SCHEDULE '2 seconds'
    FEATURES (v integer);
$$});
ok($node->poll_query_until('postgres',
	q{SELECT count(*) >= 1 FROM featstore.transformation_runs WHERE group_name = 'slow' AND status = 'failed'}),
	'the slow run failed');
like(q1(q{SELECT sqlstate || ' ' || error || ' ' || (finished_at - started_at < interval '3 seconds')
	  FROM featstore.transformation_runs WHERE group_name = 'slow' ORDER BY id LIMIT 1}),
	qr/^57014 canceling statement due to statement timeout true$/, 'it was cancelled after its 2-second schedule');
as('alice', q{DO LANGUAGE featstore $$ DROP FEATURE GROUP broken; DROP FEATURE GROUP ticker; DROP FEATURE GROUP held; DROP FEATURE GROUP slow $$});

# DROP removes the transformation and its runs; the worker logged the failures
as('alice', q{DO LANGUAGE featstore $$ DROP FEATURE GROUP flaky $$});
is(q1(q{SELECT count(*) FROM featstore.transformation_runs WHERE group_name = 'flaky'}), '0',
	'DROP removed the runs');
ok(count_log($node, qr/LOG:  transformation of feature group "flaky" failed: division by zero/) >= 3,
	'the worker logged each failure');

# --- 4. who may refresh: the table's owner; a hostile owner gets nothing more
my ($ok, $out, $err) = try_as('mallory', q{SELECT featstore.refresh('user_profile')});
ok(!$ok, 'mallory may not refresh alice\'s group');
like($err, qr/must be owner of table alice\.user_profile to refresh feature group "user_profile"/,
	'the refusal names the table');
is(as('alice', q{SELECT featstore.refresh('user_profile')}), '3', 'alice refreshes her own group');

# mallory's query calls her function, which records who runs it, tries to
# make her a superuser, and tries to switch to the superuser's role
as('mallory', q{
	CREATE TABLE mallory.seen (via text, who name DEFAULT current_user,
		sess name DEFAULT session_user, attempt text);
	CREATE FUNCTION mallory.escalate(via text) RETURNS integer LANGUAGE plpgsql AS $f$
	DECLARE
		msg text := 'set role succeeded';
	BEGIN
		BEGIN
			PERFORM pg_catalog.set_config('role', (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = 10), false);
		EXCEPTION WHEN OTHERS THEN
			msg := SQLERRM;
		END;
		INSERT INTO mallory.seen (via, attempt) VALUES (via, msg);
		IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
			EXECUTE 'ALTER ROLE mallory SUPERUSER';
		END IF;
		RETURN 1;
	END $f$;
	DO LANGUAGE featstore $$
	CREATE FEATURE GROUP mallory.sneaky ENTITY user
	    AS SELECT user_id, now() AS event_timestamp, mallory.escalate('run') AS v FROM app.users WHERE user_id = 1
	    SCHEDULE '1 hour'
	    FEATURES (v integer);
	$$;
});
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM featstore.transformation_runs WHERE group_name = 'sneaky' AND status = 'succeeded'}),
	'the worker ran mallory\'s group');
is(q1(q{SELECT featstore.refresh('sneaky')}), '1', 'a superuser refreshes mallory\'s group');
is(q1(q{SELECT string_agg(DISTINCT who || ' ' || sess || ' ' || attempt, '; ') FROM mallory.seen}),
	"mallory $super cannot set parameter \"role\" within security-definer function",
	'her function ran as mallory, in a restricted section, from the worker and from the superuser');
is(q1(q{SELECT count(*) FROM mallory.seen}), '2', 'it ran twice');
is(q1(q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'}), 'f', 'mallory is no superuser');

# --- 5. pg_cron drives refresh() of SCHEDULE MANUAL groups
q1(q{CREATE EXTENSION pg_cron; GRANT USAGE ON SCHEMA cron TO alice});
q1(q{UPDATE app.users SET flag = true WHERE user_id = 3});
as('alice', q{DO LANGUAGE featstore $$
CREATE FEATURE GROUP alice.cron_ok ENTITY user
    AS SELECT user_id, now() AS event_timestamp, 1 AS v FROM app.users
    SCHEDULE MANUAL
    FEATURES (v integer);
CREATE FEATURE GROUP alice.cron_flaky ENTITY user
    AS SELECT user_id, now() AS event_timestamp, 100 / CASE WHEN flag THEN 0 ELSE 1 END AS v FROM app.users
    SCHEDULE MANUAL
    FEATURES (v integer);
$$});
is(q1(q{SELECT count(*) FROM featstore.transformations WHERE group_name LIKE 'cron%' AND next_run_at IS NULL}),
	'2', 'MANUAL groups have no next run');
as('alice', q{
	SELECT cron.schedule('refresh cron_ok', '* * * * *', $$SELECT featstore.refresh('cron_ok')$$);
	SELECT cron.schedule('refresh cron_flaky', '* * * * *', $$SELECT featstore.refresh('cron_flaky')$$);
});
my $cron_start = time();
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 2 FROM featstore.transformation_runs WHERE group_name LIKE 'cron%'}),
	'pg_cron ran both refreshes at the next minute');
is(q1(q{SELECT string_agg(group_name || ' ' || status || ' ' || coalesce(rows::text, error) || ' ' || trigger || ' ' || run_by, '; ' ORDER BY group_name)
	  FROM featstore.transformation_runs WHERE group_name LIKE 'cron%'}),
	'cron_flaky failed division by zero refresh alice; cron_ok succeeded 3 refresh alice',
	'runs are recorded as refreshes by the role that scheduled them');
is(q1(q{SELECT count(*) FROM alice.cron_flaky}), '0', 'the failed refresh appended nothing');
q1(q{UPDATE app.users SET flag = false});
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM featstore.transformation_runs WHERE group_name = 'cron_flaky' AND status = 'succeeded'}),
	'the next tick retried the failing group and it succeeded');
is(q1(q{SELECT count(*), consecutive_failures FROM alice.cron_flaky, featstore.transformations
	  WHERE group_name = 'cron_flaky' GROUP BY 2}), '3|0', 'the retry appended every row');
is(q1(q{SELECT count(*) FROM featstore.transformation_runs WHERE group_name LIKE 'cron%' AND trigger = 'schedule'}),
	'0', 'the worker never ran the MANUAL groups');
note(sprintf('pg_cron part took %.0f s', time() - $cron_start));
q1(q{SELECT cron.unschedule(jobid) FROM cron.job});

$node->stop;
done_testing();
