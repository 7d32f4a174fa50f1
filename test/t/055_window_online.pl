# Groups defined FROM a source (issue 10) kept in Redis at now(), with
# windows of a few seconds: counts rise with inserts and fall back as events
# age out with no writes; a late event, a future-dated one, a deleted one,
# an UPDATE of an aggregated column and of a key, COPY, TRUNCATE and a
# Redis restart.  Every check reads Redis through the documented layout
# (test/python/window_online_check.py, msgpack) at an instant away from any
# change and compares it with an independent oracle, LATERAL SQL over the
# source at that instant: 0 differences.  Also the lag of an expiry-driven
# rewrite behind its due time, capture on and off with SET OFFLINE / ONLINE
# and DROP, and the TRIGGER privilege check.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $rport = start_redis();
my $node = online_node('window', $rport);

$node->safe_psql('postgres', q{
	CREATE SCHEMA analytics;
	CREATE TABLE analytics.tx (user_id text, event_time timestamptz,
		ingested_at timestamptz DEFAULT clock_timestamp(), amount double precision,
		merchant_id text, status text DEFAULT 'ok');
	CREATE ROLE bob LOGIN;
	GRANT featstore_editor TO bob;
	GRANT USAGE ON SCHEMA analytics TO bob;
	GRANT SELECT ON analytics.tx TO bob;
	GRANT CREATE ON SCHEMA public TO bob;
});

# --- ONLINE needs TRIGGER on the source; nothing is created without it ---
$node->safe_psql('postgres', q{SELECT * FROM featstore.exec($$ CREATE ENTITY user (user_id text); $$)});
my ($rc, $out, $err) = $node->psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE FEATURE GROUP bobs ENTITY user FROM analytics.tx TIMESTAMP event_time
			FEATURES (c bigint AS count(*) OVER '3 seconds') ONLINE;
	$$)}, extra_params => [ '-U', 'bob' ]);
like($err, qr/permission denied to set feature group "bobs" ONLINE: role "bob" may not create triggers on its source analytics\.tx/,
	'ONLINE without TRIGGER on the source is refused');
like($err, qr/HINT:  The owner of analytics\.tx can run GRANT TRIGGER ON analytics\.tx TO bob/, 'with a hint');
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM featstore.feature_groups WHERE name = 'bobs')
	     + (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'analytics.tx'::regclass)
	     + (SELECT count(*) FROM pg_class WHERE relname = 'bobs')}), '0',
	'nothing half-created: no group, no trigger, no view');

# --- two groups on one source, created ONLINE over existing events ---
$node->safe_psql('postgres', q{
	INSERT INTO analytics.tx (user_id, event_time, amount, merchant_id, status)
	SELECT 'u' || g, now() - make_interval(secs => g / 10.0), g * 1.5, 'm' || (g % 3),
	       CASE WHEN g = 5 THEN 'declined' ELSE 'ok' END
	  FROM generate_series(1, 6) g;
	INSERT INTO analytics.tx (user_id, event_time, amount, merchant_id)
	VALUES ('u1', now() - interval '0.3 seconds', 0.25, 'm9'),
	       ('u1', now() - interval '1 hour', 100, 'm8');
	SELECT * FROM featstore.exec($$
		CREATE FEATURE GROUP tx_win ENTITY user
			FROM analytics.tx TIMESTAMP event_time CREATED ingested_at
			WHERE status <> 'declined'
			FEATURES (
				c3 bigint AS count(*) OVER '3 seconds' 'count, 3 s',
				s3 double precision AS sum(amount) OVER '3 seconds',
				m6 double precision AS max(amount) OVER '6 seconds',
				d6 bigint AS count(DISTINCT merchant_id) OVER '6 seconds',
				a6 double precision AS avg(amount) OVER '6 seconds' DEFAULT 0,
				r3 double precision AS s3 / nullif(c3, 0))
			ONLINE;
		CREATE FEATURE GROUP tx_all ENTITY user
			FROM analytics.tx TIMESTAMP event_time CREATED ingested_at
			FEATURES (
				c3 bigint AS count(*) OVER '3 seconds',
				n bigint AS count(*),
				lastm text AS last(merchant_id),
				sd6 double precision AS stddev_samp(amount) OVER '6 seconds')
			ONLINE;
	$$)});
is($node->safe_psql('postgres', q{
	SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger
	 WHERE tgrelid = 'analytics.tx'::regclass}),
	join(',', map { my $e = $_; map { "featstore_online_${e}_$_" } qw(tx_all tx_win) }
		qw(delete insert truncate update)),
	'each group has its four capture triggers on the source');

