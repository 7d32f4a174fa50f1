# The Python client's online path (python/, docs/python.md) against a real
# PostgreSQL and Redis: get_online_features() for groups and a service over
# 120 entity rows (keys with ':', '{', '%', '', quotes, newlines; a uuid
# key) equals an independent read of Redis with the documented layout
# (test/python/client_online_check.py: its own keys, raw GETs, msgpack) and
# featstore.online_features()'s status; the keys the worker wrote are the
# ones redis-cli lists.  found / missing (no key, past the TTL) / invalid
# (a key that is not a featstore value); one MGET per call (Redis'
# commandstats); errors for unknown names and bad rows; the registry
# re-read when a name is new; the namespace contract (the database's name
# by default, and an odd one set by set_online_namespace(), under which the
# worker rewrites the keys); the caller's rights.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use FeatstorePython;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => '/usr/bin/python3 with psycopg2, redis, msgpack, pandas is needed'
  unless python_ok();

my $rport = start_redis();
my $node = online_node('pyonline', $rport);
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY card (bank text, card_id bigint);
		CREATE ENTITY dev (dev_id uuid);
		CREATE FEATURE GROUP spend ENTITY card FEATURES (total double precision, n bigint,
			note text, ok boolean, seen timestamptz, r real, num numeric, arr integer[],
			small integer) TTL '1 day' ONLINE;
		CREATE FEATURE GROUP flags ENTITY card FEATURES (blocked boolean) TTL '1 hour' ONLINE;
		CREATE FEATURE GROUP devg ENTITY dev FEATURES (score double precision) ONLINE;
		CREATE FEATURE GROUP prof ENTITY card FEATURES (country text, email text PII) ONLINE;
		CREATE FEATURE GROUP archive ENTITY card FEATURES (old bigint);
		CREATE FEATURE SERVICE m FEATURES (spend.total, spend.r, flags.blocked, devg.score);
	$$);
	SELECT setseed(0.5);
	CREATE TABLE texts AS SELECT * FROM unnest(ARRAY['b:1', 'b2', '', 'x{y}%', 'a,b',
		'q"uote', E'line\nbreak', '\N', 'x']) t(s);
	INSERT INTO spend
	SELECT t.s, c, now() - (c * 7 + g) * interval '1 hour', now(),
	       CASE WHEN g = 1 THEN 'NaN' ELSE round((random() * 1000)::numeric, 3)::float8 END,
	       (random() * 1e12)::bigint, t.s, random() < 0.5,
	       now() - random() * interval '900 days', (random() * 10)::real,
	       round((random() * 1e6)::numeric, 4), ARRAY[g, NULL, -1], g
	  FROM texts t, generate_series(0, 2) c, generate_series(0, 2) g;
	INSERT INTO flags SELECT s, 1, now() - interval '2 hours', now(), true FROM texts;  -- expired
	INSERT INTO flags SELECT s, 2, now(), now(), false FROM texts;
	INSERT INTO devg VALUES (('00000000-0000-0000-0000-' || lpad(to_hex(7919), 12, '0'))::uuid, now(), DEFAULT, 0.5);
	INSERT INTO prof SELECT s, 0, now(), now(), 'FR', s || '@example.com' FROM texts;
});
wait_caught_up($node);

# the worker's keys, as redis-cli lists them, are the documented layout:
# <prefix>:<namespace>:{<entity>:<keys>}:<group>, the namespace being the
# database's name unless set_online_namespace() changed it
is($node->safe_psql('postgres', 'SELECT featstore.online_namespace()'), 'postgres',
	'the namespace is the database\'s name');
my $keys_sql = q{
	WITH h(head) AS (
		SELECT current_setting('featstore.redis_key_prefix') || ':'
		       || CASE WHEN featstore.online_namespace() = '' THEN ''
		               ELSE replace(replace(replace(replace(featstore.online_namespace(), '%', '%25'),
		                      ':', '%3A'), '{', '%7B'), '}', '%7D') || ':' END),
	k(g, e, parts) AS (
		SELECT DISTINCT 'spend', 'card', ARRAY[bank, card_id::text] FROM spend
		 WHERE event_timestamp >= now() - interval '1 day'
		UNION SELECT DISTINCT 'flags', 'card', ARRAY[bank, card_id::text] FROM flags
		 WHERE event_timestamp >= now() - interval '1 hour'
		UNION SELECT 'devg', 'dev', ARRAY[dev_id::text] FROM devg
		UNION SELECT 'prof', 'card', ARRAY[bank, card_id::text] FROM prof)
	SELECT h.head || '{' || e || ':' || (SELECT string_agg(replace(replace(replace(replace(p, '%', '%25'),
	         ':', '%3A'), '{', '%7B'), '}', '%7D'), ':') FROM unnest(parts) p) || '}:' || g
	  FROM h, k WHERE NOT array_to_string(parts, '') LIKE E'%\n%'};
