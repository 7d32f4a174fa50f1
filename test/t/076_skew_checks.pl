# Skew checks (issue 11, part ops): Redis corrupted by hand with redis-cli,
# through the documented layout (docs/online-store.md: the key
# <prefix>:{<entity>:<key>}:<group>, a msgpack map whose "features" map holds
# feature name -> value): a changed feature, a deleted key and a stale extra
# key are each caught by featstore.check_skew() with the right entity and
# problem, the skew alert opens, and it resolves once Redis is repaired
# (materialize() rewrites the first two; the stale key, of an entity with no
# history, is removed by hand).  A group in sync has zero differences.  The
# monitor worker's schedule: checks every featstore.skew_check_interval, as
# the table's owner, a corruption caught and resolved by scheduled checks,
# and checks recorded as not done (no skew alert) while Redis is down.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('skew', $rport, "featstore.skew_check_interval = 0\n");

$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY rider (rider_id bigint);
		CREATE FEATURE GROUP trips ENTITY rider
			FEATURES (n bigint, city text) ONLINE;
	$$);
	INSERT INTO trips (rider_id, event_timestamp, n, city)
	SELECT g, now() - interval '1 hour', g, 'c' || g FROM generate_series(1, 50) g;
});
wait_caught_up($node, '50 entities');

# check(): the check's sample size, differences and details (sorted by entity)
sub check
{
	my ($sample) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT sample_size || ' ' || differences || ' ' || done || ' ' ||
			   coalesce((SELECT string_agg(d->'entity'->>0 || ':' || (d->>'problem'), ',' ORDER BY (d->'entity'->>0)::bigint)
						   FROM jsonb_array_elements(details) d), '')
		  FROM featstore.check_skew('trips'@{[ defined $sample ? ", $sample" : '' ]})});
}
sub open_skew_alerts
{
	return $node->safe_psql('postgres',
		q{SELECT count(*) FROM featstore.alerts WHERE kind = 'skew' AND group_name = 'trips' AND resolved_at IS NULL});
}

is(check(), '50 0 true ', 'in sync: 50 entities compared, zero differences');
is(open_skew_alerts(), '0', 'no skew alert');

# --- corrupt Redis by hand ---
my $key3 = 'fs:postgres:{rider:3}:trips';
my $val3 = redis_raw('GET', $key3);
like($val3, qr/\xa8features\x82\xa1n\x03\xa4city\xa2c3/, 'redis-cli: the documented layout, features n = 3, city = c3');
(my $bad3 = $val3) =~ s/\xa1n\x03/\xa1n\x63/;	# n: 3 -> 99, a positive fixint
redis_raw('SET', $key3, $bad3);
is(redis_cmd($rport, undef, 'DEL', 'fs:postgres:{rider:5}:trips'), '1', 'redis-cli: deleted the key of entity 5');
redis_raw('SET', 'fs:postgres:{rider:999}:trips', redis_raw('GET', 'fs:postgres:{rider:7}:trips'));
is(redis_cmd($rport, undef, 'EXISTS', 'fs:postgres:{rider:999}:trips'), '1', 'redis-cli: a stale extra key for entity 999, which has no history');
like($node->safe_psql('postgres', q{SELECT features::text FROM featstore.online_features('trips', '3')}),
	qr/"n": 99/, 'online_features reads the changed value');

is(check(), '51 3 true 3:different feature values,5:missing in Redis,999:stale key in Redis',
	'each corruption caught, with its entity and problem (51 entities: the 50 of the history and 999 of Redis)');
is(open_skew_alerts(), '1', 'the skew alert is open');
is($node->safe_psql('postgres', q{
	SELECT details->>'differences' || ' ' || (details->'first' @> '[{"entity": ["999"], "problem": "stale key in Redis"}]')
	  FROM featstore.alerts WHERE kind = 'skew' AND resolved_at IS NULL}),
	'3 true', 'its details count the differences and name the entities');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM featstore.alerts a, jsonb_array_elements(a.details->'first') d
	 WHERE a.kind = 'skew' AND (d - 'entity' - 'problem') <> '{}'}),
	'0', 'and hold no values: entity and problem only');

# --- repair: materialize() rewrites every entity of the history ---
$node->safe_psql('postgres', q{SELECT featstore.materialize('trips')});
wait_caught_up($node, 'materialize()');
is(check(), '51 1 true 999:stale key in Redis',
	'materialize() repaired entities 3 and 5; the stale key of an entity with no history remains');
is(open_skew_alerts(), '1', 'the alert stays open');
is(redis_cmd($rport, undef, 'DEL', 'fs:postgres:{rider:999}:trips'), '1', 'redis-cli: the stale key removed');
like(check(10), qr/^\d+ 0 true $/, 'a clean check with a sample of 10');
is(open_skew_alerts(), '1', 'a sample smaller than featstore.skew_sample_size does not close the alert');
is(check(), '50 0 true ', 'Redis repaired: zero differences');
is(open_skew_alerts(), '0', 'the skew alert is resolved');
is($node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || count(resolved_at) FROM featstore.alerts WHERE kind = 'skew'}),
	'1 1', 'one alert, opened and resolved');

# --- the schedule: the monitor worker checks every online group ---
$node->safe_psql('postgres', q{
	CREATE ROLE alice LOGIN IN ROLE featstore_editor;
	GRANT CREATE ON SCHEMA public TO alice;});
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE FEATURE GROUP alices ENTITY rider FEATURES (x bigint) ONLINE;
	$$);
	INSERT INTO alices (rider_id, event_timestamp, x) VALUES (1, now(), 1);
	ALTER TABLE alices ENABLE ROW LEVEL SECURITY;
	ALTER TABLE alices FORCE ROW LEVEL SECURITY;
	CREATE POLICY alices_all ON alices USING (true);}, extra_params => [ '-U', 'alice' ]);
