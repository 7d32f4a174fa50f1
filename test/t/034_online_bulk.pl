# Whole-group rematerialization.  Capture of a large load computes winners in
# one pass over a dense key range; materialize() walks the group's index in
# chunks (integer, text, uuid and compound keys; short and long histories,
# ties, deletes, expiries and future-dated rows), honours since, falls back
# to listing entities when the index is gone, agrees with the SQL rule on
# random histories, and resumes after a crash where it stopped.  Every step
# ends with verify_online finding nothing.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('bulk', $rport, "log_min_messages = debug1\nrestart_after_crash = on\n");
my $range_re = qr/winners of group "(\w+)" from one pass over its key range/;
my $walk_re = qr/walked (\d+) entities of group "(\w+)" after (a resume point|the start)(, to the end)?/;

# walk_log(offset) returns [entities, group, resumed, at_end] per chunk logged after offset
sub walk_log
{
	my ($offset) = @_;
	my $log = substr(slurp_file($node->logfile), $offset);
	my @chunks;
	while ($log =~ /$walk_re/g)
	{
		push @chunks, [ $1, $2, $3 eq 'a resume point', defined $4 ];
	}
	return @chunks;
}

# set_batch(n) changes featstore.online_batch_size and waits for the worker to see it
sub set_batch
{
	my ($n) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM SET featstore.online_batch_size = $n; SELECT pg_reload_conf()");
	sleep 1;
}

$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY acct (acct_id bigint);
		CREATE ENTITY tag (tag text);
		CREATE ENTITY pair (acct_id bigint, region text);
		CREATE FEATURE GROUP dense ENTITY acct
			FEATURES (v bigint 'Value', note text 'Note') TTL '1 hour' ONLINE;
		CREATE FEATURE GROUP hist ENTITY acct
			FEATURES (v bigint 'Value') ONLINE;
		CREATE FEATURE GROUP tagged ENTITY tag
			FEATURES (v double precision 'Value') TTL '1 day' ONLINE;
		CREATE ENTITY dev (dev_id uuid);
		CREATE FEATURE GROUP devices ENTITY dev
			FEATURES (v integer 'Value') ONLINE;
		CREATE FEATURE GROUP pairs ENTITY pair
			FEATURES (v bigint 'Value') TTL '1 hour' ONLINE;
	$$)});

# 3000 accounts: one current row each, an older one for some, only a row
# older than the TTL for others (no winner: no key), a future row for some;
# ties on event_timestamp are broken by created_at.  Compound keys share
# their first column across regions, so the walk must bound on the whole key.
$node->safe_psql('postgres', q{
	INSERT INTO dense (acct_id, event_timestamp, created_at, v, note)
	SELECT g, now() - interval '1 minute', now(), g, 'n' || g FROM generate_series(1, 3000) g
	WHERE g % 11 <> 0;
	INSERT INTO dense (acct_id, event_timestamp, created_at, v, note)
	SELECT g, now() - interval '1 minute', now() + interval '1 second', -g, 'tie' FROM generate_series(1, 3000) g
	WHERE g % 17 = 0 AND g % 11 <> 0;
	INSERT INTO dense (acct_id, event_timestamp, v, note)
	SELECT g, now() - interval '10 minutes', 0, 'older' FROM generate_series(1, 3000) g WHERE g % 7 = 0;
	INSERT INTO dense (acct_id, event_timestamp, v, note)
	SELECT g, now() - interval '2 hours', 0, 'expired' FROM generate_series(1, 3000) g WHERE g % 11 = 0;
	INSERT INTO dense (acct_id, event_timestamp, v, note)
	SELECT g, now() + interval '1 hour', 0, 'future' FROM generate_series(1, 3000) g WHERE g % 13 = 0;
	INSERT INTO hist (acct_id, event_timestamp, v)
	SELECT a, now() - make_interval(mins => h), a * 100 + h FROM generate_series(1, 300) a, generate_series(1, 20) h;
	INSERT INTO hist (acct_id, event_timestamp, v)
	SELECT a, now() + make_interval(hours => h), -1 FROM generate_series(1, 300, 5) a, generate_series(1, 3) h;
	INSERT INTO tagged (tag, event_timestamp, v)
	SELECT 'k:' || g || CASE WHEN g % 3 = 0 THEN '{%}' ELSE '' END, now() - interval '1 minute', g / 4.0
	FROM generate_series(1, 2000) g;
	INSERT INTO devices (dev_id, event_timestamp, v)
	SELECT md5(g::text)::uuid, now() - interval '1 minute', g FROM generate_series(1, 1500) g;
	INSERT INTO pairs (acct_id, region, event_timestamp, v)
	SELECT a, r, now() - make_interval(mins => h), a * 1000 + h
	FROM generate_series(1, 40) a, unnest(ARRAY['eu', 'us', 'Ap', 'a b', 'x{y}']) r, generate_series(1, 8) h
	WHERE h > 1 OR a % 4 <> 0;
	INSERT INTO pairs (acct_id, region, event_timestamp, v)
	SELECT a, 'old', now() - interval '3 hours', 0 FROM generate_series(1, 40) a;
});
wait_caught_up($node, 'initial load');
my @ranged = (slurp_file($node->logfile) =~ /$range_re/g);
ok((grep { $_ eq 'dense' } @ranged), 'capture of a large load: winners from one pass over the key range');
verify_zero($node, $_, "$_: no difference after the initial load") for qw(dense hist tagged devices pairs);

