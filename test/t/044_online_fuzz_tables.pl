# Group tables altered behind featstore's back, at random, while writes and
# materialize() calls go on: column type changes, drops and renames, a
# switch to a view, triggers, truncation, a dropped index.  The worker must
# never crash (no "terminated by signal" in the log), the damaged groups
# must be in error one by one, and the healthy groups keep flowing, with
# verify_online() = 0 on them at the end.
#
# The event trigger refuses these ALTERs for ordinary roles; the damage is
# done by a superuser with event triggers off (session_replication_role =
# replica), which is exactly the case the read-time shape check exists for.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $seed = $ENV{FEATSTORE_FUZZ_SEED} // 20261201;
srand($seed);
note("seed $seed (set FEATSTORE_FUZZ_SEED to replay)");

my $rport = start_redis();
my $node = online_node('fuzz', $rport);

my $nvictims = 6;
my $ddl = "CREATE ENTITY acct (acct_id text);\n";
$ddl .= "CREATE FEATURE GROUP healthy_$_ ENTITY acct FEATURES (v bigint, s text) TTL '1 day' ONLINE;\n"
  for 1 .. 2;
$ddl .= "CREATE FEATURE GROUP victim_$_ ENTITY acct FEATURES (v bigint, s text) TTL '1 day' ONLINE;\n"
  for 1 .. $nvictims;
$node->safe_psql('postgres', "DO LANGUAGE featstore \$\$ $ddl \$\$");

# keys are decimal text, so a change of the key's type to bigint succeeds
for my $g ((map { "healthy_$_" } 1 .. 2), (map { "victim_$_" } 1 .. $nvictims))
{
	$node->safe_psql('postgres', qq{
		INSERT INTO $g (acct_id, event_timestamp, v, s)
		SELECT k::text, now() - interval '1 minute', k, 'x' || k FROM generate_series(1, 300) k});
}
wait_caught_up($node, 'initial load');

# damage(group) applies one random change to a victim's table
my @damage = (
	sub { "ALTER TABLE $_[0] ALTER COLUMN acct_id TYPE bigint USING acct_id::bigint" },
	sub { "ALTER TABLE $_[0] ALTER COLUMN v TYPE text" },
	sub { "ALTER TABLE $_[0] ALTER COLUMN event_timestamp TYPE timestamp" },
	sub { "ALTER TABLE $_[0] DROP COLUMN s" },
	sub { "ALTER TABLE $_[0] RENAME COLUMN v TO v_old" },
	sub { "ALTER TABLE $_[0] RENAME COLUMN created_at TO c2" },
	sub { "DROP INDEX IF EXISTS $_[0]_pit_idx" },
	sub { "TRUNCATE $_[0]" },
	sub {
		"CREATE FUNCTION boom_$_[0]() RETURNS trigger LANGUAGE plpgsql AS "
		  . "\$f\$BEGIN RAISE EXCEPTION 'boom'; END\$f\$; "
		  . "CREATE TRIGGER boom BEFORE INSERT ON $_[0] FOR EACH ROW EXECUTE FUNCTION boom_$_[0]()";
	},
	sub {
		# PostgreSQL 15 turns an empty table without triggers or indexes into
		# a view when it gets an ON SELECT rule
		my $g = $_[0];
		"DO \$d\$ DECLARE r record; BEGIN "
		  . "FOR r IN SELECT tgname FROM pg_trigger WHERE tgrelid = '$g'::regclass AND NOT tgisinternal LOOP "
		  . "EXECUTE format('DROP TRIGGER %I ON $g', r.tgname); END LOOP; "
		  . "FOR r IN SELECT conname FROM pg_constraint WHERE conrelid = '$g'::regclass LOOP "
		  . "EXECUTE format('ALTER TABLE $g DROP CONSTRAINT %I', r.conname); END LOOP; "
		  . "FOR r IN SELECT indexrelid::regclass AS i FROM pg_index WHERE indrelid = '$g'::regclass LOOP "
		  . "EXECUTE format('DROP INDEX %s', r.i); END LOOP; END \$d\$; "
		  . "TRUNCATE $g; VACUUM $g; "
		  . "CREATE RULE \"_RETURN\" AS ON SELECT TO $g DO INSTEAD "
		  . "SELECT * FROM (SELECT * FROM healthy_1 LIMIT 0) x";
	},
);

# flowing(group, n) writes a new value for one entity of a healthy group and
# returns how long it took to appear in Redis (read with the documented key)
sub flowing
{
	my ($g, $n) = @_;
	my $k = 1 + int(rand(300));
	$node->safe_psql('postgres',
		"INSERT INTO $g (acct_id, event_timestamp, v, s) VALUES ('$k', now(), $n, 'n$n')");
	my $t0 = time();
	# decode the value with msgpack and wait for this write's text feature
	my $script = q{
import sys, time, msgpack, redis
r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]))
deadline = time.time() + 10
while time.time() < deadline:
    raw = r.get(sys.argv[2])
    if raw is not None and msgpack.unpackb(raw, raw=False)['features']['s'] == sys.argv[3]:
        sys.exit(0)
    time.sleep(0.005)
sys.exit(1)
};
	my $ok = IPC::Run::run([ '/usr/bin/python3', '-c', $script, $rport, "fs:postgres:{acct:$k}:$g", "n$n" ]);
	return $ok ? time() - $t0 : 99;
}

my @lat;
my $applied = 0;
for my $i (1 .. 40)
{
	my $victim = 'victim_' . (1 + int(rand($nvictims)));
	my $sql = $damage[ int(rand(@damage)) ]->($victim);
	my ($rc, $out, $err) = $node->psql('postgres',
		"SET session_replication_role = replica; $sql");
	$applied++ if $rc == 0;
	note("$i: $victim: " . ($rc == 0 ? 'applied' : 'refused: ' . ($err =~ s/\n.*//sr)));

	# writes and rematerializations of the damaged groups fail or not; both are fine
	my $w = 'victim_' . (1 + int(rand($nvictims)));
	$node->psql('postgres',
		"INSERT INTO $w (acct_id, event_timestamp, v, s) VALUES ('7', now(), $i, 'w$i')");
	$node->psql('postgres', "SELECT featstore.materialize('victim_" . (1 + int(rand($nvictims))) . "')")
	  if rand() < 0.4;
	push @lat, flowing('healthy_' . (1 + $i % 2), $i);
}
note("$applied of 40 changes applied");
cmp_ok($applied, '>=', 20, 'most of the damage was applied');

@lat = sort { $a <=> $b } @lat;
diag(sprintf('healthy groups while victims break: commit to Redis p50 %.0f ms, max %.0f ms',
	1000 * $lat[ int(@lat / 2) ], 1000 * $lat[-1]));
cmp_ok($lat[-1], '<', 5, 'every write to a healthy group reached Redis while the others broke');

# rematerialize the healthy groups from scratch, next to the broken ones
redis_cmd($rport, undef, 'FLUSHDB');
$node->safe_psql('postgres', "SELECT featstore.materialize('healthy_$_')") for 1 .. 2;
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM featstore.materialization_status
	 WHERE group_name LIKE 'healthy%' AND queue_depth > 0}),
	'the healthy groups drain their queue');
verify_zero($node, "healthy_$_", "healthy_$_: verify_online finds no difference") for 1 .. 2;

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no process was terminated by a signal');
unlike($log, qr/server process .* was terminated|all server processes terminated/,
	'the server never restarted');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server still answers');

done_testing();
