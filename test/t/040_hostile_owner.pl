# A hostile group owner.  mallory has only featstore_editor and owns her
# groups' tables; she plants code in them (an implicit cast, a view's rule,
# a domain check, an index predicate, an operator class, a trigger, a rule,
# a column default, a forced row-level policy) and waits for featstore to
# run it: through materialize(), a plain INSERT processed by the worker,
# verify_online() and pit_join() called by a superuser.  Every planted
# function records current_user and session_user and tries to make mallory
# a superuser.  Afterwards mallory is no superuser, every planted function
# that ran ran as mallory, and a table that lost its shape is never read:
# each read fails with an error naming the group and the column.  The
# changes of shape are first refused by the event trigger, then made with
# event triggers off (a superuser can do that), to show the read-time check
# on its own.  Last, the crash of issue 8 section 2 (a key changed from text
# to bigint) is a clean error and no backend dies.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('hostile', $rport);

$node->safe_psql('postgres', q{
	CREATE ROLE mallory LOGIN IN ROLE featstore_editor;
	CREATE SCHEMA mallory AUTHORIZATION mallory;
	CREATE TABLE public.spine (k text, ts timestamptz);
	INSERT INTO public.spine VALUES ('a', now() + interval '1 hour');
	CREATE TYPE public.pj AS (k text, ts timestamptz, v bigint);
});

# mallory's groups and her bookkeeping: note() records who runs it, and
# tries to make her a superuser
mallory(q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY victim (k text);
		CREATE FEATURE GROUP mallory.cast_g ENTITY victim FEATURES (v bigint) ONLINE;
		CREATE FEATURE GROUP mallory.view_g ENTITY victim FEATURES (v bigint) ONLINE;
		CREATE FEATURE GROUP mallory.domain_g ENTITY victim FEATURES (v bigint) ONLINE;
		CREATE FEATURE GROUP mallory.pred_g ENTITY victim FEATURES (v bigint) ONLINE;
		CREATE FEATURE GROUP mallory.opclass_g ENTITY victim FEATURES (v bigint) ONLINE;
		CREATE FEATURE GROUP mallory.plain_g ENTITY victim FEATURES (v bigint) ONLINE;
		CREATE FEATURE GROUP mallory.crash_g ENTITY victim FEATURES (v bigint) ONLINE;
	$$);
	CREATE TABLE mallory.seen (via text, who name DEFAULT current_user,
		sess name DEFAULT session_user, pid integer DEFAULT pg_backend_pid());
	GRANT INSERT ON mallory.seen TO PUBLIC;
	GRANT USAGE ON SCHEMA mallory TO PUBLIC;
	-- no exception block: its subtransaction would release the buffer locks
	-- of an index scan calling the operator class below
	CREATE FUNCTION mallory.note(via text) RETURNS boolean LANGUAGE plpgsql AS $f$
	BEGIN
		INSERT INTO mallory.seen (via) VALUES (via);
		IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
			EXECUTE 'ALTER ROLE mallory SUPERUSER';
		END IF;
		RETURN true;
	END $f$;
	-- "immutable", so that the planner runs it to simplify an expression
	CREATE FUNCTION mallory.imm_note(via text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $f$
	BEGIN
		RETURN mallory.note(via);
	END $f$;
});

# mallory(sql) runs sql as mallory and dies on error
sub mallory
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', 'mallory' ]);
}

# mallory_try(sql) runs sql as mallory; returns (ok, stderr)
sub mallory_try
{
	my ($sql) = @_;
	my ($stdout, $stderr);
	my $ret = $node->psql('postgres', $sql, extra_params => [ '-U', 'mallory' ],
		stdout => \$stdout, stderr => \$stderr, on_error_stop => 1);
	return ($ret == 0, $stderr);
}

# superuser_try(sql) runs sql as the bootstrap superuser; returns (ok, stderr)
sub superuser_try
{
	my ($sql) = @_;
	my ($stdout, $stderr);
	my $ret = $node->psql('postgres', $sql, stdout => \$stdout, stderr => \$stderr,
		on_error_stop => 1);
	return ($ret == 0, $stderr);
}

# refused_then_forced(what, sql, refusal) shows the event trigger refusing
# mallory's sql, then runs it as mallory with event triggers off
sub refused_then_forced
{
	my ($what, $sql, $refusal) = @_;
	my ($ok, $err) = mallory_try($sql);
	ok(!$ok, "$what: refused by the event trigger");
	like($err, $refusal, "$what: the refusal names the column or rule");
	$node->safe_psql('postgres',
		"SET session_replication_role = replica; SET ROLE mallory; $sql")
	  unless $ok;
}

