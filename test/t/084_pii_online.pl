# PII and the online store (issue 12), with a real worker and Redis: Redis
# holds the values of PII features (services are trusted to read Redis, so
# masking does not cover it), online_features() and verify_online() mask
# them for a role that is not a member of featstore_pii_reader, with one
# NOTICE per statement, and a member sees them.  A PII tag change rewrites
# nothing in Redis.  Redis is read with redis-cli through the documented
# key layout (docs/online-store.md).
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('pii', $rport);

$node->safe_psql('postgres', q{
	CREATE ROLE analyst LOGIN IN ROLE featstore_reader;
	CREATE ROLE member LOGIN IN ROLE featstore_reader, featstore_pii_reader;
	DO LANGUAGE featstore $$
		CREATE ENTITY pii_user (user_id bigint);
		CREATE FEATURE GROUP pii_online ENTITY pii_user
			FEATURES (email text 'E-mail address' PII, visits integer 'Visits')
			ONLINE;
	$$;
	INSERT INTO pii_online (user_id, event_timestamp, email, visits) VALUES
		(1, now() - interval '1 hour', 'ann@example.com', 3),
		(2, now() - interval '1 hour', 'bob@example.com', 5);
	GRANT SELECT ON pii_online TO analyst, member;
});
wait_caught_up($node, 'two entities');

# Redis holds the PII value: masking is featstore's read paths only
my $raw = redis_cmd($rport, undef, 'GET', 'fs:postgres:{pii_user:1}:pii_online');
like($raw, qr/ann\@example\.com/, 'Redis holds the PII value itself');

# psql_as(role, sql) runs sql as role; returns (stdout, stderr)
sub psql_as
{
	my ($role, $sql) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', "SET ROLE $role; $sql", stdout => \$out, stderr => \$err);
	return ($out, $err);
}

my ($out, $err) = psql_as('analyst',
	"SELECT u, o.features FROM unnest(ARRAY['1', '2']) u, featstore.online_features('pii_online', u) o ORDER BY u");
is($out, qq(1|{"email": null, "visits": 3}\n2|{"email": null, "visits": 5}),
	'a non-member reads NULL in place of the PII feature');
my @notices = ($err =~ /NOTICE:  PII features masked for role analyst: pii_online\.email\n/g);
is(scalar @notices, 1, 'one NOTICE for the statement, not one per row');
unlike($err, qr/ann\@example|bob\@example/, 'no value in the messages');

($out, $err) = psql_as('member', "SELECT features FROM featstore.online_features('pii_online', '1')");
is($out, '{"email": "ann@example.com", "visits": 3}', 'a member reads the value');
is($err, '', 'and gets no NOTICE');

($out, $err) = psql_as('analyst', "SELECT count(*) FROM featstore.verify_online('pii_online')");
is($out, '0', 'verify_online of a non-member finds no difference');

# a PII tag change rewrites nothing in Redis: the stored value is untouched
my $before = redis_cmd($rport, undef, 'GET', 'fs:postgres:{pii_user:1}:pii_online');
$node->safe_psql('postgres', q{
	DO LANGUAGE featstore $$ ALTER FEATURE GROUP pii_online ALTER FEATURE email DROP PII $$});
is($node->safe_psql('postgres', 'SELECT count(*) FROM featstore.online_queue'),
	'0', 'DROP PII queues no rewrite');
wait_caught_up($node, 'after DROP PII');
is(redis_cmd($rport, undef, 'GET', 'fs:postgres:{pii_user:1}:pii_online'),
	$before, 'the Redis value is the same bytes (materialized_at unchanged)');
($out, $err) = psql_as('analyst', "SELECT features FROM featstore.online_features('pii_online', '1')");
is($out, '{"email": "ann@example.com", "visits": 3}', 'untagged, the value is shown to everyone');
is($err, '', 'without a NOTICE');

# tagged again, masked again, for a session that read it before
$node->safe_psql('postgres', q{SELECT featstore.set_feature_pii('pii_online', 'email', true)});
($out, $err) = psql_as('analyst', "SELECT features->>'email' IS NULL FROM featstore.online_features('pii_online', '2')");
is($out, 't', 'SET PII masks again');

# a stale Redis value: verify_online reports it, PII hidden on both sides
$node->safe_psql('postgres', q{
	SET session_replication_role = replica;
	INSERT INTO pii_online (user_id, event_timestamp, email, visits)
		VALUES (2, now() - interval '1 minute', 'new@example.com', 6);});
($out, $err) = psql_as('analyst',
	"SELECT problem, expected->'features', actual->'features' FROM featstore.verify_online('pii_online')");
is($out, 'different winner|{"email": null, "visits": 6}|{"email": null, "visits": 5}',
	'verify_online masks expected and actual for a non-member');
($out, $err) = psql_as('member',
	"SELECT expected->'features'->>'email', actual->'features'->>'email' FROM featstore.verify_online('pii_online')");
is($out, 'new@example.com|bob@example.com', 'and shows both to a member');

$node->stop;
done_testing();
