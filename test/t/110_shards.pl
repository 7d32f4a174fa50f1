# Sharded history (issue 14): a coordinator and two shard servers, each with
# featstore, on this machine.  A role that is no superuser, with password
# user mappings, creates PARTITION BY HASH (user_id) PARTITIONS 4 ON SERVERS
# (shard_a, shard_b): the group is made on each shard, the coordinator's
# partitions are postgres_fdw foreign tables, inserts route to the shards.
# The marker join with a spine sharded the same way runs on the shards
# (EXPLAIN VERBOSE: the remote SQL carries featstore.pit_match(), no scan
# pulls the history), and equals, row for row, the same join on one server
# and a LATERAL oracle, on randomized data.  Bad inputs: unknown server,
# another wrapper, no user mapping, no USAGE, RANGE, no dblink, a server
# without featstore in its extensions.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# one Redis for every node: each shard's worker serves its own entities
my $rport = start_redis();

# shard_node(name) starts a node whose role alice logs in with a password
sub shard_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'featstore'
featstore.database = 'postgres'
featstore.redis_port = $rport
featstore.redis_timeout = '1s'
featstore.online_poll_interval = '200ms'
});
	# alice must authenticate with a password (postgres_fdw and dblink
	# require it of a role that is no superuser)
	my $hba = $node->data_dir . '/pg_hba.conf';
	my $old = slurp_file($hba);
	open my $fh, '>', $hba or die;
	print $fh "local all alice scram-sha-256\nhost all alice 127.0.0.1/32 scram-sha-256\n$old";
	close $fh;
	$node->start;
	$node->safe_psql('postgres', q{
		CREATE EXTENSION featstore;
		CREATE ROLE alice LOGIN PASSWORD 'alice-pw';
		GRANT USAGE ON LANGUAGE featstore TO alice;
		GRANT featstore_reader TO alice;
		GRANT CREATE ON SCHEMA public TO alice;
	});
	return $node;
}

my $sa = shard_node('shard_a');
my $sb = shard_node('shard_b');
my $co = shard_node('coord');

sub server_sql
{
	my ($name, $node, $ext) = @_;
	my ($host, $port) = ($node->host, $node->port);
	return qq{CREATE SERVER $name FOREIGN DATA WRAPPER postgres_fdw
		OPTIONS (host '$host', port '$port', dbname 'postgres', extensions '$ext');
		GRANT USAGE ON FOREIGN SERVER $name TO alice;};
}
$co->safe_psql('postgres', 'CREATE EXTENSION postgres_fdw;'
	. server_sql('shard_a', $sa, 'featstore')
	. server_sql('shard_b', $sb, 'featstore')
	. server_sql('shard_noext', $sa, 'dblink') . q{
	CREATE ROLE mallory LOGIN;
	GRANT USAGE ON LANGUAGE featstore TO mallory;
	GRANT featstore_reader TO mallory;
	GRANT CREATE ON SCHEMA public TO mallory;
	SET ROLE alice;
	CREATE USER MAPPING FOR alice SERVER shard_a OPTIONS (user 'alice', password 'alice-pw');
	CREATE USER MAPPING FOR alice SERVER shard_b OPTIONS (user 'alice', password 'alice-pw');
	CREATE USER MAPPING FOR alice SERVER shard_noext OPTIONS (user 'alice', password 'alice-pw');
	RESET ROLE;
});