# no_escalation(what) checks that mallory is no superuser and that every
# planted function that ran ran as mallory; it resets her in case it failed
sub no_escalation
{
	my ($what) = @_;
	is($node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'"),
		'f', "$what: mallory is not a superuser");
	is($node->safe_psql('postgres',
		"SELECT coalesce(string_agg(DISTINCT via || ' as ' || who, ', '), 'none')"
		  . " FROM mallory.seen WHERE who <> 'mallory'"),
		'none', "$what: no planted function ran as anyone but mallory");
	$node->safe_psql('postgres', 'ALTER ROLE mallory NOSUPERUSER');
}

# reads_refused(group, error, queue) checks that every read of a group
# whose table lost its shape fails with error: materialize() by mallory,
# the worker (after queue, a sub, queued a change), verify_online() and
# pit_join() by a superuser
sub reads_refused
{
	my ($group, $error, $queue) = @_;
	my ($ok, $err) = mallory_try("SELECT featstore.materialize('$group')");
	ok(!$ok, "$group: materialize() refuses");
	like($err, $error, "$group: materialize() names the column");

	$queue->();
	ok( poll_until(
			sub {
				$node->safe_psql('postgres',
					"SELECT last_error FROM featstore.materialization_status WHERE group_name = '$group'"
				) =~ $error;
			},
			30),
		"$group: the worker reports the error and reads nothing");

	($ok, $err) = superuser_try("SELECT * FROM featstore.verify_online('$group')");
	ok(!$ok, "$group: verify_online() refuses");
	like($err, $error, "$group: verify_online() names the column");

	($ok, $err) = superuser_try(
		"SELECT * FROM featstore.pit_join(NULL::public.pj, 'public.spine', ARRAY['$group.v'])");
	ok(!$ok, "$group: pit_join() refuses");
	like($err, $error, "$group: pit_join() names the column");
}

# retire(group) takes a broken group offline so that the worker forgets it
sub retire
{
	my ($group) = @_;
	mallory("SELECT featstore.set_online('$group', false)");
	wait_caught_up($node, "after $group went offline");
}

# --- route 1: an implicit cast from the type of event_timestamp ---
mallory(q{
	CREATE TYPE mallory.ts_t AS (t timestamptz);
	CREATE FUNCTION mallory.c(x mallory.ts_t) RETURNS timestamptz LANGUAGE plpgsql AS $f$
	BEGIN
		PERFORM mallory.note('cast');
		RETURN x.t;
	END $f$;
	CREATE CAST (mallory.ts_t AS timestamptz) WITH FUNCTION mallory.c(mallory.ts_t) AS IMPLICIT;
	INSERT INTO mallory.cast_g (k, event_timestamp, v) VALUES ('a', now(), 1);
	-- the statistics' BRIN index on event_timestamp has no operator class for
	-- mallory's type, and would stop the type change: an owner may drop it
	DROP INDEX mallory.cast_g_event_brin;
});
wait_caught_up($node, 'cast_g loaded');
refused_then_forced('route 1',
	'ALTER TABLE mallory.cast_g ALTER COLUMN event_timestamp TYPE mallory.ts_t USING ROW(event_timestamp)::mallory.ts_t',
	qr/cannot change the type of column "event_timestamp" of table mallory.cast_g: feature group "cast_g" manages it/);
reads_refused('cast_g',
	qr/column "event_timestamp" of feature group "cast_g" has type mallory.ts_t, but the registry records timestamp with time zone/,
	sub { mallory(q{INSERT INTO mallory.cast_g (k, event_timestamp, v) VALUES ('b', ROW(now())::mallory.ts_t, 2)}) });
no_escalation('route 1');
retire('cast_g');

# --- route 2: the table becomes a view whose rule calls mallory's function ---
mallory(q{
	INSERT INTO mallory.view_g (k, event_timestamp, v) VALUES ('a', now(), 1);
});
wait_caught_up($node, 'view_g loaded');
refused_then_forced('route 2, capture triggers', q{
	DROP TRIGGER featstore_online_insert ON mallory.view_g;
	DROP TRIGGER featstore_online_update ON mallory.view_g;
	DROP TRIGGER featstore_online_delete ON mallory.view_g;
	DROP TRIGGER featstore_online_truncate ON mallory.view_g;},
	qr/cannot drop trigger featstore_online_insert on table mallory.view_g: feature group "view_g" captures its changes with it/);
