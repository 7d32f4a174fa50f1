# pit_join() through JDBC (pgjdbc, server-side prepared statement) and pandas
# (pd.read_sql over psycopg2): column names and types as each client reports
# them, and values equal to the LATERAL oracle of docs/pit-semantics.md.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $jar = '/usr/share/java/postgresql.jar';	# libpostgresql-jdbc-java
my $have_java = -r $jar
  && system('sh', '-c', 'command -v javac >/dev/null && command -v java >/dev/null') == 0;
my $have_pandas = system('/usr/bin/python3', '-c', 'import pandas, psycopg2') == 0;

my $node = PostgreSQL::Test::Cluster->new('pit_jdbc_pandas');
$node->init;
# pgjdbc speaks TCP only; the unix socket stays for safe_psql and psycopg2
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'featstore'\ntimezone = 'UTC'\nlisten_addresses = '127.0.0.1'");
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION featstore;
DO LANGUAGE featstore $$
	CREATE ENTITY user (user_id text);
	CREATE FEATURE GROUP g ENTITY user
		FEATURES (n bigint 'a count', x double precision 'a mean')
		TTL '24 hours';
$$;
INSERT INTO g (user_id, event_timestamp, created_at, n, x) VALUES
	('u1', '2026-01-01 10:00', '2026-01-01 10:00', 1, 1.5),
	('u1', '2026-01-01 12:00', '2026-01-01 12:00', 2, 2.25),
	('u1', '2026-01-01 12:00', '2026-01-01 12:30', 3, -0.5),   -- same event time, written later: wins
	('u2', '2026-01-02 00:00', '2026-01-02 00:05', 10, NULL),  -- a NULL feature value
	('u4', '2026-01-01 09:00', '2026-01-01 09:00', 7, 0.1);
CREATE TABLE labels (user_id text, ts timestamptz NOT NULL, label boolean NOT NULL);
INSERT INTO labels VALUES
	('u1', '2026-01-01 11:00', false),
	('u1', '2026-01-01 11:00', false),   -- a duplicate spine row is kept
	('u1', '2026-01-01 12:00', true),    -- event_timestamp = ts counts; the tie goes to created_at
	('u1', '2026-01-03 12:00', false),   -- the last row is 48 h old: TTL expired
	('u2', '2026-01-02 00:00', true),
	('u3', '2026-01-01 11:00', false),   -- an entity with no history
	(NULL, '2026-01-01 13:00', true),    -- a NULL key never matches
	('u4', '2026-01-02 09:00', true);    -- exactly at the TTL bound (inclusive)
SELECT featstore.create_pit_view('training_view', 'labels', features => ARRAY['g']);
});

