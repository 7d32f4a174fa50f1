# Drift evaluated by the monitor worker (issue 11, part drift), end to end:
# a group set to MONITOR EVERY '1 day' over 40 complete days of history whose
# last day has a feature turned all-NULL.  The worker computes every day's
# statistics on its schedule and evaluates each day's drift after it, and
# opens exactly one alert: that feature, that day, with the failing tests.
# A reader without grants sees neither the tests nor the alert.  The owner
# repairs the day, recomputes and re-evaluates it, and the alert resolves;
# the worker does not open it again.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('drift', $rport, q{
featstore.monitor_naptime = '300ms'
});

sub sq { return $node->safe_psql('postgres', $_[0]); }

sub as_owner
{
	return $node->safe_psql('postgres', $_[0], extra_params => [ '-U', 'drift_owner' ]);
}

sq(q{
	CREATE ROLE drift_owner LOGIN IN ROLE featstore_editor;
	CREATE ROLE drift_reader LOGIN IN ROLE featstore_reader;
	GRANT CREATE ON SCHEMA public TO drift_owner;
});
as_owner(q{DO LANGUAGE featstore $$
	CREATE ENTITY account (account_id bigint);
	CREATE FEATURE GROUP account_daily ENTITY account
		FEATURES (amount double precision, ratio double precision, plan text)
		MONITOR NONE;
$$});

# 40 complete UTC days ending yesterday, 2000 rows a day (deterministic:
# setseed, one INSERT); ratio is NULL in every row of yesterday
my $yesterday = sq(q{SELECT ((now() AT TIME ZONE 'UTC')::date - 1)::text});
as_owner(q{
	SELECT setseed(0.42);
	INSERT INTO account_daily (account_id, event_timestamp, amount, ratio, plan)
	SELECT i, d + i * interval '30 seconds',
		   50 + 10 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()),
		   CASE WHEN k = 1 THEN NULL ELSE random() END,
		   (ARRAY['free', 'pro', 'team'])[1 + floor(random() * 3)::int]
	  FROM generate_series(40, 1, -1) k,
		   LATERAL (SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') - k * interval '1 day')
						   AT TIME ZONE 'UTC' AS d) t,
		   generate_series(1, 2000) i;
});

# monitored once the history is there: a group's first scheduled period is
# that of its earliest row, looked for when the group becomes due
as_owner(q{SELECT featstore.exec($$ALTER FEATURE GROUP account_daily SET MONITOR EVERY '1 day'$$)});

ok( $node->poll_query_until('postgres', q{
		SELECT count(*) = 40 FROM featstore.stats_runs
		 WHERE group_name = 'account_daily' AND trigger = 'schedule' AND status = 'succeeded'}),
	'the worker computes the 40 days on its schedule');
ok( $node->poll_query_until('postgres', q{
		SELECT count(*) > 0 FROM featstore.alerts WHERE kind = 'drift' AND group_name = 'account_daily'}),
	'and opens a drift alert by itself');

is( sq(q{
		SELECT feature_name, (details->>'period_start')::timestamptz AT TIME ZONE 'UTC',
			   resolved_at IS NULL,
			   (SELECT string_agg(t->>'test', ',' ORDER BY t->>'test')
				  FROM jsonb_array_elements(details->'tests') t),
			   details->>'baseline', details->>'baseline_periods'
		  FROM featstore.alerts WHERE kind = 'drift' AND group_name = 'account_daily'}),
	"ratio|$yesterday 00:00:00|t|all_null,null_rate_sigma|trailing|30",
	'one alert: ratio, yesterday, all_null and null_rate_sigma against 30 days');

# every period the worker could evaluate was, and only the incident drifts
is( sq(q{
		SELECT count(DISTINCT period_start) FROM featstore.drift
		 WHERE group_name = 'account_daily' AND test = 'null_rate_sigma' AND verdict <> 'no baseline'}),
	'33', 'days 8 to 40 have a baseline of at least 7 periods');
is( sq(q{
		SELECT string_agg(DISTINCT feature_name || ' ' || (period_start AT TIME ZONE 'UTC')::date, ',')
		  FROM featstore.drift WHERE group_name = 'account_daily' AND verdict = 'drift'}),
	"ratio $yesterday", 'no other feature or day has a drift verdict');

# a reader without grants on the table sees nothing of it
is( $node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM featstore.drift WHERE group_name = 'account_daily'),
			   (SELECT count(*) FROM featstore.alerts WHERE group_name = 'account_daily')},
		extra_params => [ '-U', 'drift_reader' ]),
	'0|0', 'a reader without grants sees neither the tests nor the alert');

# the owner repairs yesterday, recomputes and re-evaluates it: resolved
as_owner(qq{
	SELECT setseed(0.7);
	UPDATE account_daily SET ratio = random()
	 WHERE event_timestamp >= '$yesterday'::date AT TIME ZONE 'UTC'
	   AND event_timestamp < ('$yesterday'::date + 1) AT TIME ZONE 'UTC';
});
is( as_owner(qq{
		SELECT featstore.compute_stats('account_daily', '$yesterday'::date AT TIME ZONE 'UTC',
									   ('$yesterday'::date + 1) AT TIME ZONE 'UTC') > 0,
			   featstore.evaluate_drift('account_daily', '$yesterday'::date AT TIME ZONE 'UTC',
										('$yesterday'::date + 1) AT TIME ZONE 'UTC')}),
	't|0', 'the repaired day has no drift');
is( sq(q{SELECT count(*) FILTER (WHERE resolved_at IS NULL), count(*)
		   FROM featstore.alerts WHERE kind = 'drift' AND group_name = 'account_daily'}),
	'0|1', 'its alert is resolved');

# the worker goes on (today is not complete): it opens nothing again
sleep(2);
is( sq(q{SELECT count(*) FROM featstore.alerts WHERE kind = 'drift' AND group_name = 'account_daily'}),
	'1', 'the worker does not reopen it');

$node->stop;
stop_redis($rport);
done_testing();