mallory(q{
	DELETE FROM mallory.view_g;
	DROP INDEX mallory.view_g_pit_key;
	DROP INDEX mallory.view_g_event_brin;
});
mallory('VACUUM mallory.view_g');
refused_then_forced('route 2',
	q{CREATE RULE "_RETURN" AS ON SELECT TO mallory.view_g DO INSTEAD
		SELECT 'a'::text AS k, now() AS event_timestamp, now() AS created_at, 2::bigint AS v
		 WHERE mallory.note('view')},
	qr/cannot create rule "_RETURN" on table mallory.view_g: feature group "view_g" keeps its history in it/);
is($node->safe_psql('postgres', "SELECT relkind FROM pg_class WHERE oid = 'mallory.view_g'::regclass"),
	'v', 'route 2: with event triggers off, the table became a view');
# a change captured before the table became a view is still queued
reads_refused('view_g', qr/history table mallory.view_g of feature group "view_g" is a view, not a plain table/,
	sub { $node->safe_psql('postgres', q{INSERT INTO featstore.online_queue (group_name, keys, entities) VALUES ('view_g', ARRAY[['a']], 1)}) });
no_escalation('route 2');
retire('view_g');

# --- a domain whose check calls mallory's function ---
mallory(q{
	CREATE DOMAIN mallory.dom AS bigint CHECK (mallory.note('domain'));
	INSERT INTO mallory.domain_g (k, event_timestamp, v) VALUES ('a', now(), 1);
});
wait_caught_up($node, 'domain_g loaded');
refused_then_forced('domain',
	'ALTER TABLE mallory.domain_g ALTER COLUMN v TYPE mallory.dom',
	qr/cannot change the type of feature column "v" of table mallory.domain_g/);
reads_refused('domain_g',
	qr/feature column "v" of feature group "domain_g" has type mallory.dom, but the registry records bigint/,
	sub { mallory(q{INSERT INTO mallory.domain_g (k, event_timestamp, v) VALUES ('b', now(), 2)}) });
no_escalation('domain');
retire('domain_g');

# --- an index whose predicate the planner simplifies, running the function ---
# The worker is done with the row before the index appears (made with event
# triggers off, it would otherwise race the worker's check and planning).
mallory(q{INSERT INTO mallory.pred_g (k, event_timestamp, v) VALUES ('a', now(), 1)});
wait_caught_up($node, 'pred_g loaded');
refused_then_forced('index predicate',
	q{CREATE INDEX pred_g_spy ON mallory.pred_g (v) WHERE mallory.imm_note('index predicate')},
	qr/index pred_g_spy on table mallory.pred_g of feature group "pred_g" calls function mallory.imm_note\(text\), which is not built in/);
reads_refused('pred_g',
	qr/index pred_g_spy on table mallory.pred_g of feature group "pred_g" calls function mallory.imm_note\(text\), which is not built in/,
	sub { mallory(q{INSERT INTO mallory.pred_g (k, event_timestamp, v) VALUES ('b', now(), 2)}) });
no_escalation('index predicate');
retire('pred_g');

# --- featstore's index replaced by one with mallory's operator class ---
mallory(q{
	CREATE FUNCTION mallory.spy_cmp(a text, b text) RETURNS integer LANGUAGE plpgsql AS $f$
	BEGIN
		PERFORM mallory.note('operator class');
		RETURN pg_catalog.bttextcmp(a, b);
	END $f$;
});
# only a superuser may create an operator class: one does, for mallory
$node->safe_psql('postgres', q{
	CREATE OPERATOR CLASS mallory.spy_ops FOR TYPE text USING btree AS
		OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
		FUNCTION 1 mallory.spy_cmp(text, text);
});
mallory(q{
	INSERT INTO mallory.opclass_g (k, event_timestamp, v) VALUES ('a', now(), 1);
	DROP INDEX mallory.opclass_g_pit_key;
});
wait_caught_up($node, 'opclass_g loaded');
refused_then_forced('operator class',
	q{CREATE UNIQUE INDEX opclass_g_pit_key ON mallory.opclass_g (k mallory.spy_ops, event_timestamp, created_at)},
	qr/index opclass_g_pit_key on table mallory.opclass_g of feature group "opclass_g" uses operator class spy_ops, which is not built in/);
reads_refused('opclass_g',
	qr/index opclass_g_pit_key on table mallory.opclass_g of feature group "opclass_g" uses operator class spy_ops, which is not built in/,
	sub { mallory(q{INSERT INTO mallory.opclass_g (k, event_timestamp, v) VALUES ('b', now(), 2)}) });