# scan_keys(head) lists the keys under head (keys with a newline in a part
# are left out: redis-cli prints them on two lines), sorted
sub scan_keys
{
	my ($head) = @_;
	return sort grep { /^\Q$head\E\{.*\}:\w+$/ }
	  split /\n/, redis_cmd($rport, undef, '--scan', '--pattern', "$head*");
}
# key_count(pattern) counts the keys matching a glob pattern, newlines and all
sub key_count
{
	return redis_cmd($rport, undef, 'EVAL', "return #redis.call('KEYS', ARGV[1])", '0', $_[0]);
}
my @scan = scan_keys('fs:postgres:');
my @exp = sort split /\n/, $node->safe_psql('postgres', $keys_sql);
is_deeply(\@scan, \@exp, 'the keys in Redis are those of the documented layout (' . scalar(@exp) . ' keys)');
ok(grep({ $_ eq 'fs:postgres:{card:x%7By%7D%25:0}:spend' } @scan)
	&& grep({ $_ eq 'fs:postgres:{card:b%3A1:2}:flags' } @scan)
	&& grep({ $_ eq 'fs:postgres:{card::1}:spend' } @scan), 'escaped and empty key parts, as documented');
my $total = key_count('*');
ok($total > @exp && $total == key_count('fs:postgres:*'),
	"no key outside the namespace ($total keys, those with a newline in a part included)");

# a value that is not featstore's
redis_cmd($rport, undef, 'SET', 'fs:postgres:{card:x:0}:spend', 'hello');

my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';
my $url = "redis://127.0.0.1:$rport/0";
my ($rc, $out, $err) = run_python(args => [ 'test/python/client_online_check.py', $dsn, $url, $url, 'postgres' ]);
is($rc, 0, 'the online check runs') or diag($err);
my ($checked, $found, $missing, $invalid, $diffs) =
  $out =~ /^checked=(\d+) found=(\d+) missing=(\d+) invalid=(\d+) diffs=(\d+)$/m;