# chunks of 97 entities: every walk below spans many of them
set_batch(97);
for my $group ('dense', 'tagged', 'devices', 'hist', 'pairs')
{
	# an empty Redis and a stale key that must go: materialize() alone restores it
	redis_cmd($rport, undef, 'FLUSHDB');
	redis_cmd($rport, undef, 'SET', "fs:postgres:{acct:22}:$group", 'stale') if $group eq 'dense' || $group eq 'hist';
	my $offset = -s $node->logfile;
	my $count = $node->safe_psql('postgres', "SELECT featstore.materialize('$group')");
	my $expected = $node->safe_psql('postgres',
		"SELECT count(*) FROM (SELECT DISTINCT " . ($group eq 'pairs' ? 'acct_id, region' : $group eq 'tagged' ? 'tag' : $group eq 'devices' ? 'dev_id' : 'acct_id') . " FROM $group) s");
	is($count, $expected, "materialize('$group') returns the number of entities");
	wait_caught_up($node, "materialize('$group')");
	verify_zero($node, $group, "no difference after materialize('$group')");
	my @chunks = grep { $_->[1] eq $group } walk_log($offset);
	my $walked = 0;
	$walked += $_->[0] for @chunks;
	is($walked, $count, "$group: the walk handed over every entity once");
	cmp_ok(scalar(@chunks), '>=', int($count / 97), "$group: in chunks of at most 97 (" . scalar(@chunks) . ')');
	ok(!$chunks[0][2] && (grep { $_->[2] } @chunks[ 1 .. $#chunks ]) == $#chunks && $chunks[-1][3],
		"$group: each chunk resumed where the previous one stopped, the last reached the end");

	if ($group eq 'hist')
	{
		is($node->safe_psql('postgres', "SELECT features->>'v' FROM featstore.online_features('hist', '7')"),
			'701', 'long history: the latest row wins');
		is($node->safe_psql('postgres', "SELECT features->>'v' FROM featstore.online_features('hist', '6')"),
			'601', 'long history with future rows: the latest current row wins');
		is(redis_cmd($rport, undef, 'PTTL', 'fs:postgres:{acct:1}:hist'), '-1', 'no TTL, no expiry');
		is($node->safe_psql('postgres',
			"SELECT count(*) FROM featstore.online_queue WHERE group_name = 'hist' AND not_before IS NOT NULL"),
			'60', 'the earliest future row of each entity is scheduled, once, though capture had scheduled it too');
	}
	if ($group eq 'pairs')
	{
		is($node->safe_psql('postgres', "SELECT features->>'v' FROM featstore.online_features('pairs', '8', 'x{y}')"),
			'8002', 'compound key: the latest row of the entity');
		is(redis_cmd($rport, undef, 'DBSIZE'), '200', 'compound key: one key per current entity, none for expired ones');
	}
	next if $group ne 'dense';
	is(redis_cmd($rport, undef, 'EXISTS', 'fs:postgres:{acct:22}:dense'), '0',
		'stale key of an entity without a current row removed');
	is($node->safe_psql('postgres', "SELECT features->>'note' FROM featstore.online_features('dense', '34')"),
		'tie', 'tie on event_timestamp: the later created_at wins');
	is($node->safe_psql('postgres', "SELECT features->>'v' FROM featstore.online_features('dense', '26')"),
		'26', 'future row not served early');
	my $pttl = redis_cmd($rport, undef, 'PTTL', 'fs:postgres:{acct:1}:dense');
	ok($pttl > 3_400_000 && $pttl <= 3_540_000, "expiry at event_timestamp + TTL ($pttl ms)");
}

# --- since: only entities whose latest row is that recent ---
redis_cmd($rport, undef, 'FLUSHDB');
$node->safe_psql('postgres',
	"INSERT INTO dense (acct_id, event_timestamp, v, note) SELECT g, now(), g, 'recent' FROM generate_series(1, 3000, 10) g");
wait_caught_up($node, 'recent rows');
redis_cmd($rport, undef, 'FLUSHDB');
is($node->safe_psql('postgres', "SELECT featstore.materialize('dense', since => now() - interval '30 seconds')"),
	$node->safe_psql('postgres', "SELECT count(DISTINCT acct_id) FROM dense WHERE event_timestamp >= now() - interval '30 seconds'"),
	'materialize(since) counts the entities with rows that recent');
wait_caught_up($node, 'materialize since');
is(redis_cmd($rport, undef, 'DBSIZE'),
	$node->safe_psql('postgres', q{
		SELECT count(*) FROM (SELECT acct_id FROM dense GROUP BY acct_id
		HAVING max(event_timestamp) >= now() - interval '30 seconds'
		   AND bool_or(event_timestamp <= now() AND event_timestamp >= now() - interval '1 hour')) s}),
	'materialize(since) rewrote exactly those entities');
is($node->safe_psql('postgres', "SELECT features->>'note' FROM featstore.online_features('dense', '11')"),
	'recent', 'a recent entity is back');
is($node->safe_psql('postgres', "SELECT status FROM featstore.online_features('dense', '12')"),
	'missing', 'an entity without recent rows was left alone');

# --- without its index the group is rematerialized entity by entity ---
$node->safe_psql('postgres', q{
	DO $$ BEGIN EXECUTE format('DROP INDEX %s',
		(SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'tagged'::regclass AND indisunique)); END $$});
redis_cmd($rport, undef, 'FLUSHDB');
is($node->safe_psql('postgres', "SELECT featstore.materialize('tagged')"), '2000', 'materialize() without the index');
wait_caught_up($node, 'materialize without the index');
is(count_log($node, qr/group "tagged" has no index on \(keys, event_timestamp, created_at\)/), 1,
	'the fallback is logged');
verify_zero($node, 'tagged', 'no difference after the fallback');
is(redis_cmd($rport, undef, 'DBSIZE'), '2000', 'every entity written by the fallback');

# --- a feature column dropped behind featstore's back (the event trigger
# refuses that; a superuser can do without it): materialize() and the walk
# queued before report it by name, and the rest of the queue goes on once
# the group is dropped ---
$node->safe_psql('postgres', 'SET session_replication_role = replica; ALTER TABLE devices DROP COLUMN v');
$node->psql('postgres', "SELECT featstore.materialize('devices')", stderr => \my $mat_err);
like($mat_err, qr/feature column "v" of feature group "devices" is missing from table public.devices/,
	'materialize() refuses the table, naming the column');
$node->safe_psql('postgres',
	"INSERT INTO featstore.online_queue (group_name, kind, entities, force) VALUES ('devices', 'scan', 1, true)");
ok($node->poll_query_until('postgres',
	"SELECT last_error LIKE '%feature column \"v\" of feature group \"devices\" is missing from table public.devices%'"
	  . " FROM featstore.materialization_status WHERE group_name = 'devices'"),
	'a missing feature column is reported with the group and table');
$node->safe_psql('postgres', "SELECT * FROM featstore.exec(\$\$ DROP FEATURE GROUP devices \$\$)");
wait_caught_up($node, 'after dropping the broken group');

# --- randomized: random compound-key histories (expired, current and future
# rows, deletes; no row within a minute of a boundary, so the check cannot
# race the clock), walked in chunks of random sizes, against the SQL rule ---
for my $seed (1 .. 4)
{
	set_batch((7, 50, 333, 10000)[ $seed - 1 ]);
	$node->safe_psql('postgres', qq{
		SELECT setseed(0.$seed);
		TRUNCATE pairs;
		INSERT INTO pairs (acct_id, region, event_timestamp, created_at, v)
		SELECT (random() * 200)::int, (ARRAY['eu', 'us', 'Ap', 'a b'])[1 + (random() * 3)::int],
			   now() + interval '1 minute' * CASE WHEN r < 0.3 THEN -(62 + random() * 100)
												   WHEN r < 0.8 THEN -(1 + random() * 56)
												   ELSE 2 + random() * 58 END,
			   now() - make_interval(secs => (random() * 5)::int), (random() * 1e6)::bigint
		FROM (SELECT random() AS r FROM generate_series(1, 3000)) g
		ON CONFLICT DO NOTHING;
		DELETE FROM pairs WHERE random() < 0.05;
	});
	wait_caught_up($node, "random histories, seed $seed");
	redis_cmd($rport, undef, 'FLUSHDB');
	$node->safe_psql('postgres', "SELECT featstore.materialize('pairs')");
	wait_caught_up($node, "materialize, seed $seed");
	verify_zero($node, 'pairs', "seed $seed: no difference after the walk");
	is(redis_cmd($rport, undef, 'DBSIZE'),
		$node->safe_psql('postgres', q{
			SELECT count(*) FROM (SELECT DISTINCT ON (acct_id, region) event_timestamp FROM pairs
			WHERE event_timestamp <= now() ORDER BY acct_id, region, event_timestamp DESC, created_at DESC) w
			WHERE event_timestamp >= now() - interval '1 hour'}),
		"seed $seed: one key per entity with a current row within the TTL");
}

# --- a crash in the middle of a walk: it resumes where it stopped.  One
# entity per chunk over 50,000 entities keeps the walk going for seconds, so
# the crash surely lands in its middle ---
$node->safe_psql('postgres', q{
	SELECT count(*) FROM featstore.exec($$
		CREATE FEATURE GROUP crashy ENTITY acct FEATURES (v bigint 'Value') ONLINE $$);
	INSERT INTO crashy (acct_id, event_timestamp, v)
	SELECT g, now() - interval '1 minute', g FROM generate_series(1, 50000) g;
});
wait_caught_up($node, 'crashy loaded');
set_batch(1);
redis_cmd($rport, undef, 'FLUSHDB');
my $offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT featstore.materialize('crashy')");
ok($node->poll_query_until('postgres',
	"SELECT resume_after IS NOT NULL FROM featstore.online_queue WHERE kind = 'scan'"), 'the walk is under way');
redis_cmd($rport, undef, 'CLIENT', 'PAUSE', '20000', 'WRITE');
# the worker commits asynchronously: make its progress so far durable
$node->safe_psql('postgres', 'CHECKPOINT');
my $pid = $node->safe_psql('postgres', 'SELECT pid FROM featstore.online_worker_status()');
kill 'KILL', $pid;
ok($node->poll_query_until('postgres', 'SELECT true'), 'server back after the SIGKILL');
is($node->safe_psql('postgres', "SELECT resume_after IS NOT NULL FROM featstore.online_queue WHERE kind = 'scan'"),
	't', 'the walk was stopped halfway, its resume point kept');
set_batch(10000);
redis_cmd($rport, undef, 'CLIENT', 'UNPAUSE');
wait_caught_up($node, 'walk after the crash');
verify_zero($node, 'crashy', 'no difference after the interrupted walk');
is(redis_cmd($rport, undef, 'DBSIZE'), '50000', 'every entity back in Redis');
my @chunks = grep { $_->[1] eq 'crashy' } walk_log($offset);
my $walked = 0;
$walked += $_->[0] for @chunks;
my @starts = grep { !$_->[2] } @chunks;
is(scalar(@starts), 1, 'the walk started once: after the crash it went on from its resume point');
# the worker commits asynchronously: the progress of its last chunks before
# the crash may be lost and those chunks walked again, which is harmless
cmp_ok($walked, '>=', 50000, "every entity handed over at least once ($walked)");
cmp_ok($walked, '<', 100000, 'far fewer than a walk from the start would add');
$node->stop;
stop_redis($rport);
done_testing();
