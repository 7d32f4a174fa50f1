# Without shared_preload_libraries, CREATE EXTENSION and everything but the
# background worker still work: loading the library late must never take the
# backend down.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('nopreload');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE app');
my ($ret, $out, $err) = $node->psql('app', 'CREATE EXTENSION featstore');
is($ret, 0, 'CREATE EXTENSION works without preloading') or diag($err);

$node->safe_psql('app', q{
DO LANGUAGE featstore $$
	CREATE ENTITY user (user_id text);
	CREATE FEATURE GROUP user_features ENTITY user FEATURES (clicks bigint) TTL '1 day' ONLINE;
$$;
INSERT INTO user_features (user_id, event_timestamp, created_at, clicks)
VALUES ('u1', '2026-01-01 10:00+00', '2026-01-01 10:00+00', 1),
	   ('u1', '2026-01-01 11:00+00', '2026-01-01 11:00+00', 2);
CREATE TABLE labels (user_id text, ts timestamptz);
INSERT INTO labels VALUES ('u1', '2026-01-01 10:30+00'), ('u1', '2026-01-01 12:00+00');
});
is($node->safe_psql('app', 'SELECT count(*) FROM featstore.catalog'), '1',
	'the statement language works');

$node->safe_psql('app', q{SELECT featstore.create_pit_view('training', 'labels', features => ARRAY['user_features'])});
is($node->safe_psql('app', q{SELECT string_agg(clicks::text, ',' ORDER BY ts) FROM training}), '1,2',
	'the point-in-time join works');

# a fresh backend loads the library on first use, with no crash
is($node->safe_psql('app', q{SELECT count(*) FROM featstore.pit_join(NULL::training, 'labels', features => ARRAY['user_features'])}),
	'2', 'a new session loads featstore on demand');
ok($node->safe_psql('app', 'SELECT 1') eq '1', 'the server is still up');

$node->stop;
done_testing();
