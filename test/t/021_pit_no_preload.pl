# Without shared_preload_libraries, the first marker join of a session is
# still planned as a PitJoin (the marker's support function loads the
# library during planning), and pit_join() works.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('pit_no_preload');
$node->init;
$node->append_conf('postgresql.conf', "timezone = 'UTC'");
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION featstore;
SELECT * FROM featstore.exec($$
	CREATE ENTITY user (user_id text);
	CREATE FEATURE GROUP g ENTITY user FEATURES (v bigint) TTL '1 day';
$$);
INSERT INTO g (user_id, event_timestamp, created_at, v) VALUES ('u1', '2026-01-01', '2026-01-01', 7);
CREATE TABLE spine (user_id text, ts timestamptz);
INSERT INTO spine VALUES ('u1', '2026-01-01 12:00'), ('u1', '2026-01-03'), ('u2', '2026-01-01 12:00');
});

# each safe_psql is a new session, so the library is not loaded yet
my $plan = $node->safe_psql('postgres', q{
EXPLAIN (COSTS OFF) SELECT s.*, f.v FROM spine s LEFT JOIN g f
	ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '1 day')});
like($plan, qr/Custom Scan \(PitJoin\)/, 'first marker join of a fresh session is a PitJoin');

my $rows = $node->safe_psql('postgres', q{
SELECT s.user_id, s.ts, f.v FROM spine s LEFT JOIN g f
	ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '1 day')
 ORDER BY s.ts, s.user_id});
is($rows, "u1|2026-01-01 12:00:00+00|7\nu2|2026-01-01 12:00:00+00|\nu1|2026-01-03 00:00:00+00|",
	'and it returns the point-in-time rows');

$node->safe_psql('postgres', q{SELECT featstore.create_pit_view('training', 'spine', '{g}')});
$rows = $node->safe_psql('postgres', q{
SELECT count(*), count(v) FROM featstore.pit_join(NULL::training, 'spine', '{g}')});
is($rows, '3|1', 'pit_join works in a fresh session');

$node->stop;
done_testing();