# as_alice(sql) runs sql on the coordinator as alice; returns (rc, out, err)
sub as_alice
{
	my ($sql) = @_;
	my ($out, $err);
	my $rc = $co->psql('postgres', "SET ROLE alice; $sql",
		stdout => \$out, stderr => \$err, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return ($rc, $out, $err);
}

sub refused
{
	my ($sql, $code, $re, $name) = @_;
	my ($rc, $out, $err) = as_alice($sql);
	ok($rc != 0 && $err =~ /ERROR:\s+$code:/ && $err =~ $re, $name)
	  or diag("rc $rc: $err");
}

my $group = q{CREATE FEATURE GROUP %s ENTITY user FEATURES (v int, s text) TTL '2 days' %s};
sub ddl
{
	my ($name, $rest) = @_;
	return sprintf(q{SELECT * FROM featstore.exec($$ CREATE ENTITY IF NOT EXISTS user (user_id text); }
		  . $group . q{ $$)}, $name, $rest);
}

# --- refusals before dblink exists, then the bad servers ---
refused(ddl('g', 'PARTITION BY HASH (user_id) PARTITIONS 4 ON SERVERS (shard_a, shard_b)'),
	'0A000', qr/ON SERVERS needs the dblink extension/, 'no dblink: refused with a hint');
$co->safe_psql('postgres', 'CREATE EXTENSION dblink; CREATE SERVER not_pg FOREIGN DATA WRAPPER dblink_fdw;'
	. 'GRANT USAGE ON FOREIGN SERVER not_pg TO alice;');
refused(ddl('g', 'PARTITION BY HASH (user_id) PARTITIONS 4 ON SERVERS (shard_a, nowhere)'),
	'42704', qr/server "nowhere" of feature group "g" does not exist/, 'unknown server');
refused(ddl('g', 'PARTITION BY HASH (user_id) PARTITIONS 4 ON SERVERS (not_pg)'),
	'42809', qr/uses foreign-data wrapper "dblink_fdw", not postgres_fdw/, 'another wrapper');
refused(ddl('g', 'PARTITION BY HASH (user_id) PARTITIONS 4 ON SERVERS (shard_a, shard_a)'),
	'42710', qr/appears twice/, 'a server twice');
refused(ddl('g', 'PARTITION BY HASH (user_id) PARTITIONS 1 ON SERVERS (shard_a, shard_b)'),
	'22023', qr/1 partitions for 2 shard servers/, 'fewer partitions than servers');
refused(ddl('g', 'PARTITION BY RANGE (event_timestamp) ON SERVERS (shard_a)'),
	'0A000', qr/only with PARTITION BY HASH/, 'RANGE refused');
refused(ddl('g', 'PARTITION BY HASH (user_id) ON SERVERS (shard_noext)'),
	'22023', qr/does not list featstore in its extensions option/, 'server without featstore in extensions');
refused(ddl('g', 'ONLINE PARTITION BY HASH (user_id) ON SERVERS (shard_a)'),
	'0A000', qr/cannot be ONLINE on the coordinator/, 'ONLINE on the coordinator refused');
$co->safe_psql('postgres', q{SET ROLE alice; DROP USER MAPPING FOR alice SERVER shard_b});
refused(ddl('g', 'PARTITION BY HASH (user_id) PARTITIONS 4 ON SERVERS (shard_a, shard_b)'),
	'28000', qr/role "alice" has no user mapping for server "shard_b".*HINT:.*CREATE USER MAPPING/s,
	'no user mapping');
$co->safe_psql('postgres', q{SET ROLE alice;
	CREATE USER MAPPING FOR alice SERVER shard_b OPTIONS (user 'alice', password 'alice-pw')});
{
	my ($out, $err);
	my $rc = $co->psql('postgres', 'SET ROLE mallory; ' . ddl('g', 'PARTITION BY HASH (user_id) ON SERVERS (shard_a)'),
		stdout => \$out, stderr => \$err, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	ok($rc != 0 && $err =~ /42501: permission denied for foreign server "shard_a"/,
		'a role without USAGE on the server is refused') or diag($err);
}
for my $n ($sa, $sb)
{
	is($n->safe_psql('postgres', 'SELECT count(*) FROM featstore.feature_groups'), '0',
		'no refusal left a group on ' . $n->name);
}

# --- the sharded group ---
my ($rc, $out, $err) = as_alice(ddl('g', 'PARTITION BY HASH (user_id) PARTITIONS 4 ON SERVERS (shard_a, shard_b)')
	  . '; ' . ddl('g_local', ''));
is($rc, 0, 'CREATE FEATURE GROUP ... ON SERVERS') or diag($err);
is($co->safe_psql('postgres', q{SELECT string_agg(remainder || ':' || server_name || ':' || remote_table, ' ' ORDER BY remainder)
	FROM featstore.group_shards WHERE group_name = 'g'}),
	'0:shard_a:g_h0 1:shard_b:g_h1 2:shard_a:g_h2 3:shard_b:g_h3', 'layout: remainder r on server r % 2');
is($co->safe_psql('postgres', q{SELECT string_agg(server, ',' ORDER BY partition_name) FROM featstore.partitions WHERE group_name = 'g'}),
	'shard_a,shard_b,shard_a,shard_b', 'featstore.partitions shows the servers');
for my $n ($sa, $sb)
{
	is($n->safe_psql('postgres', q{SELECT g.created_by || ' ' || p.method || ' ' || p.partitions
		FROM featstore.feature_groups g JOIN featstore.group_partitioning p ON p.group_name = g.name WHERE g.name = 'g'}),
		'alice hash 4', 'the shard ' . $n->name . ' has the group, made by the mapped role');
}

# the spine, sharded the same way: partition r a foreign table on server r % 2
for my $n ($sa, $sb)
{
	$n->safe_psql('postgres', 'SET ROLE alice; '
		  . join('', map { "CREATE TABLE spine_h$_ (sid int, user_id text, ts timestamptz);" } 0 .. 3));
}
$co->safe_psql('postgres', q{SET ROLE alice;
	CREATE TABLE spine (sid int, user_id text, ts timestamptz) PARTITION BY HASH (user_id);
	CREATE TABLE spine_local (sid int, user_id text, ts timestamptz);}
	  . join('', map { my $s = $_ % 2 ? 'shard_b' : 'shard_a';
		"CREATE FOREIGN TABLE spine_p$_ PARTITION OF spine FOR VALUES WITH (MODULUS 4, REMAINDER $_)"
		  . " SERVER $s OPTIONS (table_name 'spine_h$_', batch_size '1000');" } 0 .. 3));

# --- randomized data, inserted through the coordinator ---
$co->safe_psql('postgres', q{SET ROLE alice;
	SELECT setseed(0.14);
	CREATE TEMP TABLE src AS
	SELECT 'u' || (random() * 80)::int AS user_id,
	       timestamptz '2026-06-01 00:00+00' + (random() * 20 * 86400) * interval '1 second' AS event_timestamp,
	       timestamptz '2026-06-01 00:00+00' + (random() * 25 * 86400) * interval '1 second' AS created_at,
	       (random() * 1000)::int AS v, md5(random()::text) AS s
	  FROM generate_series(1, 3000);
	INSERT INTO src SELECT user_id, event_timestamp, created_at + interval '1 hour', v + 1, 'corr' FROM src LIMIT 200;
	INSERT INTO g SELECT * FROM src;
	INSERT INTO g_local SELECT * FROM src;
	INSERT INTO spine_local
	SELECT g, 'u' || (random() * 90)::int,
	       timestamptz '2026-06-01 00:00+00' + (random() * 22 * 86400) * interval '1 second'
	  FROM generate_series(1, 2000) g;
	INSERT INTO spine_local VALUES (3001, NULL, '2026-06-05'), (3002, 'u1', NULL);
	INSERT INTO spine SELECT * FROM spine_local;
});
is($co->safe_psql('postgres', 'SET ROLE alice; SELECT count(*) FROM g'), '3200', 'all rows read back through the coordinator');
my $on_shards = $sa->safe_psql('postgres', 'SELECT count(*) FROM g') + $sb->safe_psql('postgres', 'SELECT count(*) FROM g');
is($on_shards, 3200, 'the rows live on the shards');
ok($sa->safe_psql('postgres', 'SELECT count(*) FROM g') > 0 && $sb->safe_psql('postgres', 'SELECT count(*) FROM g') > 0,
	'both shards hold rows');
is($sa->safe_psql('postgres', 'SELECT count(*) FROM g_h1') + $sa->safe_psql('postgres', 'SELECT count(*) FROM g_h3')
	  + $sb->safe_psql('postgres', 'SELECT count(*) FROM g_h0') + $sb->safe_psql('postgres', 'SELECT count(*) FROM g_h2'),
	0, 'each shard holds only its remainders');

# --- the pushed-down join ---
my $join = q{SELECT s.sid, f.v, f.s, f.event_timestamp, f.created_at
	FROM %s s LEFT JOIN %s f ON f.user_id = s.user_id
	 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '2 days' %s)};
my @opts = ('', q{, as_of => timestamptz '2026-06-15'}, q{, strict => true});
my $set = 'SET ROLE alice; SET enable_partitionwise_join = on; SET TimeZone = UTC; ';
my $plan = $co->safe_psql('postgres', $set . 'EXPLAIN (VERBOSE, COSTS OFF) ' . sprintf($join, 'spine', 'g', ''));
like($plan, qr/Remote SQL: .*featstore\.pit_match\(r\d+\.event_timestamp, r\d+\.created_at, r\d+\.ts/,
	'EXPLAIN VERBOSE: the remote SQL carries the marker');
my @joins = ($plan =~ /Relations: \(public\.(?:spine_p\d|g_h\d) \S+\) (?:LEFT|RIGHT) JOIN \(public\.(?:spine_p\d|g_h\d) \S+\)/g);
is(scalar(@joins), 4, 'four foreign joins, one per partition pair');
# the shard plans the remote SQL as its own PitJoin
my ($remote) = ($plan =~ /Remote SQL: (SELECT .*spine_h0.*)$/m);
like($sa->safe_psql('postgres', "SET ROLE alice; EXPLAIN $remote"), qr/Custom Scan \(PitJoin\)/,
	'the shard plans the remote SQL as a PitJoin');
unlike($plan, qr/Foreign Scan on public\.g_h|PitJoin/, 'no plan that reads the history on the coordinator');
note($plan);

for my $o (@opts)
{
	my $sharded = $co->safe_psql('postgres', $set . sprintf($join, 'spine', 'g', $o) . ' ORDER BY 1');
	my $single = $co->safe_psql('postgres', $set . sprintf($join, 'spine_local', 'g_local', $o) . ' ORDER BY 1');
	my (@a) = split /\n/, $sharded;
	is(scalar(@a), 2002, "one row per spine row ($o)");
	is($sharded, $single, "sharded join equals the single-server join, row for row ($o)");
}
my $lateral = $co->safe_psql('postgres', $set . q{
	SELECT s.sid, w.v, w.s, w.event_timestamp, w.created_at FROM spine_local s
	LEFT JOIN LATERAL (SELECT * FROM g_local f WHERE f.user_id = s.user_id AND f.event_timestamp <= s.ts
	   AND f.event_timestamp >= s.ts - interval '2 days'
	 ORDER BY f.event_timestamp DESC, f.created_at DESC LIMIT 1) w ON true ORDER BY 1});
is($co->safe_psql('postgres', $set . sprintf($join, 'spine', 'g', '') . ' ORDER BY 1'), $lateral,
	'sharded join equals the LATERAL oracle');
my $matched = $co->safe_psql('postgres', $set . sprintf("SELECT count(x.v) FROM ($join) x(sid, v) ", 'spine', 'g', ''));
cmp_ok($matched, '>', 500, "the data gives winners ($matched)");

# --- pit_join() over the sharded group and a sharded spine: inlined, pushed down ---
$co->safe_psql('postgres', 'SET ROLE alice; CREATE TYPE pj AS (sid int, user_id text, ts timestamptz, v int, s text)');
my $pj = q{SELECT * FROM featstore.pit_join(NULL::pj, '%s', features => '{%s}')};
my $pjplan = $co->safe_psql('postgres', $set . 'EXPLAIN (VERBOSE, COSTS OFF) ' . sprintf($pj, 'spine', 'g'));
like($pjplan, qr/Remote SQL: .*featstore\.pit_match/, 'pit_join(): inlined and pushed down to the shards');
unlike($pjplan, qr/Function Scan|PitJoin|Foreign Scan on public\.g_h/, 'pit_join(): no pull of the history');
is($co->safe_psql('postgres', $set . sprintf($pj, 'spine', 'g') . ' ORDER BY sid'),
	$co->safe_psql('postgres', $set . sprintf($pj, 'spine_local', 'g_local') . ' ORDER BY sid'),
	'pit_join() on the sharded group equals pit_join() on one server');
refused('SET enable_partitionwise_join = on; ' . sprintf($pj, 'spine_local', 'g'),
	'0A000', qr/cannot run on its shards.*HINT:.*enable_partitionwise_join/s, 'pit_join() with a local spine: refused, with a hint');

# --- create_shard_spine(): a local spine copied to the shards in one call ---
is($co->safe_psql('postgres', q{SET ROLE alice; SELECT featstore.create_shard_spine('g', 'spine_local', 'spine2')}),
	'2002', 'create_shard_spine copies the local spine to the shards');
is($co->safe_psql('postgres', $set . sprintf($pj, 'spine2', 'g') . ' ORDER BY sid'),
	$co->safe_psql('postgres', $set . sprintf($pj, 'spine_local', 'g_local') . ' ORDER BY sid'),
	'pit_join() over the copied spine equals one server');
is($sa->safe_psql('postgres', 'SELECT count(*) FROM spine2_h0') + $sb->safe_psql('postgres', 'SELECT count(*) FROM spine2_h1')
	  + $sa->safe_psql('postgres', 'SELECT count(*) FROM spine2_h2') + $sb->safe_psql('postgres', 'SELECT count(*) FROM spine2_h3'),
	2002, 'the copy lives on the shards');
refused(q{SELECT featstore.create_shard_spine('g_local', 'spine_local', 'spine3')},
	'42809', qr/feature group "g_local" is not sharded/, 'create_shard_spine of a group that is not sharded');
refused(q{CREATE TABLE nokey (sid int, ts timestamptz); SELECT featstore.create_shard_spine('g', 'nokey', 'spine3')},
	'42703', qr/spine public.nokey has no key column user_id \(text\)/, 'create_shard_spine of a spine without the key');

# --- a hostile owner swaps a partition for one on another server: refused at read ---
is($co->safe_psql('postgres', q{SET ROLE alice; SELECT featstore.check_feature_group('g')}), '',
	'the read check accepts the layout\'s foreign partitions');
refused(q{BEGIN; ALTER TABLE g DETACH PARTITION g_h3;
	CREATE FOREIGN TABLE g_evil PARTITION OF g FOR VALUES WITH (MODULUS 4, REMAINDER 3)
		SERVER shard_noext OPTIONS (table_name 'g_h3');
	SELECT featstore.check_feature_group('g');},
	'42809', qr/partition public\.g_evil of history table public\.g of feature group "g" is a foreign table/,
	'a foreign partition on a server the layout does not record is refused');

# --- what cannot run on the shards is refused, never pulled silently ---
refused('SET enable_partitionwise_join = on; ' . sprintf($join, 'spine_local', 'g', ''),
	'0A000', qr/point-in-time join with sharded history public\.g cannot run on its shards/,
	'a local spine: refused, with a hint');
refused('SET enable_partitionwise_join = off; ' . sprintf($join, 'spine', 'g', ''),
	'0A000', qr/cannot run on its shards/, 'partition-wise join off: refused');
refused(q{SELECT featstore.exec('ALTER FEATURE GROUP g ADD FEATURE w int')},
	'0A000', qr/is sharded and does not support ADD FEATURE/, 'ADD FEATURE refused');
refused(q{SELECT featstore.exec($$ALTER FEATURE GROUP g SET TTL '1 day'$$)},
	'0A000', qr/is sharded and does not support SET TTL/, 'SET TTL refused');
refused(q{SELECT featstore.exec('ALTER FEATURE GROUP g SET ONLINE')},
	'0A000', qr/is sharded and does not support SET ONLINE on the coordinator/, 'SET ONLINE on the coordinator refused');
refused(q{SELECT featstore.set_feature_pii('g', 's', true)},
	'0A000', qr/is sharded and does not support SET PII/, 'SET PII refused');

# --- a reader without grants, and a reader with SELECT but no user mapping ---
{
	my ($out, $err);
	$co->psql('postgres', "SET ROLE mallory; SELECT count(*) FROM g", stdout => \$out, stderr => \$err);
	like($err, qr/permission denied for table g/, 'a role without SELECT reads nothing');
	$co->safe_psql('postgres', 'SET ROLE alice; GRANT SELECT ON g, spine TO mallory');
	$co->psql('postgres', "SET ROLE mallory; SET enable_partitionwise_join = on; " . sprintf($join, 'spine', 'g', ''),
		stdout => \$out, stderr => \$err);
	like($err, qr/user mapping not found/, 'with SELECT but no user mapping: postgres_fdw refuses');
}

# --- a failed shard leaves no group on the others ---
$sb->safe_psql('postgres', q{SET ROLE alice; SELECT featstore.exec($$ CREATE ENTITY IF NOT EXISTS user (user_id text);
	CREATE FEATURE GROUP g2 ENTITY user FEATURES (v int) $$)});
refused(ddl('g2', 'PARTITION BY HASH (user_id) PARTITIONS 2 ON SERVERS (shard_a, shard_b)'),
	'42710', qr/feature group "g2" already exists on shard server "shard_b"/, 'a group already on a shard');
is($sa->safe_psql('postgres', q{SELECT count(*) FROM featstore.feature_groups WHERE name = 'g2'}), '0',
	'nothing made on shard_a');

# --- a shard that fails after the checks: the groups made on the others are dropped again ---
$sb->safe_psql('postgres', 'REVOKE CREATE ON SCHEMA public FROM alice');
{
	my ($rc, $out, $err) = as_alice(ddl('g3', 'PARTITION BY HASH (user_id) PARTITIONS 2 ON SERVERS (shard_a, shard_b)'));
	ok($rc != 0 && $err =~ /permission denied for schema public/, 'shard_b refuses the creation: the error is the shard\'s')
	  or diag($err);
	unlike($err, qr/WARNING/, 'the cleanup drops without a warning');
}
is($sa->safe_psql('postgres', q{SELECT count(*) FROM featstore.feature_groups WHERE name = 'g3'}), '0',
	'the group made on shard_a was dropped again');
is($sa->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname LIKE 'g3%'}), '0',
	'no table of it is left on shard_a');
