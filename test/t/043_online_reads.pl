# Online reads as an attacker sees them: row-level security on a group's
# table, values in Redis whose text is not valid UTF-8, keys under the
# prefix that featstore never wrote, a "Redis" whose SCAN cursor never
# returns to 0, and a database that the worker does not serve.  Redis is
# written with redis-cli through the documented key and value layout.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $rport = start_redis();

# The node is made here rather than by online_node: invalid UTF-8 is only
# invalid in a UTF8 database, and initdb's default may be SQL_ASCII.
my $node = PostgreSQL::Test::Cluster->new('reads');
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'featstore'
featstore.database = 'postgres'
featstore.redis_port = $rport
featstore.redis_timeout = '1s'
featstore.online_poll_interval = '200ms'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION featstore');

# sql(db, statements) runs psql; returns (stdout, stderr)
sub sql
{
	my ($db, $statements) = @_;
	my ($out, $err) = ('', '');
	$node->psql($db, $statements, stdout => \$out, stderr => \$err);
	return ($out, $err);
}

# --- msgpack, just enough for the documented value layout ---
sub mp_str
{
	my ($s) = @_;
	my $n = length $s;
	return $n < 32 ? chr(0xa0 | $n) . $s : chr(0xd9) . chr($n) . $s;
}
sub mp_int { return pack('C q>', 0xd3, $_[0]); }

# mp_value(feature => bytes, ...): a featstore value dated a minute ago;
# feature values are given already packed
sub mp_value
{
	my @features = @_;
	my $now = int(time() * 1_000_000);
	my $v = chr(0x85)
	  . mp_str('event_timestamp') . mp_int($now - 60_000_000)
	  . mp_str('created_at') . mp_int($now - 60_000_000)
	  . mp_str('materialized_at') . mp_int($now)
	  . mp_str('expires_at') . chr(0xc0)
	  . mp_str('features') . chr(0x80 | (@features / 2));
	while (my ($name, $packed) = splice(@features, 0, 2))
	{
		$v .= mp_str($name) . $packed;
	}
	return $v;
}

# redis_set(key, bytes): SET with the value on stdin (binary safe)
sub redis_set
{
	my ($key, $value) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'redis-cli', '-h', '127.0.0.1', '-p', $rport, '-x', 'SET', $key ],
		'<', \$value, '>', \$out, '2>', \$err, IPC::Run::timeout(10));
	$out =~ s/\s+$//;
	return $out;
}

# --- a hostile-free setup: alice owns a group, bob only reads ---
$node->safe_psql('postgres', q{
	CREATE ROLE alice LOGIN IN ROLE featstore_editor;
	CREATE ROLE bob LOGIN IN ROLE featstore_reader;
	CREATE SCHEMA alice AUTHORIZATION alice;
	SET ROLE alice;
	DO LANGUAGE featstore $$
		CREATE ENTITY customer (customer_id text);
		CREATE FEATURE GROUP alice.pay ENTITY customer
			FEATURES (salary bigint 'Salary', note text 'Note') ONLINE;
	$$;
	INSERT INTO alice.pay (customer_id, event_timestamp, salary, note) VALUES
		('c1', now() - interval '2 hours', 100, 'public'),
		('c1', now() - interval '1 hour', 200, 'public'),
		('c2', now() - interval '1 hour', 999999, 'confidential'),
		('c3', now() - interval '2 hours', 10, 'public'),
		('c3', now() - interval '1 hour', 777777, 'confidential');
	GRANT USAGE ON SCHEMA alice TO bob;
	GRANT SELECT ON alice.pay TO bob;
	ALTER TABLE alice.pay ENABLE ROW LEVEL SECURITY;
	CREATE POLICY bob_sees_public ON alice.pay FOR SELECT TO bob USING (note = 'public');
	RESET ROLE;
	DO LANGUAGE featstore $$
		CREATE ENTITY acct (acct_id bigint);
		CREATE FEATURE GROUP acct_fg ENTITY acct FEATURES (balance bigint 'Balance', label text 'Label') ONLINE;
	$$;
	INSERT INTO acct_fg (acct_id, event_timestamp, balance, label)
	SELECT g, now() - interval '1 minute', g * 10, 'acct ' || g FROM generate_series(1, 3) g;
});
wait_caught_up($node, 'setup');
verify_zero($node, 'pay', 'the superuser finds Redis equal to the table');

