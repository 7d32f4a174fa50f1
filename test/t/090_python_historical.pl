# The Python client's training-data path (python/, docs/python.md):
# pip install ./python offline, then get_historical_features() over a
# 20000-row entity DataFrame (text and bigint compound keys with ':', '{',
# '%', '', quotes, newlines and NULLs; a uuid key; NULL times; duplicates; a
# hostile column name) for whole groups, a service plus features, as_of and
# strict, compared value by value with an independent oracle (plain INSERTs
# and hand-written LATERAL queries read with psycopg2's casts): 0
# differences.  Also the dtypes, the kept index, full_feature_names, the
# errors for unknown names and naive times, the registry calls, and the
# caller's rights: no SELECT is an error, PII is NULL for a non-member of
# featstore_pii_reader.  First, the package's unit tests (python/tests).
use strict;
use warnings;
use lib 'test/perl';
use FeatstorePython;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => '/usr/bin/python3 with psycopg2, redis, msgpack, pandas is needed'
  unless python_ok();

my $node = PostgreSQL::Test::Cluster->new('pyhist');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION featstore;
	SELECT * FROM featstore.exec($$
		CREATE ENTITY card (bank text, card_id bigint);
		CREATE ENTITY dev (dev_id uuid);
		CREATE FEATURE GROUP spend ENTITY card FEATURES (total double precision, n bigint,
			note text, ok boolean, seen timestamptz, r real, num numeric, arr integer[],
			small integer) TTL '1 day';
		CREATE FEATURE GROUP prof ENTITY card FEATURES (country text, email text PII);
		CREATE FEATURE GROUP devg ENTITY dev FEATURES (score double precision) TTL '2 hours';
		CREATE FEATURE SERVICE m FEATURES (spend.total, spend.n, prof.country, devg.score);
	$$);
	SELECT setseed(0.25);
	CREATE TABLE texts AS SELECT * FROM unnest(ARRAY['b:1', 'b2', '', 'x{y}%', 'a,b',
		'q"uote', E'line\nbreak', '\N', 'x']) t(s);
	-- about 30 rows per card, created 0 to 3 days after the event, plus corrections
	INSERT INTO spend
	SELECT t.s, c, e, e + random() * interval '3 days',
	       CASE WHEN random() < 0.05 THEN NULL WHEN random() < 0.05 THEN 'NaN'
	            ELSE round((random() * 1000)::numeric, 3)::float8 END,
	       CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 1e12)::bigint END,
	       (SELECT s FROM texts ORDER BY random() + g * 0 LIMIT 1),
	       CASE WHEN random() < 0.1 THEN NULL ELSE random() < 0.5 END,
	       CASE WHEN random() < 0.1 THEN NULL
	            ELSE e - random() * interval '900 days' END,
	       (random() * 10)::real,
	       round((random() * 1e6)::numeric, 4),
	       ARRAY[(random() * 100)::int, NULL, -1],
	       (random() * 1000)::int
	  FROM texts t, generate_series(0, 5) c, generate_series(1, 30) g,
	       LATERAL (SELECT timestamptz '2026-10-01 00:00+00'
	                       + random() * interval '40 days' + g * interval '0 s' AS e) x
	ON CONFLICT DO NOTHING;
	INSERT INTO spend (bank, card_id, event_timestamp, created_at, total, note)
	SELECT bank, card_id, event_timestamp, created_at + interval '5 days', -total, 'corrected'
	  FROM spend WHERE n % 7 = 0;
	INSERT INTO prof
	SELECT t.s, c, timestamptz '2026-10-01 00:00+00' + g * interval '5 days',
	       timestamptz '2026-10-01 00:00+00' + g * interval '5 days' + interval '1 hour',
	       'C' || g, t.s || '@example.com'
	  FROM texts t, generate_series(0, 5) c, generate_series(0, 8) g;
	INSERT INTO devg
	SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(i * 7919), 12, '0'))::uuid,
	       e, e + interval '10 minutes', random()
	  FROM generate_series(1, 5) i, generate_series(1, 300) j,
	       LATERAL (SELECT timestamptz '2026-10-01 00:00+00' + j * interval '3 hours'
	                       + i * interval '1 minute' AS e) x;
	ANALYZE;
});