diag($out) if ($diffs // 1) != 0;
is($diffs, 0, "the client equals the independent read of Redis and online_features ($checked values: "
	  . "$found found, $missing missing, $invalid invalid)");
ok($found > 100 && $missing > 100 && $invalid >= 9, 'every status is exercised');

# one MGET per call, nothing else
my $calls = q{
import sys, featstore
s = featstore.FeatureStore(sys.argv[1], redis_url=sys.argv[2])
rows = [{"bank": "b2", "card_id": i, "dev_id": "00000000-0000-0000-0000-000000001eef"} for i in range(50)]
s.get_online_features(["spend", "flags"], rows)          # connects, resolves
import redis; r = redis.Redis.from_url(sys.argv[2]); r.config_resetstat()
for _ in range(3):
    s.get_online_features(service="m", entity_rows=rows)
st = r.info("commandstats")
print("mget", st.get("cmdstat_mget", {}).get("calls"), "get", st.get("cmdstat_get", {}).get("calls"))
};
($rc, $out, $err) = run_python(args => [ '-c', $calls, $dsn, $url ]);
like($out, qr/^mget 3 get None$/m, 'three calls of 50 entities x 3 groups: three MGETs, no GET') or diag($err);

# errors
my $errs = q{
import sys, featstore
s = featstore.FeatureStore(sys.argv[1], redis_url=sys.argv[2])
def attempt(what, *a, **kw):
    try:
        s.get_online_features(*a, **kw)
        print(what, "no error")
    except Exception as e:
        print(what, type(e).__name__, e)
row = {"bank": "b2", "card_id": 1}
attempt("group", ["spnd"], [row])
attempt("feature", ["spend.nope"], [row])
attempt("service", "nope", [row])
attempt("offline", ["archive"], [row])
attempt("key", ["spend"], [{"bank": "b2"}])
attempt("type", ["spend"], [{"bank": "b2", "card_id": "seven"}])
attempt("uuid", ["devg"], [{"dev_id": "nope"}])
attempt("range", ["spend"], [{"bank": "b2", "card_id": 2**63}])
attempt("collision", ["spend.total", "spend.total"], [row])
attempt("quoted", ['"spend"."total"', 'SPEND.N'], [row])
attempt("nothing", [], [row])
};
($rc, $out, $err) = run_python(args => [ '-c', $errs, $dsn, $url ]);
like($out, qr/^group UnknownFeatureGroupError feature group "spnd" does not exist \(known: archive, devg, flags, prof, spend\)$/m, 'unknown group, naming the known ones');
like($out, qr/^feature UnknownFeatureError feature "nope" does not exist in feature group "spend" \(its features: total, n, note/m, 'unknown feature');
like($out, qr/^service UnknownServiceError feature service "nope" does not exist \(known: m\)$/m, 'unknown service');
like($out, qr/^offline NotOnlineError feature group "archive" is OFFLINE/m, 'an OFFLINE group');
like($out, qr/^key EntityKeyError entity row 1 has no key "card_id" of entity "card" \(feature group "spend"\)$/m, 'a row without a key');
like($out, qr/^type EntityKeyError entity row 1: entity key "card_id" must be an integer \(bigint\), not 'seven'$/m, 'a key of the wrong kind');
like($out, qr/^uuid EntityKeyError entity row 1: entity key "dev_id" must be a uuid, not 'nope'$/m, 'a bad uuid');
like($out, qr/^range EntityKeyError entity row 1: entity key "card_id" is out of range for bigint/m, 'a key out of range');
like($out, qr/^collision no error$/m, 'a feature named twice is read once');
like($out, qr/^quoted no error$/m, 'names follow SQL identifier rules');
like($out, qr/^nothing UnknownNameError the request names no feature$/m, 'an empty request');

# a group created after the client started is found by re-reading the registry
my $refresh = q{
import sys, time, featstore
s = featstore.FeatureStore(sys.argv[1], redis_url=sys.argv[2])
print("before", sorted(g["name"] for g in s.list_feature_groups()))
sys.stdout.flush(); sys.stdin.readline(); time.sleep(1.1)
r = s.get_online_features(["late"], [{"bank": "b2", "card_id": 5}])
print("late", r.to_dict(include_status=True))
};
my $h = IPC::Run::start([ '/usr/bin/python3', '-c', $refresh, $dsn, $url ],
	'<', \my $in, '>', \my $hout, '2>', \my $herr,
	init => sub { $ENV{PYTHONPATH} = install_client(); $ENV{PYTHONSAFEPATH} = 1 },
	IPC::Run::timeout(60));
$h->pump until $hout =~ /^before/m;
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$ CREATE FEATURE GROUP late ENTITY card FEATURES (v bigint) ONLINE; $$);
	INSERT INTO late VALUES ('b2', 5, now(), DEFAULT, 42);
});
wait_caught_up($node, 'a late group');
$in = "go\n";
$h->finish;
like($hout, qr/^late \{'bank': \['b2'\], 'card_id': \[5\], 'v': \[42\], 'v__status': \['found'\]\}$/m,
	'a new group is found after the registry is read again') or diag($herr);

# the namespace contract with an odd namespace: set_online_namespace()
# moves the keys (the worker rewrites every online group under it and
# purges the old ones), and the client follows on its next registry read
$node->safe_psql('postgres', 'DELETE FROM late');
wait_caught_up($node, 'the late group emptied');
my $nsraw = 'ns:{1}%';
my $nsesc = 'ns%3A%7B1%7D%25';
is($node->safe_psql('postgres', "SELECT featstore.set_online_namespace('$nsraw')"), '5',
	'set_online_namespace moves the five online groups');
