# A training set (issue 12, part ts) as clients see it: psycopg2's column
# type OIDs and pandas' read_sql dtypes are the view's real types; COPY and
# psql's \copy export the same rows; and after pg_dump / pg_restore into
# another database the set still returns exactly the rows it was created
# with (verify_training_set, and the exported file compared byte for byte).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $have_psycopg2 = system('/usr/bin/python3', '-c', 'import psycopg2') == 0;
my $have_pandas = system('/usr/bin/python3', '-c', 'import pandas, psycopg2') == 0;

my $node = PostgreSQL::Test::Cluster->new('training_set_clients');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'featstore'\ntimezone = 'UTC'");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
CREATE EXTENSION featstore;
DO LANGUAGE featstore $$
	CREATE ENTITY user (user_id text);
	CREATE FEATURE GROUP tx ENTITY user
		FEATURES (n bigint, amt double precision, tags text[], score numeric(6,2)) TTL '1 day';
	CREATE FEATURE GROUP prof ENTITY user FEATURES (country varchar(2), active boolean);
	CREATE FEATURE SERVICE fraud FEATURES (tx.*, prof.country, prof.active);
$$;
INSERT INTO tx (user_id, event_timestamp, created_at, n, amt, tags, score) VALUES
	('u1', '2026-10-01 10:00+00', '2026-10-01 10:00+00', 1, 1.5, '{a,b}', 1.25),
	('u2', '2026-10-01 11:00+00', '2026-10-01 11:00+00', 5, NULL, '{}', 3);
INSERT INTO prof VALUES ('u1', '2026-09-01', '2026-09-01', 'FR', true);
CREATE TABLE labels (user_id text, ts timestamptz NOT NULL, label boolean NOT NULL);
INSERT INTO labels VALUES ('u1', '2026-10-01 12:00+00', true), ('u2', '2026-10-01 12:00+00', false),
	('u3', '2026-10-01 12:00+00', false);
DO LANGUAGE featstore $$
	CREATE TRAINING SET fraud_train FOR SERVICE fraud FROM labels AS OF '2026-10-20 00:00+00'
		TAGS ('model:fraud_v1');
$$;
-- written after as_of: not in the set
INSERT INTO tx (user_id, event_timestamp, n, amt) VALUES ('u3', '2026-10-01 11:30+00', 9, 9);
});

my $expected_rows = join("\n",
	'u1|2026-10-01 12:00:00+00|t|1|1.5|{a,b}|1.25|FR|t',
	'u2|2026-10-01 12:00:00+00|f|5||{}|3.00||',
	'u3|2026-10-01 12:00:00+00|f||||||');
is($node->safe_psql('src', 'SELECT * FROM fraud_train ORDER BY user_id'), $expected_rows,
	'the set holds the rows as of its as_of');

# --- psycopg2 and pandas: the view's types ---
SKIP:
{
	skip 'psycopg2 for /usr/bin/python3 is needed (scripts/install-deps.sh)', 1 unless $have_psycopg2;
	my $out = `/usr/bin/python3 -c '
import sys, psycopg2
conn = psycopg2.connect(host=sys.argv[1], port=int(sys.argv[2]), dbname="src")
cur = conn.cursor()
cur.execute("SELECT * FROM fraud_train")
print(";".join("%s:%d" % (d.name, d.type_code) for d in cur.description))
' '@{[ $node->host ]}' '@{[ $node->port ]}'`;
	chomp $out;
	# text 25, timestamptz 1184, bool 16, int8 20, float8 701, text[] 1009,
	# numeric 1700, varchar 1043
	is($out, 'user_id:25;ts:1184;label:16;n:20;amt:701;tags:1009;score:1700;country:1043;active:16',
		'psycopg2: column names and type OIDs of the view');
}
SKIP:
{
	skip 'pandas for /usr/bin/python3 is needed (scripts/install-deps.sh)', 2 unless $have_pandas;
	my $out = `/usr/bin/python3 -c '
import sys, warnings
import pandas as pd, psycopg2
warnings.simplefilter("ignore")
conn = psycopg2.connect(host=sys.argv[1], port=int(sys.argv[2]), dbname="src")
df = pd.read_sql("SELECT * FROM fraud_train ORDER BY user_id", conn)
print(";".join("%s:%s" % (c, df[c].dtype) for c in df.columns))
m = pd.read_sql("SELECT * FROM fraud_train WHERE n IS NOT NULL ORDER BY user_id", conn)
print(";".join("%s:%s" % (c, m[c].dtype) for c in m.columns))
' '@{[ $node->host ]}' '@{[ $node->port ]}'`;
	my @lines = split /\n/, $out;
	# an int8 column holding NULLs is float64 in pandas, as for any integer
	# column; read_sql's coerce_float turns numeric's Decimals into float64
	is($lines[0] // '',
		'user_id:object;ts:datetime64[ns, UTC];label:bool;n:float64;amt:float64;tags:object;score:float64;country:object;active:object',
		'pandas: dtypes of the whole set');
	is($lines[1] // '',
		'user_id:object;ts:datetime64[ns, UTC];label:bool;n:int64;amt:float64;tags:object;score:float64;country:object;active:object',
		'pandas: an int8 column without NULLs is int64');
}

