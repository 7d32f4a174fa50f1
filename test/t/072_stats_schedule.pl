# The statistics schedule (issue 11, part stats), end to end with the
# monitor worker: each completed, epoch-aligned period of a group is computed
# once, oldest first, from the group's earliest row within the retention;
# incrementally (a later run reads only its new period, and late rows into a
# computed period are not recounted until compute_stats() recomputes it);
# MONITOR NONE computes nothing; a failing period is a stats_failed alert,
# retried, and resolved once it succeeds; next_stats_at is kept; and the
# retention deletes older statistics and runs while keeping a spine's.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('stats_schedule', $rport, qq{
featstore.monitor_naptime = '500ms'
});

# sq(sql) runs sql and dies on error
sub sq { return $node->safe_psql('postgres', $_[0]); }

# poll(sql, what): wait until sql returns t
sub poll
{
	my ($sql, $what) = @_;
	ok($node->poll_query_until('postgres', $sql), $what);
}

# --- daily periods: every completed UTC day since the earliest row ---
sq(q{
	DO LANGUAGE featstore $$
		CREATE ENTITY user (user_id bigint);
		CREATE FEATURE GROUP daily ENTITY user FEATURES (x double precision, c text);
		CREATE FEATURE GROUP quiet ENTITY user FEATURES (x double precision) MONITOR NONE;
		CREATE FEATURE GROUP ancient ENTITY user FEATURES (x double precision);
	$$;
	-- a row a minute from noon 4 UTC days ago until now
	INSERT INTO daily (user_id, event_timestamp, x, c)
	SELECT i % 50, date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
	               - interval '3 days 12 hours' + i * interval '1 minute', i % 97, 'v' || (i % 7)
	  FROM generate_series(0, 96 * 60 - 1) i
	 WHERE date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
	       - interval '3 days 12 hours' + i * interval '1 minute' <= now();
	INSERT INTO quiet (user_id, event_timestamp, x) VALUES (1, now() - interval '2 days', 1);
	-- older than the retention (400 days): never computed
	INSERT INTO ancient (user_id, event_timestamp, x) VALUES (1, now() - interval '500 days', 1);
});
my $days = sq(q{SELECT count(DISTINCT date_trunc('day', event_timestamp AT TIME ZONE 'UTC'))
	FILTER (WHERE event_timestamp < date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') FROM daily});
is($days, '4', 'the history spans 4 completed UTC days');
poll(qq{SELECT count(*) = $days FROM featstore.stats_runs WHERE group_name = 'daily' AND trigger = 'schedule' AND status = 'succeeded'},
	'the worker computes each completed day');
sleep 2;
is(sq(q{SELECT count(*) FROM featstore.stats_runs WHERE group_name = 'daily'}), $days,
	'each once, and not today (it has not ended)');
is(sq(q{
	SELECT string_agg(format('%s %s %s', (period_start AT TIME ZONE 'UTC')::time, period_end - period_start,
	                         rows_read = (SELECT count(*) FROM daily WHERE event_timestamp >= r.period_start
	                                                                  AND event_timestamp < r.period_end)), ',' ORDER BY id)
	  FROM featstore.stats_runs r WHERE group_name = 'daily'}),
	join(',', ('00:00:00 1 day t') x $days),
	'periods are UTC days, oldest first, each reading only its own rows');
is(sq(q{SELECT bool_and(s.row_count = (SELECT count(*) FROM daily WHERE event_timestamp >= s.period_start
	                                                        AND event_timestamp < s.period_end))
	          AND count(*) = 2 * } . $days . q{
	  FROM featstore.feature_stats s WHERE group_name = 'daily'}), 't',
	'the statistics of every period, one row per feature, count the period\'s rows');
is(sq(q{SELECT count(*) FROM featstore.stats_runs WHERE group_name IN ('quiet', 'ancient')}), '0',
	'MONITOR NONE and a history older than the retention: nothing computed');
is(sq(qq{SELECT count(DISTINCT period_start) FROM featstore.drift WHERE group_name = 'daily'}), $days,
	'the drift view tests every scheduled period');

# --- incremental: one-minute periods, each new one read alone ---
# (one transaction, so that the worker never sees the group empty: it would
# look again only 30 seconds later)
sq(q{
	BEGIN;
	DO LANGUAGE featstore $$
		CREATE FEATURE GROUP fast ENTITY user FEATURES (x double precision) MONITOR EVERY '1 minute';
	$$;
	INSERT INTO fast (user_id, event_timestamp, x)
	SELECT i, now() - interval '3 minutes' + i * interval '100 ms', i FROM generate_series(1, 1790) i;
	COMMIT;
});
poll(q{SELECT count(*) >= 3 FROM featstore.stats_runs WHERE group_name = 'fast' AND status = 'succeeded'},
	'a group with MONITOR EVERY 1 minute gets its completed periods');
my $before = sq(q{SELECT max(id) FROM featstore.stats_runs WHERE group_name = 'fast'});
sq(q{INSERT INTO fast (user_id, event_timestamp, x) SELECT i, now() + i * interval '10 ms', i FROM generate_series(1, 200) i});
poll(qq{SELECT count(*) >= 1 FROM featstore.stats_runs WHERE group_name = 'fast' AND id > $before AND status = 'succeeded'},
	'the next period is computed once it has ended');
is(sq(q{
	SELECT bool_and(period_end - period_start = interval '1 minute'
	                AND extract(epoch FROM period_start)::numeric % 60 = 0
	                AND rows_read = (SELECT count(*) FROM fast WHERE event_timestamp >= r.period_start
	                                                          AND event_timestamp < r.period_end))
	       AND count(*) = count(DISTINCT period_start)
	  FROM featstore.stats_runs r WHERE group_name = 'fast'}), 't',
	'every run read one epoch-aligned minute, only its rows, and no period twice');
is(sq(q{SELECT sum(rows_read) = (SELECT count(*) FROM fast WHERE event_timestamp < (SELECT max(period_end) FROM featstore.stats_runs WHERE group_name = 'fast'))
	  FROM featstore.stats_runs WHERE group_name = 'fast'}), 't',
	'together the runs read each row once');
poll(q{SELECT s.next_stats_at = (SELECT max(period_end) FROM featstore.stats_runs WHERE group_name = 'fast') + interval '1 minute'
	  FROM featstore.monitor_settings s WHERE group_name = 'fast'},
	'monitor_settings.next_stats_at is the end of the next period');

# --- late rows are not recounted by the schedule; compute_stats() recomputes ---
my ($ps, $pe, $rc) = split /\|/, sq(q{
	SELECT period_start, period_end, s.row_count FROM featstore.feature_stats s
	 WHERE group_name = 'daily' AND feature_name = 'x' ORDER BY period_start LIMIT 1});
sq(qq{INSERT INTO daily (user_id, event_timestamp, x, c) VALUES (7, '$ps'::timestamptz + interval '1 second', 1e6, 'late')});
sleep 2;
is(sq(qq{SELECT row_count FROM featstore.feature_stats WHERE group_name = 'daily' AND feature_name = 'x' AND period_start = '$ps'}),
	$rc, 'a late row into a computed period is not recounted by the schedule');
sq(qq{SELECT featstore.compute_stats('daily', '$ps', '$pe')});
is(sq(qq{SELECT row_count FROM featstore.feature_stats WHERE group_name = 'daily' AND feature_name = 'x' AND period_start = '$ps'}),
	$rc + 1, 'compute_stats() recomputes it');

# --- a failing period: an alert, retried, resolved when it succeeds ---
sq(q{
	BEGIN;
	DO LANGUAGE featstore $$ CREATE FEATURE GROUP broken ENTITY user FEATURES (v integer) MONITOR EVERY '1 hour' $$;
	INSERT INTO broken (user_id, event_timestamp, v) VALUES (1, now() - interval '3 hours', 1);
	SET LOCAL session_replication_role = replica;
	ALTER TABLE broken ALTER COLUMN v TYPE bigint;
	COMMIT;
});
poll(q{SELECT count(*) > 0 FROM featstore.alerts WHERE group_name = 'broken' AND kind = 'stats_failed' AND resolved_at IS NULL},
	'a failing scheduled period raises a stats_failed alert');
like(sq(q{SELECT details->>'error' FROM featstore.alerts WHERE group_name = 'broken' AND kind = 'stats_failed'}),
	qr/feature column "v" of feature group "broken" has type bigint, but the registry records integer/,
	'the alert says why');
is(sq(q{SELECT count(*) FROM featstore.stats_runs WHERE group_name = 'broken' AND status = 'succeeded'}), '0',
	'nothing computed for it meanwhile');
like(slurp_file($node->logfile), qr/statistics of feature group "broken": feature column "v"/, 'the failure is logged');
sq(q{SET session_replication_role = replica; ALTER TABLE broken ALTER COLUMN v TYPE integer;
	UPDATE featstore.monitor_settings SET next_stats_at = now() WHERE group_name = 'broken'});
poll(q{SELECT count(*) > 0 FROM featstore.alerts WHERE group_name = 'broken' AND kind = 'stats_failed' AND resolved_at IS NOT NULL},
	'once repaired, the retried period succeeds and resolves the alert');
is(sq(q{SELECT count(*) >= 3 FROM featstore.stats_runs WHERE group_name = 'broken' AND status = 'succeeded'}), 't',
	'and the periods it held back follow');

# --- retention: older statistics and runs go, a spine's stay ---
sq(q{
	CREATE TABLE spine AS SELECT DISTINCT user_id, now() - interval '3 days' AS ts FROM daily;
	SELECT featstore.compute_stats('daily', 'spine'::regclass, 'train', 'ts');
});
my $total = sq(q{SELECT count(*) FROM featstore.feature_stats WHERE group_name = 'daily' AND scope = 'period'});
my $old = sq(q{SELECT count(*) FROM featstore.feature_stats WHERE group_name = 'daily' AND scope = 'period'
	AND period_end < now() - interval '2 days'});
cmp_ok($old, '>', 0, 'some periods ended more than 2 days ago');
sq(q{ALTER SYSTEM SET featstore.monitor_retention = '2 days'; SELECT pg_reload_conf()});
sleep 1;
is(sq(q{SHOW featstore.monitor_retention}), '2 days', 'the retention is set by a reload');
my ($ret, $out, $err) = $node->psql('postgres', q{ALTER SYSTEM SET featstore.monitor_retention = '1 month'});
like($err, qr/featstore.monitor_retention must be positive, in days, hours or smaller units/, 'a retention in months is refused');
my $deleted = sq(q{SELECT featstore.purge_stats()});
cmp_ok($deleted, '>=', $old, 'purge_stats() deletes the statistics of periods older than the retention');
is(sq(q{SELECT count(*) FROM featstore.feature_stats WHERE scope = 'period' AND period_end < now() - interval '2 days'}), '0',
	'none is left');
is(sq(q{SELECT count(*) FROM featstore.stats_runs r WHERE period_end < now() - interval '2 days'
	AND NOT EXISTS (SELECT 1 FROM featstore.feature_stats s WHERE s.run_id = r.id AND s.scope = 'spine')}), '0',
	'nor their runs');
is(sq(q{SELECT count(*) FROM featstore.feature_stats WHERE group_name = 'daily' AND scope = 'period'}), $total - $old,
	'newer periods stay');
is(sq(q{SELECT count(*) FROM featstore.feature_stats WHERE group_name = 'daily' AND scope = 'spine' AND label = 'train'}), '2',
	'a spine\'s statistics (a pinned reference) stay');
sleep 2;
is(sq(q{SELECT count(*) FROM featstore.stats_runs WHERE group_name = 'daily' AND trigger = 'schedule'
	AND period_end < now() - interval '2 days'}), '0',
	'the schedule does not recompute what the retention deleted');
($ret, $out, $err) = $node->psql('postgres', q{SET ROLE featstore_editor; SELECT featstore.purge_stats()});
like($err, qr/permission denied for function purge_stats/, 'purge_stats() is a superuser\'s');

$node->stop;
stop_redis($rport);
done_testing();