wait_caught_up($node, 'alice\'s group');
$node->append_conf('postgresql.conf', "featstore.skew_check_interval = '2s'\n");
$node->reload;
ok($node->poll_query_until('postgres', q{
	SELECT count(*) >= 3 FROM featstore.skew_checks WHERE group_name = 'trips' AND trigger = 'schedule'}),
	'scheduled checks happen');
is($node->safe_psql('postgres', q{
	SELECT bool_and(done AND differences = 0 AND sample_size = 50) FROM featstore.skew_checks
	 WHERE group_name = 'trips' AND trigger = 'schedule'}), 't', 'each compared the 50 entities, zero differences');
my $gaps = $node->safe_psql('postgres', q{
	SELECT min(gap) >= 2 AND max(gap) < 10
	  FROM (SELECT extract(epoch FROM checked_at - lag(checked_at) OVER (ORDER BY id)) AS gap
	          FROM featstore.skew_checks WHERE group_name = 'trips' AND trigger = 'schedule') g
	 WHERE gap IS NOT NULL});
is($gaps, 't', 'every featstore.skew_check_interval (2 s), not more often');
like($node->safe_psql('postgres', q{
	SELECT done || ' ' || error FROM featstore.skew_checks WHERE group_name = 'alices' AND trigger = 'schedule' ORDER BY id LIMIT 1}),
	qr/^false .*row-level security on its table public\.alices applies to role "alice"/,
	'a scheduled check runs as the table\'s owner: alice\'s forced row-level security refuses it, recorded as not done');
is($node->safe_psql('postgres', q{SELECT count(*) FROM featstore.alerts WHERE group_name = 'alices'}), '0',
	'a check not done opens no skew alert');

# a changed feature is caught by the schedule, and resolved after materialize()
my $val9 = redis_raw('GET', 'fs:postgres:{rider:9}:trips');
(my $bad9 = $val9) =~ s/\xa1n\x09/\xa1n\x0a/;
isnt($bad9, $val9, 'redis-cli: entity 9\'s n changed from 9 to 10');
redis_raw('SET', 'fs:postgres:{rider:9}:trips', $bad9);
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM featstore.alerts WHERE kind = 'skew' AND group_name = 'trips' AND resolved_at IS NULL}),
	'a scheduled check opens the skew alert');
is($node->safe_psql('postgres', q{
	SELECT differences || ' ' || details::text || ' ' || sample_size FROM featstore.skew_checks
	 WHERE group_name = 'trips' AND trigger = 'schedule' AND differences > 0 ORDER BY id LIMIT 1}),
	'1 [{"entity": ["9"], "problem": "different feature values"}] 50', 'with the right entity');
$node->safe_psql('postgres', q{SELECT featstore.materialize('trips')});
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM featstore.alerts WHERE kind = 'skew' AND group_name = 'trips' AND resolved_at IS NULL}),
	'materialize() repaired Redis: a scheduled check resolves the alert');

# Redis down: checks are recorded as not done, and are no skew alert
my $before = $node->safe_psql('postgres', q{SELECT max(id) FROM featstore.skew_checks WHERE group_name = 'trips'});
stop_redis($rport);
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) >= 1 FROM featstore.skew_checks WHERE group_name = 'trips' AND id > $before AND NOT done}),
	'Redis down: a scheduled check is recorded as not done');
like($node->safe_psql('postgres', qq{
	SELECT sample_size || ' ' || differences || ' ' || error FROM featstore.skew_checks
	 WHERE group_name = 'trips' AND id > $before AND NOT done ORDER BY id LIMIT 1}),
	qr/^0 0 could not use the Redis online store/, 'with 0 compared, 0 differences and the error');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM featstore.alerts WHERE kind = 'skew' AND resolved_at IS NULL}), '0', 'and no skew alert');
# the worker refills a new Redis process; until it has, Redis truly lags
$node->append_conf('postgresql.conf', "featstore.skew_check_interval = 0\n");
$node->reload;
start_redis(port => $rport);
wait_caught_up($node, 'a new Redis process refilled');
$node->append_conf('postgresql.conf', "featstore.skew_check_interval = '2s'\n");
$node->reload;
$before = $node->safe_psql('postgres', q{SELECT max(id) FROM featstore.skew_checks WHERE group_name = 'trips'});
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) >= 1 FROM featstore.skew_checks WHERE group_name = 'trips' AND id > $before AND done AND differences = 0}),
	'a new Redis process, refilled by the worker: checks are done again, zero differences');
is($node->safe_psql('postgres', q{SELECT count(*) FROM featstore.alerts WHERE kind = 'skew' AND resolved_at IS NULL}),
	'0', 'no skew alert');

done_testing();

# redis_raw(args...): redis-cli with the last argument's bytes given on stdin
# (-x), so a binary value passes unchanged; returns the reply's bytes
sub redis_raw
{
	my (@args) = @_;
	my @cmd = ('redis-cli', '-h', '127.0.0.1', '-p', $rport);
	my ($in, $out, $err) = ('', '', '');
	if ($args[0] eq 'SET')
	{
		$in = pop @args;
		push @cmd, '-x';
	}
	IPC::Run::run([ @cmd, @args ], '<', \$in, '>', \$out, '2>', \$err, IPC::Run::timeout(10));
	$out =~ s/\n\z//;
	return $out;
}