# the unit tests of python/tests (key layout, escaping, values, names, binary COPY, metrics)
my ($rc, $out, $err) = run_python(args => [ '-m', 'unittest', 'discover', '-s', 'python/tests' ]);
is($rc, 0, 'the package\'s unit tests pass') or diag($err);
like($err, qr/^Ran (\d+) tests.*\n\nOK$/ms, 'all of them');

my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';
($rc, $out, $err) = run_python(args => [ 'test/python/client_historical_check.py', $dsn, 20000 ],
	timeout => 300);
is($rc, 0, 'the historical check runs') or diag($err);
diag($out) if $out =~ /diffs=[1-9]/;
for my $case (qw(groups service as_of strict duplicates))
{
	my ($rows, $values, $diffs) = $out =~ /^case=$case rows=(\d+) values=(\d+) diffs=(\d+)$/m;
	my ($nonnull) = $out =~ /^case=$case nonnull=(\d+)$/m;
	is($diffs, 0, "$case: the client's frame equals the LATERAL oracle ($rows rows, "
		  . ($values // '?') . ' values, ' . ($nonnull // '?') . ' not NULL)');
	ok(($nonnull // 0) > ($values // 0) / 10, "$case: a tenth or more of the values are not NULL")
	  unless $case eq 'duplicates';
}
like($out, qr/^case=empty rows=0 values=0 diffs=0$/m, 'an empty entity_df gives an empty frame');
like($out, qr/^duplicate rows 3$/m, 'duplicate entity rows are each kept');
is(($out =~ /^dtypes (.*)$/m)[0],
	'total=float64 n=Int64 note=object ok=boolean seen=datetime64[ns, UTC] r=float64 '
	  . 'num=object arr=object small=Int32 country=object email=object score=float64',
	'the features\' dtypes: nullable ints and booleans, tz-aware timestamps');
like($out, qr/^full names spend__total,devg__score$/m, 'full_feature_names names group__feature');

# errors, checked before anything is uploaded
my $err_script = q{
import sys, datetime, pandas as pd, featstore
s = featstore.FeatureStore(sys.argv[1])
df = pd.DataFrame({"bank": ["b2"], "card_id": [1],
                   "ts": pd.to_datetime(["2026-10-10"], utc=True)})
def attempt(what, **kw):
    try:
        s.get_historical_features(kw.pop("df", df), **kw).to_df()
        print(what, "no error")
    except Exception as e:
        print(what, type(e).__name__, str(e).replace("\n", " "))
attempt("group", features=["spnd"])
attempt("feature", features=["spend.nope"])
attempt("service", service="nope")
attempt("reference", features=["a.b.c"])
attempt("key", df=df.drop(columns=["card_id"]), features=["spend"])
attempt("naive", df=df.assign(ts=pd.to_datetime(["2026-10-10"])), features=["spend"])
attempt("as_of", features=["spend"], as_of=datetime.datetime(2026, 10, 10))
attempt("type", df=df.assign(card_id=["seven"]), features=["spend"])
attempt("nothing")
};
($rc, $out, $err) = run_python(args => [ '-c', $err_script, $dsn ]);
is($rc, 0, 'the error script runs') or diag($err);
like($out, qr/^group UnknownFeatureGroupError feature group "spnd" does not exist/m, 'unknown group');
like($out, qr/^feature UnknownFeatureError feature "nope" does not exist in feature group "spend" \(Features of "spend": total, n, note/m,
	'unknown feature, with the hint listing the features');
like($out, qr/^service UnknownServiceError feature service "nope" does not exist/m, 'unknown service');
like($out, qr/^reference UnknownFeatureError invalid feature reference "a\.b\.c"/m, 'a bad reference');
like($out, qr/^key EntityKeyError entity_df has no column "card_id", a key of the requested features \(bigint\)/m,
	'a missing key column');
like($out, qr/^naive ValueError entity_df column "ts" has no time zone: .*tz_localize\("UTC"\)/m,
	'a naive timestamp column, with the fix');
like($out, qr/^as_of ValueError as_of must carry a time zone/m, 'a naive as_of');
like($out, qr/^type ValueError column "card_id" must hold integers for bigint/m, 'a key of the wrong kind');
like($out, qr/^nothing ValueError give features, a service or both/m, 'no features');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname LIKE 'featstore_spine_%'}),
	'0', 'no spine table is left behind');

# the registry: list_feature_groups, describe, search
my $reg = q{
import sys, json, featstore
s = featstore.FeatureStore(sys.argv[1])
print("groups", [(g["name"], g["entity"], [k["name"] + " " + k["type"] for k in g["keys"]], g["ttl"])
                 for g in s.list_feature_groups()])
print("services", s.list_feature_services())
print("service", [(f["group"], f["feature"], f["type"]) for f in s.describe("m")["features"]])
d = s.describe("prof")
print("group", d["kind"], d["table"], [(f["name"], f["type"], f["pii"]) for f in d["features"]])
print("entity", s.describe("dev"))
print("feature", s.describe("spend.num")["type"])
print("search", [r["qualified_name"] for r in s.search("EMAIL")])
for name in ("nothing", "spend.nope"):
    try:
        s.describe(name)
    except featstore.UnknownNameError as e:
        print("unknown", e)
};
($rc, $out, $err) = run_python(args => [ '-c', $reg, $dsn ]);
is($rc, 0, 'the registry script runs') or diag($err);
like($out, qr/^groups \[\('devg', 'dev', \['dev_id uuid'\], '02:00:00'\), \('prof', 'card', \['bank text', 'card_id bigint'\], None\), \('spend', 'card', \['bank text', 'card_id bigint'\], '24:00:00'\)\]$/m,
	'list_feature_groups: names, entities, typed keys, TTLs');
like($out, qr/^services \['m'\]$/m, 'list_feature_services');
like($out, qr/^service \[\('spend', 'total', 'double precision'\), \('spend', 'n', 'bigint'\), \('prof', 'country', 'text'\), \('devg', 'score', 'double precision'\)\]$/m,
	'describe a service: its features in order');
like($out, qr/^group feature group public\.prof \[\('country', 'text', False\), \('email', 'text', True\)\]$/m,
	'describe a group: table, features, PII');
like($out, qr/^entity \{'kind': 'entity', 'name': 'dev', 'keys': \[\{'name': 'dev_id', 'type': 'uuid'\}\], 'groups': \['devg'\]\}$/m,
	'describe an entity');
like($out, qr/^feature numeric$/m, 'describe group.feature');
like($out, qr/^search \['prof\.email'\]$/m, 'search, case-insensitive');
like($out, qr/^unknown no feature group, feature service or entity is named "nothing"$/m, 'describe an unknown name');
like($out, qr/^unknown feature "nope" does not exist in feature group "spend"/m, 'describe an unknown feature');

# the caller's rights: pit_join runs as the caller
$node->safe_psql('postgres', q{
	CREATE ROLE ana LOGIN IN ROLE featstore_reader;
	GRANT SELECT ON spend, prof TO ana;
	CREATE ROLE eve LOGIN IN ROLE featstore_reader;
	GRANT SELECT ON spend TO eve;
	CREATE ROLE pat LOGIN IN ROLE featstore_reader, featstore_pii_reader;
	GRANT SELECT ON prof TO pat;
});
my $rights = q{
import sys, pandas as pd, featstore, warnings
s = featstore.FeatureStore(sys.argv[1])
df = pd.DataFrame({"bank": ["b2"], "card_id": [1],
                   "ts": pd.to_datetime(["2026-11-30"], utc=True)})
try:
    out = s.get_historical_features(df, features=["prof"]).to_df()
    print("email", repr(out["email"].iloc[0]), "country", out["country"].iloc[0])
except Exception as e:
    print(type(e).__name__, str(e).splitlines()[0])
};
($rc, $out, $err) = run_python(args => [ '-c', $rights, "$dsn user=ana" ]);
like($out, qr/^email None country C8$/m, 'a non-member of featstore_pii_reader gets NULL for PII');
like($err, qr/PII features masked for role ana/, 'with PostgreSQL\'s notice');
($rc, $out, $err) = run_python(args => [ '-c', $rights, "$dsn user=pat" ]);
like($out, qr/^email 'b2\@example\.com' country C8$/m, 'a member sees it');
($rc, $out, $err) = run_python(args => [ '-c', $rights, "$dsn user=eve" ]);
like($out, qr/^InsufficientPrivilege permission denied for table prof$/m, 'without SELECT: an error');

$node->stop;
done_testing();