is($co->safe_psql('postgres', q{SELECT count(*) FROM featstore.feature_groups WHERE name = 'g3'}), '0',
	'nor on the coordinator');
$sb->safe_psql('postgres', 'GRANT CREATE ON SCHEMA public TO alice');

# --- COPY through the coordinator routes too; DROP on the coordinator leaves the shards' groups ---
$co->safe_psql('postgres', "SET ROLE alice;\nCOPY g (user_id, event_timestamp, v, s) FROM STDIN;\n"
	. "ucopy1\t2026-06-10 00:00+00\t1\ta\nucopy2\t2026-06-10 00:00+00\t2\tb\nucopy3\t2026-06-10 00:00+00\t3\tc\n\\.\n");
is($sa->safe_psql('postgres', q{SELECT count(*) FROM g WHERE user_id LIKE 'ucopy%'})
	  + $sb->safe_psql('postgres', q{SELECT count(*) FROM g WHERE user_id LIKE 'ucopy%'}), 3,
	'COPY on the coordinator lands on the shards');
as_alice(ddl('gd', 'PARTITION BY HASH (user_id) PARTITIONS 2 ON SERVERS (shard_a, shard_b)'));
my ($drc, $dout, $derr) = as_alice(q{SELECT * FROM featstore.exec('DROP FEATURE GROUP gd')});
is($drc, 0, 'DROP FEATURE GROUP of a sharded group') or diag($derr);
is($co->safe_psql('postgres', q{SELECT count(*) FROM featstore.group_shards WHERE group_name = 'gd'}), '0',
	'its layout rows go with it');
