# The Python example of docs/online-store.md (examples/online_client.py,
# Debian's python3-redis and python3-msgpack) reads several entities x
# several groups in one round trip and agrees with online_features().
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
		CREATE FEATURE GROUP card_profile ENTITY card FEATURES (country text 'Country', emb real[] 'Embedding') ONLINE;
		CREATE FEATURE GROUP card_flags ENTITY card FEATURES (blocked boolean 'Blocked') TTL '1 hour' ONLINE;
	$$);
	INSERT INTO card_spend VALUES ('b:1', 7, now() - interval '1 minute', DEFAULT, 12.5, 3), ('b2', 8, now(), DEFAULT, 1.25, 1);
	INSERT INTO card_profile VALUES ('b:1', 7, now(), DEFAULT, 'FR', '{0.25,-1}');
	INSERT INTO card_flags VALUES ('b:1', 7, now() - interval '2 hours', DEFAULT, true);  -- expired
});
wait_caught_up($node);

my ($out, $err) = ('', '');
my $ok = IPC::Run::run(
	[ '/usr/bin/python3', 'examples/online_client.py', '--port', $rport, '--entity', 'card',
	  '--key', 'b:1,7', '--key', 'b2,8', '--key', 'b3,9',
	  '--group', 'card_spend', '--group', 'card_profile', '--group', 'card_flags' ],
	'>', \$out, '2>', \$err, IPC::Run::timeout(30));
ok($ok, 'the Python example runs') or diag($err);
like($out, qr/"b:1,7": \{\s*"card_flags": null,\s*"card_profile": \{/s, 'expired group is absent, profile present');
like($out, qr/"country": "FR",\s*"emb": \[\s*0\.25,\s*-1\.0\s*\]/s, 'text and real[] decoded');
like($out, qr/"total": 12\.5/, 'double decoded');
like($out, qr/"b2,8": \{\s*"card_flags": null,\s*"card_profile": null,\s*"card_spend": \{/s, 'second entity');
like($out, qr/"b3,9": \{\s*"card_flags": null,\s*"card_profile": null,\s*"card_spend": null/s, 'unknown entity');

# the same event_timestamp as online_features, in Unix microseconds
my $ets = $node->safe_psql('postgres',
	"SELECT (extract(epoch FROM event_timestamp) * 1000000)::bigint FROM featstore.online_features('card_spend', 'b2', '8')");
like($out, qr/"event_timestamp": $ets/, 'event_timestamp matches online_features');

IPC::Run::run(
	[ '/usr/bin/python3', 'examples/online_client.py', '--port', $rport, '--entity', 'card',
	  '--key', 'b:1,7', '--group', 'card_spend', '--group', 'card_profile', '--group', 'card_flags',
	  '--bench', '200' ],
	'>', \$out, '2>', \$err, IPC::Run::timeout(60));
like($out, qr/"p50_us": [0-9.]+, "p99_us": [0-9.]+/, 'latency mode works');
diag("Python, 1 entity x 3 groups, one pipelined round trip: $out");

verify_zero($node, $_) for qw(card_spend card_profile card_flags);
$node->stop;
stop_redis($rport);
done_testing();