# --- export ---
my $dir = PostgreSQL::Test::Utils::tempdir;
chmod 0777, $dir;
my $server_file = "$dir/server.csv";
my $client_file = "$dir/client.csv";
$node->safe_psql('src',
	"COPY (SELECT * FROM fraud_train ORDER BY user_id) TO '$server_file' WITH (FORMAT csv, HEADER)");
$node->command_ok([ 'psql', '-X', '-d', $node->connstr('src'), '-c',
	"\\copy (SELECT * FROM fraud_train ORDER BY user_id) TO '$client_file' WITH (FORMAT csv, HEADER)" ],
	'\copy of the set');
my $csv = join("\n",
	'user_id,ts,label,n,amt,tags,score,country,active',
	'u1,2026-10-01 12:00:00+00,t,1,1.5,"{a,b}",1.25,FR,t',
	'u2,2026-10-01 12:00:00+00,f,5,,{},3.00,,',
	'u3,2026-10-01 12:00:00+00,f,,,,,,') . "\n";
is(slurp_file($server_file), $csv, 'COPY (SELECT * FROM set) TO a file');
is(slurp_file($client_file), $csv, '\copy writes the same file');

# --- pg_dump / pg_restore: the set survives, with the same rows ---
my $checksum = $node->safe_psql('src', "SELECT checksum FROM featstore.training_sets WHERE name = 'fraud_train'");
my $dump = "$dir/src.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, $node->connstr('src') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ], 'pg_restore');
is($node->safe_psql('dst',
	"SELECT row_count, rows_now, checksum = checksum_now, spine_unchanged, unchanged FROM featstore.verify_training_set('fraud_train')"),
	'3|3|t|t|t', 'the restored set verifies: same rows as at its creation');
is($node->safe_psql('dst', "SELECT checksum FROM featstore.training_sets WHERE name = 'fraud_train'"),
	$checksum, 'the recorded checksum is restored');
is($node->safe_psql('dst', 'SELECT * FROM fraud_train ORDER BY user_id'), $expected_rows,
	'the restored view returns the same rows');
is($node->safe_psql('dst', "SELECT qualified_name, training_set, model FROM featstore.lineage WHERE training_set IS NOT NULL ORDER BY 1"),
	join("\n", 'prof.active|fraud_train|fraud_v1', 'prof.country|fraud_train|fraud_v1',
		'tx.amt|fraud_train|fraud_v1', 'tx.n|fraud_train|fraud_v1', 'tx.score|fraud_train|fraud_v1',
		'tx.tags|fraud_train|fraud_v1'),
	'lineage is restored');
# the guard holds in the restored database
my ($ret, $out, $err) = $node->psql('dst', 'DO LANGUAGE featstore $$ DROP FEATURE GROUP tx $$');
like($err, qr/cannot drop feature group "tx" because training sets use its features/,
	'the restored set still guards its group');
$node->safe_psql('dst', 'DO LANGUAGE featstore $$ DROP TRAINING SET fraud_train $$');
is($node->safe_psql('dst', "SELECT to_regclass('fraud_train') IS NULL AND to_regclass('fraud_train_spine') IS NULL"),
	't', 'DROP TRAINING SET in the restored database removes the view and the spine table');

$node->stop;
done_testing();
