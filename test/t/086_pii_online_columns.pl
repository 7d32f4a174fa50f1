# Column privileges and the online reads (issue 12's gap), with a real
# worker and Redis: a team granted the key columns, the timestamps and the
# non-PII feature only reads online_features and verify_online; Redis holds
# every feature's value (read with redis-cli through the documented key
# layout, docs/online-store.md), and the team gets NULL for the PII one, as
# does a featstore_pii_reader member without that column's SELECT; a member
# with it reads the value.  Nothing of the value reaches the team's output
# or messages.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('piicol', $rport);

$node->safe_psql('postgres', q{
	CREATE ROLE team LOGIN IN ROLE featstore_reader;
	CREATE ROLE reader_nocol LOGIN IN ROLE featstore_reader, featstore_pii_reader;
	CREATE ROLE reader_col LOGIN IN ROLE featstore_reader, featstore_pii_reader;
	DO LANGUAGE featstore $$
		CREATE ENTITY pc_user (user_id bigint);
		CREATE FEATURE GROUP pc_online ENTITY pc_user
			FEATURES (email text 'E-mail address' PII, visits integer 'Visits')
			ONLINE;
	$$;
	INSERT INTO pc_online (user_id, event_timestamp, email, visits) VALUES
		(1, now() - interval '1 hour', 'ann@example.com', 3),
		(2, now() - interval '1 hour', 'bob@example.com', 5);
	GRANT SELECT (user_id, event_timestamp, created_at, visits) ON pc_online TO team, reader_nocol;
	GRANT SELECT (user_id, event_timestamp, created_at, visits, email) ON pc_online TO reader_col;
});
wait_caught_up($node, 'two entities');

# redis_key(key) is the documented layout: <prefix>:<namespace>:{<entity>:<key>}:<group>,
# the namespace escaped like a key part and left out when empty (the
# legacy layout, and a schema without featstore.online_namespace())
sub redis_key
{
	my ($k) = @_;
	my $prefix = $node->safe_psql('postgres', "SELECT current_setting('featstore.redis_key_prefix')");
	my $ns = '';
	$ns = $node->safe_psql('postgres', 'SELECT featstore.online_namespace()')
	  if $node->safe_psql('postgres',
		"SELECT to_regprocedure('featstore.online_namespace()') IS NOT NULL") eq 't';
	$ns =~ s/%/%25/g;
	$ns =~ s/:/%3A/g;
	$ns =~ s/\{/%7B/g;
	$ns =~ s/\}/%7D/g;
	return $prefix . ':' . ($ns eq '' ? '' : "$ns:") . "{pc_user:$k}:pc_online";
}

# Redis holds the PII value
my $raw = redis_cmd($rport, undef, 'GET', redis_key(1));
like($raw, qr/ann\@example\.com/, 'Redis holds the PII value itself');

# psql_as(role, sql) runs sql as role; returns (stdout, stderr)
sub psql_as
{
	my ($role, $sql) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', "SET ROLE $role; $sql", stdout => \$out, stderr => \$err);
	return ($out, $err);
}

my ($out, $err) = psql_as('team',
	"SELECT u, o.features FROM unnest(ARRAY['1', '2']) u, featstore.online_features('pc_online', u) o ORDER BY u");
is($out, qq(1|{"email": null, "visits": 3}\n2|{"email": null, "visits": 5}),
	'the team reads the non-PII feature and NULL for the PII one');
my @notices = ($err =~ /NOTICE:  PII features masked for role team: pc_online\.email\n/g);
is(scalar @notices, 1, 'one NOTICE for the statement');
unlike("$out$err", qr/ann\@example|bob\@example/, 'no value in the output or the messages');

($out, $err) = psql_as('team', "SELECT count(*) FROM featstore.verify_online('pc_online')");
is($out, '0', 'verify_online of the team finds no difference');
is($err, '', 'and nothing to mask or report');

($out, $err) = psql_as('reader_nocol', "SELECT features FROM featstore.online_features('pc_online', '1')");
is($out, '{"email": null, "visits": 3}', 'a PII reader without the column\'s SELECT gets NULL');
like($err, qr/DETAIL:  The role may not SELECT their columns/, 'the NOTICE says why');

($out, $err) = psql_as('reader_col', "SELECT features FROM featstore.online_features('pc_online', '1')");
is($out, '{"email": "ann@example.com", "visits": 3}', 'a PII reader with the column\'s SELECT reads the value');
is($err, '', 'without a NOTICE');

# a stale Redis value: verify_online reports it to the team, PII hidden on both sides
$node->safe_psql('postgres', q{
	SET session_replication_role = replica;
	INSERT INTO pc_online (user_id, event_timestamp, email, visits)
		VALUES (2, now() - interval '1 minute', 'new@example.com', 6);});
($out, $err) = psql_as('team',
	"SELECT problem, expected->'features', actual->'features' FROM featstore.verify_online('pc_online')");
is($out, 'different winner|{"email": null, "visits": 6}|{"email": null, "visits": 5}',
	'verify_online masks expected and actual for the team');
unlike("$out$err", qr/new\@example|bob\@example/, 'no value in its output or messages');
($out, $err) = psql_as('reader_col',
	"SELECT expected->'features'->>'email', actual->'features'->>'email' FROM featstore.verify_online('pc_online')");
is($out, 'new@example.com|bob@example.com', 'and shows both to the member with the column');
is(redis_cmd($rport, undef, 'GET', redis_key(2)) =~ /bob\@example\.com/ ? 1 : 0,
	1, 'Redis still holds the old value the comparison reported');

$node->stop;
done_testing();
