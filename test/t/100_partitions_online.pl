# Partitioned history (issue 14) with the real workers and Redis: the
# monitor worker makes range partitions ahead and moves rows out of DEFAULT
# (featstore.partition_maintenance_naptime 1 s), and drops what is past the
# retention; the online worker's walk (SET ONLINE, materialize()) and
# capture keep Redis equal to the join at now() for a range- and a
# hash-partitioned group (verify_online: 0 differences); a backfill promotes
# into a partitioned group; DROP FEATURE GROUP and DROP EXTENSION leave
# nothing behind.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('partitions', $rport, qq{
featstore.partition_maintenance_naptime = '1s'
featstore.partition_premake = 2
featstore.monitor_naptime = '1s'
});

$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY user (user_id text);
		CREATE FEATURE GROUP pr ENTITY user FEATURES (v int, s text) TTL '3 days'
			PARTITION BY RANGE (event_timestamp) INTERVAL '1 hour';
		CREATE FEATURE GROUP ph ENTITY user FEATURES (v int, s text) TTL '3 days'
			PARTITION BY HASH (user_id) PARTITIONS 4;
	$$);
});

# --- the worker makes partitions ahead ---
my $ahead = q{SELECT count(*) FROM featstore.partitions WHERE group_name = 'pr' AND bound <> 'DEFAULT'
	AND split_part(bound, '''', 2)::timestamptz >= date_trunc('hour', now())};
is($node->safe_psql('postgres', $ahead), '3', 'creation: the current hour and 2 more');
# drop the last one; the worker makes it again
$node->safe_psql('postgres', q{
	DO $$ DECLARE p text; BEGIN
		SELECT partition_name INTO p FROM featstore.partitions WHERE group_name = 'pr' AND bound <> 'DEFAULT'
		 ORDER BY split_part(bound, '''', 2)::timestamptz DESC LIMIT 1;
		EXECUTE 'DROP TABLE ' || p;
	END $$});
is($node->safe_psql('postgres', $ahead), '2', 'one dropped by hand');
ok($node->poll_query_until('postgres', "$ahead", '3'), 'the monitor worker makes it again');

# --- old rows land in DEFAULT; the worker gives them partitions ---
$node->safe_psql('postgres', q{
	INSERT INTO pr (user_id, event_timestamp, v, s)
	SELECT 'u' || (g % 50), now() - (g % 60) * interval '1 hour' - interval '5 minutes', g, 'x' || g
	  FROM generate_series(1, 600) g;
	INSERT INTO ph SELECT * FROM pr;
});
ok($node->poll_query_until('postgres', q{SELECT count(*) FROM ONLY pr_default}, '0'),
	'the worker moves the rows of DEFAULT into new partitions');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pr}), '600', 'no row lost or doubled');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM featstore.partitions WHERE group_name = 'pr'}),
	'>=', 60, 'one partition per hour of rows');

# --- online: the walk (SET ONLINE) and capture, on both layouts ---
$node->safe_psql('postgres', q{SELECT * FROM featstore.exec($$
	ALTER FEATURE GROUP pr SET ONLINE; ALTER FEATURE GROUP ph SET ONLINE; $$)});
wait_caught_up($node, 'SET ONLINE walked both groups');
verify_zero($node, 'pr', 'range-partitioned group: Redis equals the join at now()');
verify_zero($node, 'ph', 'hash-partitioned group: Redis equals the join at now()');
$node->safe_psql('postgres', q{
	INSERT INTO pr (user_id, event_timestamp, v, s) VALUES ('u1', now(), -1, 'new'), ('u999', now(), -2, 'new');
	INSERT INTO ph (user_id, event_timestamp, v, s) VALUES ('u1', now(), -1, 'new'), ('u999', now(), -2, 'new');
	UPDATE pr SET s = 'upd' WHERE user_id = 'u2';
	UPDATE ph SET s = 'upd' WHERE user_id = 'u2';
	DELETE FROM pr WHERE user_id = 'u3';
	DELETE FROM ph WHERE user_id = 'u3';
});
wait_caught_up($node, 'captured inserts, updates, deletes');
verify_zero($node, 'pr', 'range: after capture');
verify_zero($node, 'ph', 'hash: after capture');
is($node->safe_psql('postgres', q{SELECT features->>'v' FROM featstore.online_features('pr', 'u1')}),
	'-1', 'the latest row is served');
$node->safe_psql('postgres', q{SELECT featstore.materialize('pr'); SELECT featstore.materialize('ph')});
wait_caught_up($node, 'materialize()');
verify_zero($node, 'pr', 'range: after materialize()');
verify_zero($node, 'ph', 'hash: after materialize()');