# The oracles: the features of every entity of the source at %(t)s, by
# LATERAL aggregates over the source; present says whether a key must exist
# (an event inside some window, or any event with an unbounded feature)
my $oracle_win = q{
	SELECT e.user_id, a.n6 > 0,
	       (extract(epoch FROM a.latest) * 1000000)::bigint,
	       json_build_object('c3', a.c3, 's3', a.s3, 'm6', a.m6, 'd6', a.d6,
	                         'a6', coalesce(a.a6, 0), 'r3', a.s3 / nullif(a.c3, 0))::text
	  FROM (SELECT DISTINCT user_id FROM analytics.tx) e
	 CROSS JOIN LATERAL (
		SELECT count(*) AS n6, max(x.event_time) AS latest,
		       count(*) FILTER (WHERE x.event_time > %(t)s - interval '3 seconds') AS c3,
		       sum(x.amount) FILTER (WHERE x.event_time > %(t)s - interval '3 seconds') AS s3,
		       max(x.amount) AS m6, count(DISTINCT x.merchant_id) AS d6, avg(x.amount) AS a6
		  FROM analytics.tx x
		 WHERE x.user_id = e.user_id AND x.status <> 'declined'
		   AND x.event_time <= %(t)s AND x.event_time > %(t)s - interval '6 seconds') a};
my $oracle_all = q{
	SELECT e.user_id, a.n > 0,
	       (extract(epoch FROM a.latest) * 1000000)::bigint,
	       json_build_object('c3', a.c3, 'n', a.n, 'sd6', a.sd6,
	         'lastm', (SELECT x.merchant_id FROM analytics.tx x
	                    WHERE x.user_id = e.user_id AND x.event_time <= %(t)s
	                    ORDER BY x.event_time DESC, x.ingested_at DESC LIMIT 1))::text
	  FROM (SELECT DISTINCT user_id FROM analytics.tx) e
	 CROSS JOIN LATERAL (
		SELECT count(*) AS n, max(x.event_time) AS latest,
		       count(*) FILTER (WHERE x.event_time > %(t)s - interval '3 seconds') AS c3,
		       stddev_samp(x.amount) FILTER (WHERE x.event_time > %(t)s - interval '6 seconds') AS sd6
		  FROM analytics.tx x
		 WHERE x.user_id = e.user_id AND x.event_time <= %(t)s) a};
# every instant at which a value may change: an event entering, or leaving a window
my $changes = q{
	SELECT x.event_time + v.w FROM analytics.tx x,
	       (VALUES (interval '0'), (interval '3 seconds'), (interval '6 seconds')) v(w)};

# check(group, oracle, what): Redis equals the oracle at a quiet instant
sub check
{
	my ($group, $oracle, $what) = @_;
	my @cmd = ('/usr/bin/python3', 'test/python/window_online_check.py', 'check',
		'--group', $group, '--entity', 'user', '--oracle', $oracle, '--changes', $changes,
		'--pghost', $node->host, '--pgport', $node->port, '--redis-port', $rport);
	my ($o, $e) = ('', '');
	IPC::Run::run(\@cmd, '>', \$o, '2>', \$e, IPC::Run::timeout(60));
	diag($e) if $e ne '';
	my ($checked, $present, $diffs) = $o =~ /checked=(\d+) present=(\d+) diffs=(\d+)/;
	diag($o) if !defined $diffs || $diffs != 0;
	is($diffs, 0, "$group: Redis equals the oracle, $what ($present keys of $checked entities)");
	return $present;
}

# features(group, user): the features in Redis, as the documented layout says
sub features
{
	my ($group, $user) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(features::text, status) FROM featstore.online_features('$group', '$user')");
}

wait_caught_up($node, 'groups created over existing events');
like(features('tx_win', 'u1'), qr/"c3": 2,/, 'u1 counts its two recent events');
is(features('tx_win', 'u5'), 'missing', 'a declined event counts nowhere: no key');
my $pexp = redis_cmd($rport, undef, 'PEXPIRETIME', 'fs:postgres:{user:u1}:tx_win');
cmp_ok($pexp, '>', time() * 1000, 'a windowed key expires in Redis');
cmp_ok($pexp, '<=', (time() + 6) * 1000, '... within its longest window');
is(redis_cmd($rport, undef, 'PEXPIRETIME', 'fs:postgres:{user:u1}:tx_all'), '-1',
	'a key with an unbounded feature never expires');
check('tx_win', $oracle_win, 'after creation');
check('tx_all', $oracle_all, 'after creation');