is($sa->safe_psql('postgres', q{SELECT count(*) FROM featstore.feature_groups WHERE name = 'gd'}), '1',
	'the shard keeps its group (documented: drop it there)');

# --- online: each shard's worker serves its own entities to the shared Redis ---
$co->safe_psql('postgres', q{SET ROLE alice;
	SELECT * FROM featstore.exec($$ CREATE FEATURE GROUP go ENTITY user FEATURES (v int)
		PARTITION BY HASH (user_id) PARTITIONS 4 ON SERVERS (shard_a, shard_b) $$);
	INSERT INTO go (user_id, event_timestamp, v)
	SELECT 'u' || (g % 40), now() - (g % 7) * interval '1 minute', g FROM generate_series(1, 400) g;});
for my $n ($sa, $sb)
{
	$n->safe_psql('postgres', q{SET ROLE alice; SELECT * FROM featstore.exec('ALTER FEATURE GROUP go SET ONLINE')});
	wait_caught_up($n, $n->name . ' walked its part of the group');
}
# rows written through the coordinator land in the shards' partitions:
# their capture triggers queue them on the shard
$co->safe_psql('postgres', q{SET ROLE alice;
	INSERT INTO go (user_id, event_timestamp, v)
	SELECT 'u' || g, now(), -g FROM generate_series(30, 49) g;
	UPDATE go SET v = 1000 WHERE user_id = 'u1';
	DELETE FROM go WHERE user_id = 'u2';});
