# pit_join() through a client driver: psycopg2 (what pandas.read_sql uses)
# sees the real column names and type OIDs, with a bound as_of parameter,
# on groups made with the featstore DDL (compound and uuid keys included).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => '/usr/bin/python3 with psycopg2 is needed'
  unless system('/usr/bin/python3', '-c', 'import psycopg2') == 0;

my $node = PostgreSQL::Test::Cluster->new('pit_drivers');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'featstore'\ntimezone = 'UTC'");
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION featstore;
SELECT * FROM featstore.exec($$
	CREATE ENTITY user (user_id text);
	CREATE ENTITY device (region text, device_id uuid);
	CREATE FEATURE GROUP user_transaction_features ENTITY user
		FEATURES (tx_count_24h bigint 'Transactions in 24 hours', avg_amount double precision 'Mean amount')
		TTL '24 hours';
	CREATE FEATURE GROUP device_profile ENTITY device FEATURES (risk real 'Risk score');
	CREATE FEATURE SERVICE fraud_model FEATURES (user_transaction_features.*, device_profile.risk);
$$);
INSERT INTO user_transaction_features (user_id, event_timestamp, created_at, tx_count_24h, avg_amount) VALUES
	('u1', '2026-01-01 10:00', '2026-01-01 10:05', 3, 12.5),
	('u1', '2026-01-01 12:00', '2026-01-03 00:00', 4, 20.0);   -- backfilled two days later
INSERT INTO device_profile (region, device_id, event_timestamp, created_at, risk) VALUES
	('eu', '00000000-0000-0000-0000-000000000001', '2026-01-01', '2026-01-01', 0.5);
CREATE TABLE labels (user_id text, region text, device_id uuid, ts timestamptz, is_fraud boolean);
INSERT INTO labels VALUES
	('u1', 'eu', '00000000-0000-0000-0000-000000000001', '2026-01-01 13:00', false),
	('u1', 'eu', '00000000-0000-0000-0000-000000000002', '2026-01-02 11:00', true),
	('u2', 'us', NULL, '2026-01-01 13:00', false);
SELECT featstore.create_pit_view('fraud_training', 'labels', service => 'fraud_model');
});

my $script = <<'PY';
import sys, psycopg2
conn = psycopg2.connect(host=sys.argv[1], port=int(sys.argv[2]), dbname='postgres')
cur = conn.cursor()
cur.execute("SELECT * FROM featstore.pit_join(NULL::fraud_training, 'labels', service => 'fraud_model', as_of => %s) ORDER BY ts, user_id",
            ('2026-01-02 00:00+00',))
print(';'.join('%s:%d' % (d.name, d.type_code) for d in cur.description))
for row in cur.fetchall():
    print('|'.join('' if v is None else str(v) for v in row))
PY

my ($out, $err) = ('', '');
my $ok = IPC::Run::run([ '/usr/bin/python3', '-c', $script, $node->host, $node->port ],
	'>', \$out, '2>', \$err, IPC::Run::timeout(60));
ok($ok, 'psycopg2 runs pit_join with a bound as_of') or diag($err);
my @lines = split /\n/, $out;
is($lines[0],
	'user_id:25;region:25;device_id:2950;ts:1184;is_fraud:16;tx_count_24h:20;avg_amount:701;risk:700',
	'column names and type OIDs are the real ones');
is($lines[1], 'u1|eu|00000000-0000-0000-0000-000000000001|2026-01-01 13:00:00+00:00|False|3|12.5|0.5',
	'as_of hides the backfilled row; the compound uuid key matches');
is($lines[2], 'u2|us||2026-01-01 13:00:00+00:00|False|||', 'a missing entity and a NULL key give NULLs');
is($lines[3], 'u1|eu|00000000-0000-0000-0000-000000000002|2026-01-02 11:00:00+00:00|True|||',
	'outside the TTL (and an unknown device) gives NULLs');
is(scalar(@lines), 4, 'one row per spine row');

# without as_of the backfilled row is the winner
my $now = $node->safe_psql('postgres',
	"SELECT tx_count_24h FROM fraud_training WHERE ts = '2026-01-01 13:00' AND user_id = 'u1'");
is($now, '4', 'the view sees every committed row');

$node->stop;
done_testing();