# --- row-level security: a value only if its row is visible ---
my ($out, $err) = sql('postgres',
	"SET ROLE bob; SELECT status, features->>'salary' FROM featstore.online_features('pay', 'c1')");
is($out, 'found|200', 'bob reads an entity whose winning row he can see');
($out, $err) = sql('postgres',
	"SET ROLE bob; SELECT status, features->>'salary' FROM featstore.online_features('pay', 'c2')");
like($err, qr/ERROR:  the value Redis holds for this entity of feature group "pay" comes from a row of alice\.pay that role "bob" cannot see/,
	'a value whose row row-level security hides is refused');
unlike($out . $err, qr/999999/, '... and its salary is not shown');
($out, $err) = sql('postgres',
	"SET ROLE bob; SELECT status, features->>'salary' FROM featstore.online_features('pay', 'c3')");
like($err, qr/cannot see/, 'a hidden winner is refused even when older rows are visible');
unlike($out . $err, qr/777777|\|10\b/, '... with neither its value nor an older one');
($out, $err) = sql('postgres', "SET ROLE bob; SELECT * FROM featstore.verify_online('pay')");
like($err, qr/ERROR:  verify_online cannot compare feature group "pay": row-level security on its table alice\.pay applies to role "bob"/,
	'verify_online refuses under row-level security');
unlike($out . $err, qr/999999|777777/, '... and lists no hidden row');
($out, $err) = sql('postgres',
	"SET ROLE alice; SELECT features->>'salary' FROM featstore.online_features('pay', 'c2')");
is($out, '999999', 'the owner, whom the policy does not bind, reads every entity');
($out, $err) = sql('postgres', "SET ROLE alice; SELECT count(*) FROM featstore.verify_online('pay')");
is($out, '0', '... and verifies the group');

# A hostile owner turns created_at into a type with an implicit cast of her
# own: the visibility lookup would run her cast as bob.  It is refused
# before any query reads the table.  featstore's event trigger refuses the
# ALTER itself (docs/security.md); here a superuser turned event triggers off
# for alice's session, so the read-time check is what stands in the way.
my ($ret) = $node->psql('postgres', q{
	SET session_replication_role = replica;
	SET ROLE alice;
	CREATE TYPE alice.ts_t AS (t timestamptz);
	CREATE FUNCTION alice.spy(x alice.ts_t) RETURNS timestamptz LANGUAGE plpgsql
	AS $f$BEGIN RAISE NOTICE 'planted function ran as %', current_user; RETURN x.t; END$f$;
	CREATE CAST (alice.ts_t AS timestamptz) WITH FUNCTION alice.spy(alice.ts_t) AS IMPLICIT;
	ALTER TABLE alice.pay ALTER COLUMN created_at DROP DEFAULT,
		ALTER COLUMN created_at TYPE alice.ts_t USING ROW(created_at)::alice.ts_t;
}, on_error_stop => 1);
is($ret, 0, 'with event triggers off, the owner changes the column type');
{
	($out, $err) = sql('postgres', "SET ROLE bob; SELECT status FROM featstore.online_features('pay', 'c1')");
	like($err, qr/ERROR:  column "created_at" of feature group "pay" has type alice\.ts_t, but the registry records timestamp with time zone/,
		'a managed column of another type is refused before the lookup');
	unlike($err, qr/planted function ran/, '... and the planted cast does not run');
	$node->safe_psql('postgres', q{
		SET session_replication_role = replica;
		SET ROLE alice;
		ALTER TABLE alice.pay ALTER COLUMN created_at TYPE timestamptz USING (created_at).t,
			ALTER COLUMN created_at SET DEFAULT clock_timestamp();
	});
}
$node->safe_psql('postgres', q{
	SET ROLE alice;
	DROP CAST IF EXISTS (alice.ts_t AS timestamptz);
	DROP FUNCTION IF EXISTS alice.spy(alice.ts_t);
	DROP TYPE IF EXISTS alice.ts_t;
});
verify_zero($node, 'pay', 'the group is whole again');