# --- counts rise with inserts ---
$node->safe_psql('postgres', q{
	INSERT INTO analytics.tx (user_id, event_time, amount, merchant_id) VALUES ('rise', now(), 1, 'a')});
wait_caught_up($node, 'one event');
like(features('tx_win', 'rise'), qr/"c3": 1,/, 'one event: 1');
$node->safe_psql('postgres', q{
	INSERT INTO analytics.tx (user_id, event_time, amount, merchant_id, ingested_at)
	SELECT 'u' || (g % 3 + 1), now() - make_interval(secs => g / 100.0), g, 'm' || g, clock_timestamp()
	  FROM generate_series(1, 9) g
	-- two events of one instant: c written after b, whatever the clock's
	-- resolution (two clock_timestamp() calls can return the same value, and
	-- an exact tie's last() is unspecified)
	UNION ALL SELECT 'rise', now(), 2, 'b', now()
	UNION ALL SELECT 'rise', now(), 3, 'c', clock_timestamp()});
wait_caught_up($node, 'inserts');
like(features('tx_win', 'rise'), qr/"c3": 3,.*"s3": 6\b/, 'two more events: 3, summed');
check('tx_win', $oracle_win, 'after inserts');
check('tx_all', $oracle_all, 'after inserts');

# --- and fall back as events age out, with no write at all ---
sleep 4;
check('tx_win', $oracle_win, '4 s later, no writes');
check('tx_all', $oracle_all, '4 s later, no writes');
like(features('tx_all', 'u1'), qr/"c3": 0,/, 'u1 fell back to 0 in 3 s');
sleep 3;
is(check('tx_win', $oracle_win, '7 s later: every window empty'), 0, 'every windowed key is gone');
is(redis_cmd($rport, undef, 'EXISTS', 'fs:postgres:{user:u1}:tx_win'), '0', 'redis-cli: no key for u1 in tx_win');
check('tx_all', $oracle_all, '7 s later');
like(features('tx_all', 'u1'), qr/"n": 6, "c3": 0, "sd6": null/, 'the unbounded count stays, the windows are empty');

# --- the lag of an expiry-driven rewrite behind its due time ---
{
	my @cmd = ('/usr/bin/python3', 'test/python/window_online_check.py', 'lag',
		'--group', 'tx_all', '--entity', 'user', '--source', 'analytics.tx', '--feature', 'c3',
		'--rows', 100, '--window-s', 3, '--min-ms', 500, '--max-ms', 3000,
		'--pghost', $node->host, '--pgport', $node->port, '--redis-port', $rport);
	my ($o, $e) = ('', '');
	IPC::Run::run(\@cmd, '>', \$o, '2>', \$e, IPC::Run::timeout(60));
	diag($e) if $e ne '';
	like($o, qr/^missing=0$/m, 'every count fell back in Redis');
	my ($n, $p50, $p99, $max, $min) = $o =~ /lag n=(\d+) p50=(\S+) p99=(\S+) max=(\S+) min=(\S+)/;
	diag(sprintf('expiry-driven rewrites, due time to Redis: p50 %.1f ms, p99 %.1f ms, max %.1f ms, min %.1f ms (%d entities)',
		$p50 // -1, $p99 // -1, $max // -1, $min // -1, $n // 0));
	cmp_ok($p99 // 1e9, '<', 100, 'p99 lag under 100 ms');
	cmp_ok($min // -1e9, '>', -1, 'no count fell before its due time');
}
check('tx_all', $oracle_all, 'after the lag probe');

# --- a late event lands inside a window; a future-dated one enters at its time ---
$node->safe_psql('postgres', q{
	INSERT INTO analytics.tx (user_id, event_time, amount, merchant_id) VALUES
		('u2', now() - interval '1 second', 3, 'late'),
		('u3', now() + interval '1.5 seconds', 4, 'future')});
my $t_future = time() + 1.5;
wait_caught_up($node, 'a late and a future-dated event');
like(features('tx_win', 'u2'), qr/"c3": 1,/, 'the late event counts');
like(features('tx_all', 'u3'), qr/"c3": 0,/, 'the future-dated event does not count yet');
usleep(int(($t_future + 0.2 - time()) * 1e6)) if $t_future + 0.2 > time();
like(features('tx_all', 'u3'), qr/"c3": 1,/, 'the future-dated event counts once it is due');
check('tx_win', $oracle_win, 'a late event and a future-dated one');
check('tx_all', $oracle_all, 'a late event and a future-dated one');

# --- DELETE, UPDATE of an aggregated column, of the key, of the WHERE column ---
$node->safe_psql('postgres', q{
	INSERT INTO analytics.tx (user_id, event_time, amount, merchant_id) VALUES
		('u4', now() - interval '0.5 seconds', 10, 'a'),
		('u4', now() - interval '0.4 seconds', 20, 'b'),
		('u6', now() - interval '0.3 seconds', 30, 'c')});
wait_caught_up($node, 'events to change');
$node->safe_psql('postgres', q{DELETE FROM analytics.tx WHERE user_id = 'u4' AND amount = 20});
wait_caught_up($node, 'a delete');
like(features('tx_win', 'u4'), qr/"c3": 1,.*"s3": 10\b/, 'the deleted event is removed');
$node->safe_psql('postgres', q{UPDATE analytics.tx SET amount = 12.5 WHERE user_id = 'u4' AND amount = 10});
wait_caught_up($node, 'an update');
like(features('tx_win', 'u4'), qr/"s3": 12\.5\}/, 'the updated amount counts');
check('tx_win', $oracle_win, 'after a DELETE and an UPDATE of an aggregated column');
$node->safe_psql('postgres', q{
	DELETE FROM analytics.tx WHERE user_id IN ('u6', 'u7');
	INSERT INTO analytics.tx (user_id, event_time, amount, merchant_id) VALUES ('u6', now(), 30, 'c')});
wait_caught_up($node, 'a fresh event to move');
$node->safe_psql('postgres', q{UPDATE analytics.tx SET user_id = 'u7' WHERE user_id = 'u6'});
$node->safe_psql('postgres', q{UPDATE analytics.tx SET status = 'declined' WHERE user_id = 'u4'});
wait_caught_up($node, 'key and WHERE updates');
is(features('tx_win', 'u6'), 'missing', 'the event moved away from its old key');
like(features('tx_win', 'u7'), qr/"c3": 1,/, 'and to its new one');
is(features('tx_win', 'u4'), 'missing', 'a WHERE that drops the last event drops the key');
check('tx_win', $oracle_win, 'after UPDATEs of a key and of the WHERE column');
check('tx_all', $oracle_all, 'after the UPDATEs');

# --- COPY ---
$node->safe_psql('postgres', q{
	COPY analytics.tx (user_id, event_time, amount, merchant_id) FROM PROGRAM
	'for i in 1 2 3 4 5; do printf "cp$i\t%s\t$i\tm$i\n" "$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)"; done'});
wait_caught_up($node, 'COPY');
like(features('tx_win', 'cp3'), qr/"c3": 1,/, 'a COPY is captured');
check('tx_win', $oracle_win, 'after COPY');

# --- TRUNCATE, then new events ---
$node->safe_psql('postgres', 'TRUNCATE analytics.tx');
wait_caught_up($node, 'TRUNCATE');
is(redis_cmd($rport, undef, 'DBSIZE'), '0', 'TRUNCATE removes every key of both groups');
$node->safe_psql('postgres', q{
	INSERT INTO analytics.tx (user_id, event_time, amount, merchant_id)
	SELECT 'u' || g, now() - make_interval(secs => g / 10.0), g, 'm' FROM generate_series(1, 20) g});
wait_caught_up($node, 'events after TRUNCATE');
check('tx_win', $oracle_win, 'after TRUNCATE and new events');
check('tx_all', $oracle_all, 'after TRUNCATE and new events');

# --- a Redis restart, empty ---
$node->safe_psql('postgres', q{
	INSERT INTO analytics.tx (user_id, event_time, amount, merchant_id)
	SELECT 'r' || g, now() - make_interval(secs => g / 10.0), g, 'm' FROM generate_series(1, 10) g});
wait_caught_up($node, 'events before the restart');
stop_redis($rport, 'KILL');
start_redis(port => $rport);
ok(poll_until(sub { redis_cmd($rport, undef, 'DBSIZE') > 0 }, 10), 'keys are back after a Redis restart');
wait_caught_up($node, 'after the Redis restart');
check('tx_win', $oracle_win, 'after a Redis restart');
check('tx_all', $oracle_all, 'after a Redis restart');

# --- verify_online at one instant, with the engine ---
ok(poll_until(sub {
	$node->safe_psql('postgres', q{
		SELECT count(*) FROM featstore.verify_online('tx_win')}) eq '0' }, 5),
	'verify_online(tx_win) finds no difference');
verify_zero($node, 'tx_all');
ok($node->poll_query_until('postgres', q{
	SELECT worker_state, entities_written > 0, keys_removed > 0, parked, queue_depth
	  FROM featstore.materialization_status WHERE group_name = 'tx_win'}, 'idle|t|t|0|0'),
	'materialization_status shows the source group: idle, written, removed, nothing parked or queued');

# --- SET OFFLINE detaches and purges, SET ONLINE refills, DROP detaches ---
$node->safe_psql('postgres', q{
	INSERT INTO analytics.tx (user_id, event_time, amount, merchant_id)
	SELECT 'o' || g, now() - make_interval(secs => g / 10.0), g, 'm' FROM generate_series(1, 10) g});
wait_caught_up($node, 'events before SET OFFLINE');
$node->safe_psql('postgres', q{SELECT * FROM featstore.exec($$ ALTER FEATURE GROUP tx_win SET OFFLINE $$)});
wait_caught_up($node, 'SET OFFLINE');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_trigger
	WHERE tgrelid = 'analytics.tx'::regclass AND tgname LIKE '%tx_win'}), '0', 'SET OFFLINE drops the triggers');
is(redis_cmd($rport, undef, '--scan', '--pattern', 'fs:*:tx_win'), '', 'and the keys');
is($node->safe_psql('postgres', q{INSERT INTO analytics.tx (user_id, event_time) VALUES ('off', now());
	SELECT count(*) FROM featstore.online_queue WHERE group_name = 'tx_win' AND not_before IS NULL}), '0',
	'an offline group captures nothing');
$node->safe_psql('postgres', q{SELECT * FROM featstore.exec($$ ALTER FEATURE GROUP tx_win SET ONLINE $$)});
wait_caught_up($node, 'SET ONLINE');
check('tx_win', $oracle_win, 'after SET OFFLINE and SET ONLINE');
is($node->safe_psql('postgres', q{SELECT featstore.materialize('tx_win') > 0}), 't', 'materialize() lists the entities');
wait_caught_up($node, 'materialize');
check('tx_win', $oracle_win, 'after materialize()');
$node->safe_psql('postgres', q{SELECT * FROM featstore.exec($$ DROP FEATURE GROUP tx_win $$)});
wait_caught_up($node, 'DROP');
is($node->safe_psql('postgres', q{SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger
	WHERE tgrelid = 'analytics.tx'::regclass}),
	'featstore_online_delete_tx_all,featstore_online_insert_tx_all,featstore_online_truncate_tx_all,featstore_online_update_tx_all',
	'DROP removes its triggers, the other group keeps its own');
is(redis_cmd($rport, undef, '--scan', '--pattern', 'fs:*:tx_win'), '', 'and its keys');
check('tx_all', $oracle_all, 'the other group goes on');

# --- a partitioned source: capture on the partitioned table ---
$node->safe_psql('postgres', q{
	CREATE TABLE analytics.ptx (user_id text, event_time timestamptz, amount bigint)
		PARTITION BY RANGE (event_time);
	CREATE TABLE analytics.ptx_old PARTITION OF analytics.ptx FOR VALUES FROM (MINVALUE) TO ('2000-01-01');
	CREATE TABLE analytics.ptx_new PARTITION OF analytics.ptx FOR VALUES FROM ('2000-01-01') TO (MAXVALUE);
	INSERT INTO analytics.ptx VALUES ('p1', '1999-06-01', 5), ('p1', now(), 1), ('p2', now(), 2);
	SELECT * FROM featstore.exec($$
		CREATE FEATURE GROUP ptx_g ENTITY user FROM analytics.ptx TIMESTAMP event_time
			FEATURES (c3 bigint AS count(*) OVER '3 seconds', total bigint AS sum(amount)) ONLINE;
	$$)});
wait_caught_up($node, 'a partitioned source');
like(features('ptx_g', 'p1'), qr/"c3": 1, "total": 6\b/, 'both partitions count');
$node->safe_psql('postgres', q{INSERT INTO analytics.ptx VALUES ('p1', now(), 10), ('p3', '1990-01-01', 7)});
wait_caught_up($node, 'inserts through the partitioned table');
like(features('ptx_g', 'p1'), qr/"c3": 2, "total": 16\b/, 'an insert through the partitioned table is captured');
like(features('ptx_g', 'p3'), qr/"c3": 0, "total": 7\b/, 'into any partition');
verify_zero($node, 'ptx_g', 'verify_online(ptx_g) finds no difference');
$node->safe_psql('postgres', 'TRUNCATE analytics.ptx');
wait_caught_up($node, 'TRUNCATE of the partitioned table');
is(redis_cmd($rport, undef, '--scan', '--pattern', 'fs:*:ptx_g'), '', 'TRUNCATE of the partitioned table purges');

done_testing();
