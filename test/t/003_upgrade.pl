# ALTER EXTENSION featstore UPDATE from the previous release (its install
# script is frozen in test/upgrade): until the update the new library's
# worker waits and says why, with changes kept queued; after it, they reach
# Redis, rematerialization works, and every featstore object is exactly what
# a fresh install of the new version creates.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('upgrade', $rport, undef, "CREATE EXTENSION featstore VERSION '0.1.0'");
my $new = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'featstore'");
$node->safe_psql('postgres', q{
	DO LANGUAGE featstore $$
		CREATE ENTITY acct (acct_id bigint);
		CREATE FEATURE GROUP balance ENTITY acct FEATURES (v bigint 'Value') TTL '1 day' ONLINE;
	$$;
	INSERT INTO balance (acct_id, event_timestamp, v)
	SELECT g, now() - interval '1 minute', g FROM generate_series(1, 500) g;
});

# --- before the update: the worker waits, once logged, nothing is lost ---
ok($node->poll_query_until('postgres',
	"SELECT worker_state = 'waiting for ALTER EXTENSION UPDATE' FROM featstore.materialization_status WHERE group_name = 'balance'"),
	'the worker waits for the update');
sleep 1;
is(count_log($node, qr/featstore 0\.1\.0 is installed in database "postgres" but the library is \Q$new\E: run ALTER EXTENSION featstore UPDATE/),
	1, 'the wait is logged once');
is($node->safe_psql('postgres', "SELECT last_error FROM featstore.materialization_status WHERE group_name = 'balance'"),
	"featstore 0.1.0 is installed in database \"postgres\" but the library is $new: run ALTER EXTENSION featstore UPDATE",
	'materialization_status says why');
is(redis_cmd($rport, undef, 'DBSIZE'), '0', 'nothing pushed against the old queue layout');
is($node->safe_psql('postgres', 'SELECT sum(entities) FROM featstore.online_queue'), '500',
	'the changes stay queued');
my ($ret, $out, $err) = $node->psql('postgres', "SELECT featstore.materialize('balance')");
like($err, qr/featstore 0\.1\.0 is installed in this database, but the loaded library is \Q$new\E/,
	'materialize() refuses the old layout with a clear error');
like($err, qr/HINT:  Run ALTER EXTENSION featstore UPDATE\./, '... and a hint');

# --- the update ---
$node->safe_psql('postgres', 'ALTER EXTENSION featstore UPDATE');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'featstore'"),
	$new, "updated to $new");
is($node->safe_psql('postgres', q{SELECT indexdef FROM pg_indexes WHERE tablename = 'balance' AND indexdef LIKE '%USING brin%'}),
	'CREATE INDEX balance_event_brin ON public.balance USING brin (event_timestamp)',
	'the update gives an existing history table the BRIN index on event_timestamp that new groups get');
wait_caught_up($node, 'after the update');
verify_zero($node, 'balance', 'the queued changes reached Redis');
is(count_log($node, qr/featstore \Q$new\E is installed; resuming/), 1, 'the resumption is logged');
redis_cmd($rport, undef, 'FLUSHDB');
is($node->safe_psql('postgres', "SELECT featstore.materialize('balance')"), '500',
	'materialize() works after the update');
wait_caught_up($node, 'materialize after the update');
is(redis_cmd($rport, undef, 'DBSIZE'), '500', 'every entity rewritten');

# --- the updated objects are those of a fresh install ---
my $signature = q{
SELECT string_agg(replace(x, E'\n', ' '), E'\n' ORDER BY x) FROM (
	SELECT format('column %s.%s %s %s notnull=%s default=%s identity=%s comment=%s', c.relname, a.attnum,
				  a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
				  pg_get_expr(d.adbin, d.adrelid), a.attidentity, col_description(c.oid, a.attnum)) AS x
	  FROM pg_class c
	  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
	 WHERE c.relnamespace = 'featstore'::regnamespace
	UNION ALL
	SELECT format('relation %s kind=%s acl=%s comment=%s', relname, relkind, relacl,
				  obj_description(oid, 'pg_class'))
	  FROM pg_class WHERE relnamespace = 'featstore'::regnamespace
	UNION ALL
	SELECT format('constraint %s.%s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
	  FROM pg_constraint WHERE connamespace = 'featstore'::regnamespace
	UNION ALL
	SELECT format('index %s', pg_get_indexdef(i.indexrelid))
	  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	 WHERE c.relnamespace = 'featstore'::regnamespace
	UNION ALL
	SELECT format('view %s %s', relname, pg_get_viewdef(oid))
	  FROM pg_class WHERE relnamespace = 'featstore'::regnamespace AND relkind = 'v'
	UNION ALL
	SELECT format('function %s(%s) returns %s lang=%s src=%s volatile=%s secdef=%s strict=%s config=%s acl=%s comment=%s',
				  p.proname, pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid),
				  l.lanname, md5(p.prosrc), p.provolatile, p.prosecdef, p.proisstrict, p.proconfig,
				  p.proacl, obj_description(p.oid, 'pg_proc'))
	  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	 WHERE p.pronamespace = 'featstore'::regnamespace
	UNION ALL
	SELECT format('trigger %s.%s %s', tgrelid::regclass, tgname, pg_get_triggerdef(oid))
	  FROM pg_trigger
	 WHERE NOT tgisinternal
	   AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'featstore'::regnamespace)
	UNION ALL
	SELECT format('event trigger %s %s %s %s', evtname, evtevent, evtfoid::regproc, evttags) FROM pg_event_trigger
	UNION ALL
	SELECT format('language %s trusted=%s', lanname, lanpltrusted) FROM pg_language WHERE lanname = 'featstore'
	UNION ALL
	SELECT format('member %s', pg_describe_object(classid, objid, objsubid))
	  FROM pg_depend
	 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
	   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'featstore')
	UNION ALL
	SELECT format('config %s %s', c.tab::regclass, c.cond)
	  FROM pg_extension e, unnest(e.extconfig, e.extcondition) c(tab, cond)
	 WHERE e.extname = 'featstore'
) s};
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION featstore');
my $updated = $node->safe_psql('postgres', $signature);
my $fresh = $node->safe_psql('fresh', $signature);
cmp_ok(length($fresh), '>', 10000, 'the signature covers the whole extension');
# compare line by line, so that a failure names what differs
my %u = map { $_ => 1 } split /\n/, $updated;
my %f = map { $_ => 1 } split /\n/, $fresh;
my @only_updated = sort grep { !$f{$_} } keys %u;
my @only_fresh = sort grep { !$u{$_} } keys %f;
is(join("\n", @only_updated), '', 'nothing in the updated database that a fresh install lacks');
is(join("\n", @only_fresh), '', "nothing in a fresh install of $new that the update lacks");

$node->stop;
stop_redis($rport);
done_testing();