# The answer, computed without featstore: the LATERAL oracle of docs/pit-semantics.md,
# one line per row in the format the clients below print (\N for NULL).
sub oracle
{
	my ($as_of) = @_;
	my $bound = defined $as_of ? "'$as_of'::timestamptz" : 'NULL::timestamptz';
	return $node->safe_psql('postgres', qq{
SELECT concat_ws('|', coalesce(s.user_id, '\\N'),
		to_char(s.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		s.label::text, coalesce(w.n::text, '\\N'), coalesce(w.x::text, '\\N'))
  FROM labels s LEFT JOIN LATERAL (
	SELECT r.n, r.x FROM g r
	 WHERE r.user_id = s.user_id AND r.event_timestamp <= s.ts
	   AND r.event_timestamp >= s.ts - interval '24 hours'
	   AND ($bound IS NULL OR r.created_at <= $bound)
	 ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) w ON true
 ORDER BY s.ts, s.user_id NULLS LAST});
}

# The oracle itself, read by hand against the rows above.
my $oracle_all = oracle(undef);
is($oracle_all, join("\n",
	'u1|2026-01-01T11:00:00Z|false|1|1.5',
	'u1|2026-01-01T11:00:00Z|false|1|1.5',
	'u3|2026-01-01T11:00:00Z|false|\N|\N',
	'u1|2026-01-01T12:00:00Z|true|3|-0.5',
	'\N|2026-01-01T13:00:00Z|true|\N|\N',
	'u2|2026-01-02T00:00:00Z|true|10|\N',
	'u4|2026-01-02T09:00:00Z|true|7|0.1',
	'u1|2026-01-03T12:00:00Z|false|\N|\N'), 'oracle, no as_of');
# as_of 12:15 on Jan 1: the tie winner (written 12:30) and u2's row are unknown yet
my $as_of = '2026-01-01 12:15+00';
my $oracle_as_of = oracle($as_of);
is($oracle_as_of, join("\n",
	'u1|2026-01-01T11:00:00Z|false|1|1.5',
	'u1|2026-01-01T11:00:00Z|false|1|1.5',
	'u3|2026-01-01T11:00:00Z|false|\N|\N',
	'u1|2026-01-01T12:00:00Z|true|2|2.25',
	'\N|2026-01-01T13:00:00Z|true|\N|\N',
	'u2|2026-01-02T00:00:00Z|true|\N|\N',
	'u4|2026-01-02T09:00:00Z|true|7|0.1',
	'u1|2026-01-03T12:00:00Z|false|\N|\N'), 'oracle, as_of');

my $call = q{SELECT * FROM featstore.pit_join(NULL::training_view, 'labels', features => ARRAY['g']%s)}
  . q{ ORDER BY ts, user_id NULLS LAST};

sub run_client
{
	my ($what, @cmd) = @_;
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(\@cmd, '>', \$out, '2>', \$err, IPC::Run::timeout(120));
	ok($ok, "$what runs") or diag($err);
	return $out;
}

# --- JDBC ---------------------------------------------------------------
SKIP:
{
	skip "JDBC: javac, java and $jar are needed (scripts/install-deps.sh installs them)", 8
	  unless $have_java;

	my $dir = PostgreSQL::Test::Utils::tempdir;
	my $java = <<'JAVA';
import java.sql.*;
import java.time.OffsetDateTime;
import java.util.Properties;

public class PitJdbc {
    static void meta(String tag, ResultSetMetaData md) throws SQLException {
        StringBuilder b = new StringBuilder(tag);
        for (int i = 1; i <= md.getColumnCount(); i++)
            b.append(i == 1 ? ":" : ";").append(md.getColumnName(i)).append(':')
             .append(md.getColumnTypeName(i)).append(':').append(md.getColumnType(i))
             .append(':').append(md.getColumnClassName(i));
        System.out.println(b);
    }

    static String orNull(Object v, boolean wasNull) { return wasNull ? "\\N" : String.valueOf(v); }

    static void rows(String tag, PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            meta(tag + "-rs", rs.getMetaData());
            while (rs.next()) {
                String u = rs.getString("user_id");
                String ts = rs.getObject("ts", OffsetDateTime.class).toInstant().toString();
                boolean label = rs.getBoolean("label");
                long n = rs.getLong("n");
                boolean nNull = rs.wasNull();
                double x = rs.getDouble("x");
                boolean xNull = rs.wasNull();
                System.out.println(tag + ":" + String.join("|", u == null ? "\\N" : u, ts,
                        String.valueOf(label), orNull(n, nNull), orNull(x, xNull)));
            }
        }
    }

    public static void main(String[] a) throws Exception {
        Properties p = new Properties();
        p.setProperty("user", a[2]);
        p.setProperty("prepareThreshold", "-1");  // server-side prepare from the first execution
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + a[1] + "/postgres", p);
             PreparedStatement ps = c.prepareStatement(a[0])) {
            meta("describe", ps.getMetaData());   // Describe only, before any execution
            ps.setNull(1, Types.TIMESTAMP_WITH_TIMEZONE);
            rows("all", ps);
            ps.setObject(1, OffsetDateTime.parse(a[3]), Types.TIMESTAMP_WITH_TIMEZONE);
            rows("asof", ps);
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_prepared_statements"
                         + " WHERE strpos(statement, 'featstore.pit_' || 'join(') > 0 AND NOT from_sql")) {
                rs.next();
                System.out.println("server-prepared:" + rs.getLong(1));
            }
        }
    }
}
JAVA
	open(my $fh, '>', "$dir/PitJdbc.java") or die $!;
	print $fh $java;
	close $fh;
	my ($out, $err) = ('', '');
	ok(IPC::Run::run([ 'javac', '-cp', $jar, '-d', $dir, "$dir/PitJdbc.java" ],
			'>', \$out, '2>', \$err, IPC::Run::timeout(120)),
		'javac compiles the JDBC client') or diag($err);

	my $user = getpwuid($<);
	$out = run_client('the JDBC client', 'java', '-cp', "$jar:$dir", 'PitJdbc',
		sprintf($call, ', as_of => ?'), $node->port, $user, '2026-01-01T12:15:00Z');
	my (%got, @lines);
	for (split /\n/, $out)
	{
		my ($tag, $rest) = split /:/, $_, 2;
		push @{ $got{$tag} }, $rest;
	}
	my $meta = join(';',
		'user_id:text:12:java.lang.String',
		'ts:timestamptz:93:java.sql.Timestamp',
		'label:bool:-7:java.lang.Boolean',
		'n:int8:-5:java.lang.Long',
		'x:float8:8:java.lang.Double');
	is($got{describe}[0], $meta, 'JDBC: prepared statement metadata (Describe) has the real names and types');
	is($got{'all-rs'}[0], $meta, 'JDBC: result set metadata has the real names and types');
	is(join("\n", @{ $got{all} || [] }), $oracle_all, 'JDBC: values equal the oracle (as_of NULL)');
	is($got{'asof-rs'}[0], $meta, 'JDBC: metadata again on re-execution of the prepared statement');
	is(join("\n", @{ $got{asof} || [] }), $oracle_as_of, 'JDBC: values equal the oracle (as_of bound)');
	is($got{'server-prepared'}[0], '1', 'JDBC: the statement was prepared on the server');
}