no_escalation('operator class');
retire('opclass_g');

# --- code featstore's reads may run: as mallory, in other roles' sessions ---
mallory(q{
	CREATE FUNCTION mallory.trg() RETURNS trigger LANGUAGE plpgsql AS $f$
	BEGIN
		PERFORM mallory.note('trigger');
		RETURN NEW;
	END $f$;
	CREATE TRIGGER spy BEFORE INSERT ON mallory.plain_g FOR EACH ROW EXECUTE FUNCTION mallory.trg();
	CREATE FUNCTION mallory.ts_note() RETURNS timestamptz LANGUAGE plpgsql AS $f$
	BEGIN
		PERFORM mallory.note('default');
		RETURN clock_timestamp();
	END $f$;
	ALTER TABLE mallory.plain_g ALTER COLUMN created_at SET DEFAULT mallory.ts_note();
	CREATE POLICY spy ON mallory.plain_g USING (mallory.note('policy'));
	ALTER TABLE mallory.plain_g ENABLE ROW LEVEL SECURITY;
	ALTER TABLE mallory.plain_g FORCE ROW LEVEL SECURITY;
});
refused_then_forced('rule',
	q{CREATE RULE spy AS ON INSERT TO mallory.plain_g DO ALSO SELECT mallory.note('rule')},
	qr/cannot create rule "spy" on table mallory.plain_g: feature group "plain_g" keeps its history in it/);
mallory(q{INSERT INTO mallory.plain_g (k, event_timestamp, v) SELECT 'k' || g, now(), g FROM generate_series(1, 5) g});
wait_caught_up($node, 'plain_g through the worker');
is(mallory("SELECT featstore.materialize('plain_g')"), '5', 'plain_g: materialize() counts as mallory');
wait_caught_up($node, 'plain_g rematerialized');
verify_zero($node, 'plain_g', 'plain_g: verify_online() by a superuser finds Redis exact');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM featstore.pit_join(NULL::public.pj, 'public.spine', ARRAY['plain_g.v']) WHERE v IS NULL"),
	'1', 'plain_g: pit_join() by a superuser runs');
no_escalation('trigger, rule, default, policy');
is($node->safe_psql('postgres',
	"SELECT string_agg(DISTINCT via, ', ' ORDER BY via) FROM mallory.seen"
	  . " WHERE pid = (SELECT pid FROM featstore.online_worker_status())"),
	'policy', 'in the worker, only the forced policy ran, as mallory');
# the domain's check and the index predicate ran in the statements a
# superuser made, as mallory, on her behalf with event triggers off
is($node->safe_psql('postgres',
	"SELECT string_agg(DISTINCT via, ', ' ORDER BY via) FROM mallory.seen"
	  . " WHERE sess <> 'mallory' AND pid <> (SELECT pid FROM featstore.online_worker_status())"),
	'domain, index predicate, policy', 'in superusers\' sessions, the forced policy ran in verify_online(), as mallory');
is($node->safe_psql('postgres',
	"SELECT string_agg(DISTINCT via, ', ' ORDER BY via) FROM mallory.seen"
	  . " WHERE sess = 'mallory' AND via IN ('trigger', 'rule', 'default')"),
	'default, rule, trigger', 'the trigger, the rule and the default ran in mallory\'s own writes');

# --- issue 8 section 2: a text key changed to bigint under the index walk ---
mallory(q{INSERT INTO mallory.crash_g (k, event_timestamp, v) SELECT g::text, now(), g FROM generate_series(1, 50) g});
wait_caught_up($node, 'crash_g loaded');
refused_then_forced('key type',
	'ALTER TABLE mallory.crash_g ALTER COLUMN k TYPE bigint USING k::bigint',
	qr/cannot change the type of key column "k" of table mallory.crash_g: feature group "crash_g" manages it/);
my $crash_error = qr/key column "k" of feature group "crash_g" has type bigint, but the registry records text/;
# a walk queued before the change (the materialize() of the report)
reads_refused('crash_g', $crash_error,
	sub { $node->safe_psql('postgres', q{INSERT INTO featstore.online_queue (group_name, kind, entities, force) VALUES ('crash_g', 'scan', 50, true)}) });
no_escalation('key type');
retire('crash_g');

is(count_log($node, qr/terminated by signal/), 0, 'no process was terminated by a signal');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_stat_activity WHERE backend_type = \'featstore online worker\''),
	'1', 'the worker is still running');

done_testing();
