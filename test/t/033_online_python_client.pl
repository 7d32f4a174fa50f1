# The Python example of docs/online-store.md (examples/online_client.py,
# Debian's python3-redis and python3-msgpack) reads several entities x
# several groups in one round trip and agrees with online_features().  It
# prints a status per value and ISO times; with the definitions exported by
# examples/featstore_definitions.sql it refuses unknown groups, services and
# entities, reads a whole service, and prints features by their SQL type.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => '/usr/bin/python3 with redis and msgpack is needed'
  unless system('/usr/bin/python3', '-c', 'import redis, msgpack') == 0;

my $rport = start_redis();
my $node = online_node('python', $rport);
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY card (bank text, card_id bigint);
		CREATE FEATURE GROUP card_spend ENTITY card FEATURES (total double precision 'Spend', n bigint 'Count') TTL '1 day' ONLINE;
		CREATE FEATURE GROUP card_profile ENTITY card FEATURES (country text 'Country', emb real[] 'Embedding', score real, first_seen timestamptz) ONLINE;
		CREATE FEATURE GROUP card_flags ENTITY card FEATURES (blocked boolean 'Blocked') TTL '1 hour' ONLINE;
		CREATE ENTITY shop (shop_id bigint);
		CREATE FEATURE GROUP shop_risk ENTITY shop FEATURES (risk double precision) ONLINE;
		CREATE FEATURE GROUP card_archive ENTITY card FEATURES (old bigint) OFFLINE;
		CREATE FEATURE SERVICE card_model FEATURES (card_spend.total, card_profile.score, shop_risk.risk, card_flags.blocked);
	$$);
	INSERT INTO card_spend VALUES ('b:1', 7, now() - interval '1 minute', DEFAULT, 12.5, 3), ('b2', 8, now(), DEFAULT, 1.25, 1);
	INSERT INTO card_profile VALUES ('b:1', 7, now(), DEFAULT, 'FR', '{0.25,-1}', 0.1, '2026-01-02 03:04:05.5+00');
	INSERT INTO shop_risk VALUES (5, now(), DEFAULT, 0.75);
	INSERT INTO card_flags VALUES ('b:1', 7, now() - interval '2 hours', DEFAULT, true);  -- expired
});
wait_caught_up($node);

my ($out, $err) = ('', '');
my $ok = IPC::Run::run(
	[ '/usr/bin/python3', 'examples/online_client.py', '--port', $rport, '--namespace', 'postgres', '--entity', 'card',
	  '--key', 'b:1,7', '--key', 'b2,8', '--key', 'b3,9',
	  '--group', 'card_spend', '--group', 'card_profile', '--group', 'card_flags' ],
	'>', \$out, '2>', \$err, IPC::Run::timeout(30));