wait_caught_up($_, $_->name . ' captured the coordinator\'s writes') for ($sa, $sb);
my $expected = $co->safe_psql('postgres', q{SET ROLE alice;
	SELECT DISTINCT ON (user_id) user_id, v FROM go ORDER BY user_id, event_timestamp DESC, created_at DESC});
# read on shard_a: the key layout names no server, so it finds shard_b's entities too
my $served = $sa->safe_psql('postgres', q{
	SELECT e.user_id, (o.features->>'v')::int
	  FROM (SELECT 'u' || g AS user_id FROM generate_series(0, 49) g) e,
	       LATERAL featstore.online_features('go', e.user_id) o
	 WHERE o.status = 'found' ORDER BY 1});
my @exp_rows = split /\n/, $expected;
is(scalar(@exp_rows), 49, '49 entities (u2 deleted)');
is($served, $expected, 'Redis serves every entity of both shards with the join at now()');
my @keys = split /\n/, redis_cmd($rport, undef, '--scan', '--pattern', 'fs:postgres:{user:*}:go');
is(scalar(@keys), 49, 'one key per entity, in the documented layout fs:<namespace>:{user:<id>}:go');
my ($na, $nb) = map { $_->safe_psql('postgres', 'SELECT count(DISTINCT user_id) FROM go') } ($sa, $sb);
ok($na > 0 && $nb > 0 && $na + $nb == 49, "both shards served entities ($na + $nb)");

done_testing();