# --- a backfill promotes into a partitioned history ---
my $shadow = $node->safe_psql('postgres', q{
	SELECT featstore.open_backfill('pr', 'bf1', now() - interval '1 hour', now())});
$node->safe_psql('postgres', qq{
	INSERT INTO $shadow (user_id, event_timestamp, v, s) VALUES ('u7', now() - interval '30 minutes', 777, 'bf');
	SELECT * FROM featstore.exec(\$\$ VALIDATE BACKFILL bf1; PROMOTE BACKFILL bf1 FORCE \$\$);
});
is($node->safe_psql('postgres', q{SELECT count(*) FROM pr WHERE v = 777}), '1', 'the backfill row is in the history');
wait_caught_up($node, 'promote');
verify_zero($node, 'pr', 'range: after the promote');

# --- retention: the worker drops partitions past it ---
$node->safe_psql('postgres', q{SELECT * FROM featstore.exec($$ ALTER FEATURE GROUP pr SET RETENTION '4 days' $$)});
$node->safe_psql('postgres', q{
	INSERT INTO pr (user_id, event_timestamp, v, s) VALUES ('old', now() - interval '10 days', 1, 'old');
});
ok($node->poll_query_until('postgres', q{SELECT count(*) FROM pr WHERE user_id = 'old'}, '0'),
	'rows past the retention are removed by the worker');
wait_caught_up($node, 'after the retention');
verify_zero($node, 'pr', 'range: after the retention');

# --- the join prunes by the spine ---
$node->safe_psql('postgres', q{CREATE TABLE labels AS
	SELECT 'u1'::text AS user_id, date_trunc('hour', now()) - interval '90 minutes' AS ts});
my $plan = $node->safe_psql('postgres', q{
	SET featstore.pit_strategy = hash;
	EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
	SELECT * FROM labels l LEFT JOIN pr f ON f.user_id = l.user_id
	   AND featstore.pit_match(f.event_timestamp, f.created_at, l.ts, interval '20 minutes')});
like($plan, qr/Partitions: 2 of \d+ read, \d+ pruned/, 'one hour partition and DEFAULT read');
unlike($plan, qr/Seq Scan on pr_p\d+_\d+ f_\d+ \(actual rows=\d+ loops=1\)(?s:.*)Seq Scan on pr_p\d+_\d+ f_\d+ \(actual/,
	'one hour partition scanned, the others never executed');

# --- pg_dump / pg_restore keep the layout, the partitions and the rows ---
my $dump = $node->basedir . '/partitions.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, $node->connstr('postgres') ],
	'pg_dump of a database with partitioned groups');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ],
	'pg_restore into an empty database');
my $layout = q{SELECT group_name, method, partition_interval, hash_columns, partitions, retention
	FROM featstore.group_partitioning ORDER BY 1};
is($node->safe_psql('dst', $layout), $node->safe_psql('postgres', $layout), 'the layout is restored');
my $parts = q{SELECT string_agg(partition_name || ' ' || bound, ', ' ORDER BY partition_name) FROM featstore.partitions};
is($node->safe_psql('dst', $parts), $node->safe_psql('postgres', $parts), 'every partition, with its bound');
my $join = q{SELECT string_agg(l.user_id || '=' || coalesce(f.v::text, '-'), ',' ORDER BY l.user_id)
	FROM (SELECT 'u' || g AS user_id, now() - g * interval '1 hour' AS ts FROM generate_series(0, 60) g) l
	LEFT JOIN pr f ON f.user_id = l.user_id
	 AND featstore.pit_match(f.event_timestamp, f.created_at, l.ts, interval '3 days')};
is($node->safe_psql('dst', $join), $node->safe_psql('postgres', $join), 'the join gives the same rows');
is($node->safe_psql('dst', q{SELECT count(*) >= 0 FROM featstore.maintain_partitions('pr')}), 't',
	'the maintenance runs on the restored group');

# --- drops ---
$node->safe_psql('postgres', q{SELECT * FROM featstore.exec($$ DROP FEATURE GROUP ph $$)});
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname LIKE 'ph%'}), '0',
	'DROP FEATURE GROUP drops the partitions with the table');
$node->safe_psql('postgres', q{DROP EXTENSION featstore CASCADE});
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_namespace WHERE nspname = 'featstore'}), '0',
	'DROP EXTENSION with a partitioned group');
ok($node->safe_psql('postgres', q{SELECT count(*) FROM pr}) > 0, 'the group table stays, as a plain group table does');
my $log = slurp_file($node->logfile);
unlike($log, qr/partition maintenance of feature group "\w+" failed/, 'no failed maintenance in the log');
unlike($log, qr/server process .* was terminated/, 'no crash');

$node->stop;
stop_redis($rport);
done_testing();