# --- pandas -------------------------------------------------------------
SKIP:
{
	skip 'pandas: /usr/bin/python3 with pandas and psycopg2 is needed (scripts/install-deps.sh installs them)', 7
	  unless $have_pandas;

	my $script = <<'PY';
import math, sys, warnings
import pandas as pd, psycopg2
warnings.simplefilter('ignore')   # pandas may warn about a non-SQLAlchemy connection
conn = psycopg2.connect(host=sys.argv[2], port=int(sys.argv[3]), dbname='postgres')

def cell(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return '\\N'
    if isinstance(v, pd.Timestamp):
        assert str(v.tz) == 'UTC', v.tz
        return v.strftime('%Y-%m-%dT%H:%M:%SZ')
    if isinstance(v, (bool,)) or type(v).__name__ == 'bool_':
        return 'true' if v else 'false'
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))    # an int8 column holding NULLs comes back as float64
    return repr(v) if isinstance(v, float) else str(v)

def show(tag, df):
    print(tag + '-meta:' + ';'.join('%s:%s' % (c, df[c].dtype) for c in df.columns))
    for row in df.itertuples(index=False):
        print(tag + ':' + '|'.join(cell(v) for v in row))

call = sys.argv[1]
show('all', pd.read_sql(call % '', conn))
show('asof', pd.read_sql(call % ', as_of => %(as_of)s', conn, params={'as_of': sys.argv[4]}))
# only matched rows: the int8 column has no NULL, so pandas keeps it int64
show('matched', pd.read_sql('SELECT * FROM (' + (call % '') + ') t WHERE n IS NOT NULL', conn))
PY
	my $out = run_client('pd.read_sql', '/usr/bin/python3', '-c', $script,
		$call, $node->host, $node->port, $as_of);
	my %got;
	for (split /\n/, $out)
	{
		my ($tag, $rest) = split /:/, $_, 2;
		push @{ $got{$tag} }, $rest;
	}
	# int8 with NULLs becomes float64 (NaN), as pandas does for any integer column
	is($got{'all-meta'}[0],
		'user_id:object;ts:datetime64[ns, UTC];label:bool;n:float64;x:float64',
		'pandas: column names and dtypes');
	is(join("\n", @{ $got{all} || [] }), $oracle_all, 'pandas: values equal the oracle');
	is($got{'asof-meta'}[0], $got{'all-meta'}[0], 'pandas: same dtypes with a bound as_of');
	is(join("\n", @{ $got{asof} || [] }), $oracle_as_of, 'pandas: values equal the oracle (as_of bound)');
	is($got{'matched-meta'}[0],
		'user_id:object;ts:datetime64[ns, UTC];label:bool;n:int64;x:float64',
		'pandas: an int8 column without NULLs is int64');
	is(join("\n", @{ $got{matched} || [] }),
		join("\n", grep { !/^[^|]*\|[^|]*\|[^|]*\|\\N\|/ } split /\n/, $oracle_all),
		'pandas: matched rows equal the oracle');
}

$node->stop;
done_testing();