# --- text that is not valid UTF-8 never reaches jsonb ---
my $bad_text = mp_value(balance => mp_int(1), label => mp_str("\xff\xfe"));
my $bad_name = mp_value("\xc3\x28" => mp_int(1), label => mp_str('ok'));
is(redis_set('fs:postgres:{acct:9}:acct_fg', $bad_text), 'OK', 'a value with invalid text written with redis-cli');
is(redis_set('fs:postgres:{acct:8}:acct_fg', $bad_name), 'OK', 'a value with an invalid feature name written with redis-cli');
($out, $err) = sql('postgres', "SELECT status, features FROM featstore.online_features('acct_fg', '9')");
is($out, 'invalid|', 'invalid text in a value: status invalid, no features');
like($err, qr/NOTICE:  Redis key "fs:postgres:\{acct:9\}:acct_fg" does not hold a featstore value\nDETAIL:  Decoding it failed: feature "label" holds text that is not valid in encoding "UTF8"\./,
	'... with a notice naming the key and the feature');
($out, $err) = sql('postgres', "SELECT status, features FROM featstore.online_features('acct_fg', '8')");
is($out, 'invalid|', 'an invalid feature name: status invalid');
like($err, qr/fs:postgres:\{acct:8\}:acct_fg.*\n.*a feature name is not valid text in encoding "UTF8"/,
	'... with a notice naming the key');
($out, $err) = sql('postgres', q{
	SELECT entity[1], problem, actual->>'invalid', actual->>'reason'
	  FROM featstore.verify_online('acct_fg') ORDER BY 1});
is($out, join("\n",
	'8|stale key in Redis|true|a feature name is not valid text in encoding "UTF8"',
	'9|stale key in Redis|true|feature "label" holds text that is not valid in encoding "UTF8"'),
	'verify_online reports both keys as invalid values, with the reason');
is($err, '', '... without an error');
redis_cmd($rport, undef, 'DEL', 'fs:postgres:{acct:9}:acct_fg', 'fs:postgres:{acct:8}:acct_fg');

# --- keys featstore never wrote are skipped and counted ---
for my $key ('fs:postgres:{acct:notanumber}:acct_fg', 'fs:postgres:{acct:007}:acct_fg', 'fs:postgres:{acct:1:2}:acct_fg',
	'fs:postgres:{acct:%zz}:acct_fg', 'fs:postgres:{acct:99999999999999999999}:acct_fg')
{
	redis_cmd($rport, undef, 'SET', $key, 'not featstore');
}
($out, $err) = sql('postgres', 'SELECT * FROM featstore.verify_online(\'acct_fg\')');
is($out, '', 'verify_online does not fail on stray keys, and finds no difference');
like($err, qr/NOTICE:  verify_online skipped 5 Redis keys that match feature group "acct_fg" but are not keys of it/,
	'... it counts them in a notice');
unlike($err, qr/ERROR/, '... with no error');
redis_cmd($rport, undef, 'SET', "fs:postgres:{customer:\xff\xfe}:pay", 'not featstore');
($out, $err) = sql('postgres', 'SELECT * FROM featstore.verify_online(\'pay\')');
like($err, qr/skipped 1 Redis key that matches feature group "pay" but is not a key of it\nDETAIL:  The first is "fs:postgres:\{customer:\\xff\\xfe\}:pay"/,
	'a key whose text key is not valid UTF-8 is skipped, and shown escaped');
is($out, '', '... and the group has no difference');

# --- a server whose SCAN never ends ---
my $fake_port = PostgreSQL::Test::Cluster::get_free_port();
my $fake_code = <<'PY';
import selectors, socket, sys, time
# Speaks just enough RESP for verify_online; SCAN never returns cursor 0.
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(16); srv.setblocking(False)
sel = selectors.DefaultSelector(); sel.register(srv, selectors.EVENT_READ)
bufs, cursor, deadline = {}, 0, time.time() + 90
def reply(args):
    global cursor
    cmd = args[0].upper() if args else b""
    if cmd == b"PING": return b"+PONG\r\n"
    if cmd == b"DBSIZE": return b":3\r\n"
    if cmd in (b"AUTH", b"SELECT", b"CLIENT"): return b"+OK\r\n"
    if cmd == b"GET": return b"$-1\r\n"
    if cmd == b"SCAN":
        cursor += 1; c = str(cursor).encode()
        return b"*2\r\n$%d\r\n%s\r\n*0\r\n" % (len(c), c)
    return b"-ERR not a real Redis\r\n"