ok($ok, 'the Python example runs') or diag($err);
my $missing = qr/\{\s*"status": "missing"\s*\}/;
like($out, qr/"b:1,7": \{\s*"card_flags": $missing,\s*"card_profile": \{/s, 'expired group is missing, profile present');
like($out, qr/"country": "FR",\s*"emb": \[\s*0\.25,\s*-1\.0\s*\]/s, 'text and real[] decoded');
like($out, qr/"total": 12\.5/, 'double decoded');
like($out, qr/"b2,8": \{\s*"card_flags": $missing,\s*"card_profile": $missing,\s*"card_spend": \{/s, 'second entity');
like($out, qr/"b3,9": \{\s*"card_flags": $missing,\s*"card_profile": $missing,\s*"card_spend": $missing/s,
	'an entity without values is missing, not null');

# the same event_timestamp as online_features, as an ISO time
my $ets = $node->safe_psql('postgres',
	"SELECT to_char(event_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')
	        || CASE WHEN extract(microseconds FROM event_timestamp)::int % 1000000 = 0 THEN ''
	                ELSE to_char(event_timestamp AT TIME ZONE 'UTC', '.US') END || '+00:00'
	   FROM featstore.online_features('card_spend', 'b2', '8')");
like($out, qr/"b2,8": .*?"event_timestamp": "\Q$ets\E"/s, 'event_timestamp matches online_features, as ISO');

# client(args...) runs the example; returns (exit code, stdout, stderr)
sub client
{
	my ($o, $e) = ('', '');
	IPC::Run::run([ '/usr/bin/python3', 'examples/online_client.py', '--port', $rport, @_ ],
		'>', \$o, '2>', \$e, IPC::Run::timeout(30));
	return ($? >> 8, $o, $e);
}

# without definitions a misspelt group is only "missing", with a note
my ($rc, $o, $e) = client('--entity', 'card', '--key', 'b:1,7', '--group', 'card_spnd');
is($rc, 0, 'a misspelt group without definitions is not an error');
like($e, qr/no value of group "card_spnd" for any requested entity; pass --definitions/, 'but gets a note');

# the definitions, exported from PostgreSQL as the docs say
my $defs = "$PostgreSQL::Test::Utils::tmp_check/featstore.json";
my ($dout, $derr) = ('', '');
IPC::Run::run([ 'psql', '-X', '-A', '-t', '-f', 'examples/featstore_definitions.sql',
	'-d', $node->connstr('postgres') ], '>', $defs, '2>', \$derr) or die "export: $derr";
my @d = ('--definitions', $defs);
($rc, $o, $e) = client(@d, '--entity', 'card', '--key', 'b:1,7', '--group', 'card_spnd');
is($rc, 2, 'with definitions an unknown group is an error');
like($e, qr/feature group "card_spnd" does not exist \(known: card_archive, card_flags, card_profile, card_spend, shop_risk\)/,
	'naming the known groups');
($rc, $o, $e) = client(@d, '--entity', 'shop', '--key', '5', '--group', 'card_spend');
is($rc, 2, 'a group of another entity is an error');
like($e, qr/feature group "card_spend" belongs to entity "card", not "shop"/, 'naming both entities');
($rc, $o, $e) = client(@d, '--entity', 'card', '--key', 'b:1,7', '--group', 'card_archive');
like($e, qr/feature group "card_archive" is OFFLINE/, 'an OFFLINE group is an error');

# typed features: timestamptz as an ISO time, real without float32 noise
($rc, $o, $e) = client(@d, '--entity', 'card', '--key', 'b:1,7', '--group', 'card_profile');
like($o, qr/"first_seen": "2026-01-02T03:04:05\.500000\+00:00"/, 'timestamptz feature as ISO');
like($o, qr/"score": 0\.1\s*\}/, 'real 0.1 printed as 0.1');
like($out, qr/"score": 0\.1000000014/, '(without definitions the type is unknown: float32 noise)');
like($o, qr/"emb": \[\s*0\.25,\s*-1\.0\s*\]/s, 'real[] elements too');

# a whole service for two requests, two entities each, in one round trip
($rc, $o, $e) = client(@d, '--service', 'card_model', '--row', 'card=b:1,7;shop=5', '--row', 'card=b3,9;shop=6');
is($rc, 0, 'a service reads') or diag($e);
like($o, qr/"card=b:1,7;shop=5": \{\s*"features": \{\s*"card_spend.total": 12\.5,\s*"card_profile.score": 0\.1,\s*"shop_risk.risk": 0\.75,\s*"card_flags.blocked": null\s*\}/s,
	'the service\'s features, in its order');
like($o, qr/"card=b3,9;shop=6": \{\s*"features": \{\s*"card_spend.total": null,\s*"card_profile.score": null,\s*"shop_risk.risk": null/s,
	'an unknown entity gets NULL features');
like($o, qr/"card=b3,9;shop=6": .*"card_spend": $missing/s, 'and says missing per group');
($rc, $o, $e) = client(@d, '--service', 'card_model', '--row', 'card=b:1,7');
is($rc, 2, 'a row without a key for one of the service\'s entities is an error');
like($e, qr/row 1 has no key of entity "shop" \(group "shop_risk" of service "card_model"\)/, 'naming it');
($rc, $o, $e) = client(@d, '--service', 'card_modl', '--row', 'card=b:1,7');
like($e, qr/feature service "card_modl" does not exist \(known: card_model\)/, 'an unknown service is an error');

IPC::Run::run(
	[ '/usr/bin/python3', 'examples/online_client.py', '--port', $rport, '--namespace', 'postgres', '--entity', 'card',
	  '--key', 'b:1,7', '--group', 'card_spend', '--group', 'card_profile', '--group', 'card_flags',
	  '--bench', '200' ],
	'>', \$out, '2>', \$err, IPC::Run::timeout(60));
like($out, qr/"p50_us": [0-9.]+, "p99_us": [0-9.]+/, 'latency mode works');
diag("Python, 1 entity x 3 groups, one pipelined round trip: $out");

verify_zero($node, $_) for qw(card_spend card_profile card_flags shop_risk);
$node->stop;
stop_redis($rport);
done_testing();