wait_caught_up($node, 'the move');
@scan = scan_keys("fs:$nsesc:");
@exp = sort split /\n/, $node->safe_psql('postgres', $keys_sql);
ok(@exp == @scan && $exp[0] =~ /^fs:\Q$nsesc\E:\{/, "the oracle's keys are under fs:$nsesc:");
is_deeply(\@scan, \@exp, 'redis-cli: the keys are under the escaped namespace (' . scalar(@exp) . ' keys)');
is(key_count('fs:postgres:*') . ' ' . key_count('*'), '0 ' . key_count("fs:$nsesc:*"),
	'redis-cli: the old namespace\'s keys are gone, every key is under the new one');
is(key_count("fs:$nsesc:*"), $total, 'as many keys as before the move');
redis_cmd($rport, undef, 'SET', "fs:$nsesc:{card:x:0}:spend", 'hello');
($rc, $out, $err) = run_python(args => [ 'test/python/client_online_check.py', $dsn, $url, $url, $nsraw ]);
($checked, $found, $missing, $invalid, $diffs) =
  $out =~ /^checked=(\d+) found=(\d+) missing=(\d+) invalid=(\d+) diffs=(\d+)$/m;
diag("$out\n$err") if ($diffs // 1) != 0;
is($diffs, 0, "with a namespace, the client reads fs:$nsesc:{...}:group ($found found, $missing missing, "
	  . "$invalid invalid)");
ok(($found // 0) > 100 && ($invalid // 0) >= 9, 'and finds the values there');

# the caller's rights
$node->safe_psql('postgres', q{
	CREATE ROLE ana LOGIN IN ROLE featstore_reader;
	GRANT SELECT ON spend, prof TO ana;
	CREATE ROLE pat LOGIN IN ROLE featstore_reader, featstore_pii_reader;
	GRANT SELECT ON prof TO pat;
	CREATE ROLE col LOGIN IN ROLE featstore_reader;
	GRANT SELECT (bank, card_id, event_timestamp, created_at, country) ON prof TO col;
	ALTER TABLE flags ENABLE ROW LEVEL SECURITY;
	GRANT SELECT ON flags TO ana;
});
my $rights = q{
import sys, warnings, featstore
s = featstore.FeatureStore(sys.argv[1], redis_url=sys.argv[2])
for req in (["prof"], ["prof.country"], ["spend.n"], ["flags"]):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            r = s.get_online_features(req, [{"bank": "b2", "card_id": 0}])
            print(req[0], r.to_dict())
        except Exception as e:
            print(req[0], type(e).__name__, e)
        for x in w:
            print("warning", x.message)
};
($rc, $out, $err) = run_python(args => [ '-c', $rights, "$dsn user=ana", $url ]);
like($out, qr/^prof \{'bank': \['b2'\], 'card_id': \[0\], 'country': \['FR'\], 'email': \[None\]\}$/m,
	'a non-member of featstore_pii_reader gets None for a PII feature') or diag($err);
like($out, qr/^warning PII features masked for role ana: prof\.email/m, 'with a warning');
like($out, qr/^flags FeaturePermissionError feature group "flags": row-level security applies to the role on public\.flags/m,
	'a table whose row-level security applies is refused');
($rc, $out, $err) = run_python(args => [ '-c', $rights, "$dsn user=pat", $url ]);
like($out, qr/^prof \{.*'email': \['b2\@example\.com'\]\}$/m, 'a member sees it');
like($out, qr/^spend\.n FeaturePermissionError permission denied for feature group "spend": the role may not SELECT its table public\.spend \(its keys and event_timestamp\)$/m,
	'a group whose table the role may not read is refused');
($rc, $out, $err) = run_python(args => [ '-c', $rights, "$dsn user=col", $url ]);
like($out, qr/^prof FeaturePermissionError permission denied for feature "email" of feature group "prof": role "col" may not SELECT column email of public\.prof$/m,
	'column privileges: a column the role may not read is refused');
like($out, qr/^prof\.country \{'bank': \['b2'\], 'card_id': \[0\], 'country': \['FR'\]\}$/m,
	'and a column it may read is served');

# the value planted above, rewritten by featstore
redis_cmd($rport, undef, 'DEL', "fs:$nsesc:{card:x:0}:spend");
$node->safe_psql('postgres', q{SELECT featstore.materialize('spend')});
wait_caught_up($node, 'spend materialized again');
verify_zero($node, $_) for qw(spend devg prof);
$node->stop;
stop_redis($rport);
done_testing();