def parse(buf):
    out = []
    while buf.startswith(b"*"):
        end = buf.find(b"\r\n")
        if end < 0: break
        n, pos, args = int(buf[1:end]), end + 2, []
        for _ in range(n):
            e = buf.find(b"\r\n", pos)
            if e < 0: return out, buf
            ln = int(buf[pos + 1:e])
            if len(buf) < e + 2 + ln + 2: return out, buf
            args.append(buf[e + 2:e + 2 + ln]); pos = e + 2 + ln + 2
        out.append(args); buf = buf[pos:]
    return out, buf
while time.time() < deadline:
    for key, _ in sel.select(timeout=0.5):
        if key.fileobj is srv:
            c, _ = srv.accept(); c.setblocking(True); sel.register(c, selectors.EVENT_READ); bufs[c] = b""
            continue
        c = key.fileobj
        try: data = c.recv(65536)
        except OSError: data = b""
        if not data:
            sel.unregister(c); c.close(); bufs.pop(c, None); continue
        cmds, bufs[c] = parse(bufs[c] + data)
        try: c.sendall(b"".join(reply(a) for a in cmds))
        except OSError: pass
PY
my $fake = IPC::Run::start([ '/usr/bin/python3', '-c', $fake_code, $fake_port ],
	'>', \my $fake_out, '2>', \my $fake_err);
ok(poll_until(sub { redis_cmd($fake_port, undef, 'PING') eq 'PONG' }, 10), 'the fake Redis answers');
$node->safe_psql('postgres', "ALTER SYSTEM SET featstore.redis_port = $fake_port; SELECT pg_reload_conf()");
ok($node->poll_query_until('postgres', "SELECT current_setting('featstore.redis_port') = '$fake_port'"),
	'sessions use the fake Redis');
my $t0 = time();
($out, $err) = sql('postgres', "SET statement_timeout = '60s'; SELECT * FROM featstore.verify_online('acct_fg')");
my $elapsed = time() - $t0;
like($err, qr/ERROR:  Redis SCAN for the keys of feature group "acct_fg" did not finish after 10010 calls/,
	'a SCAN whose cursor never returns to 0 is an error');
like($err, qr/DETAIL:  DBSIZE reports 3 keys/, '... that says how many keys the server claims');
cmp_ok($elapsed, '<', 30, "... reached in bounded time (${\ sprintf('%.1f', $elapsed)} s)");
$node->safe_psql('postgres', "ALTER SYSTEM RESET featstore.redis_port; SELECT pg_reload_conf()");
ok($node->poll_query_until('postgres', "SELECT current_setting('featstore.redis_port') = '$rport'"),
	'back on the real Redis');
$fake->kill_kill;

# --- a database that the worker does not serve ---
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', q{
	CREATE EXTENSION featstore;
	DO LANGUAGE featstore $$
		CREATE ENTITY acct (acct_id bigint);
		CREATE FEATURE GROUP acct_fg ENTITY acct FEATURES (balance bigint 'Balance', label text 'Label') ONLINE;
	$$;
	INSERT INTO acct_fg (acct_id, event_timestamp, balance, label) VALUES (1, now(), -5, 'other database');
});
my $refusal = qr/ERROR:  the featstore online store does not serve database "other"\nDETAIL:  featstore.database is "postgres": .*\nHINT:  Connect to database "postgres", or set featstore.database to "other" and restart the server\./;
($out, $err) = sql('other', "SELECT status, features FROM featstore.online_features('acct_fg', '1')");
like($err, $refusal, 'online_features refuses in an unserved database');
unlike($out, qr/found/, "... instead of returning the served database's value");
($out, $err) = sql('other', "SELECT * FROM featstore.verify_online('acct_fg')");
like($err, $refusal, 'verify_online refuses there');
is($out, '', "... instead of listing the served database's keys as differences");
($out, $err) = sql('other', 'SELECT group_name, entities_written FROM featstore.materialization_status');
like($err, $refusal, "materialization_status refuses there, rather than show the other database's counters");
($out, $err) = sql('other', "SELECT featstore.materialize('acct_fg')");
like($err, $refusal, 'materialize refuses there, since no worker would take its walk');
is($node->safe_psql('other', "SELECT count(*) FROM featstore.online_queue WHERE kind = 'scan'"), '0',
	'... and queues no walk');
($out, $err) = sql('postgres', "SELECT features->>'label' FROM featstore.online_features('acct_fg', '1')");
is($out, 'acct 1', 'the served database still reads its own values');

wait_caught_up($node, 'at the end');
verify_zero($node, 'acct_fg', 'Redis still equals the served database');
$node->stop;
done_testing();
