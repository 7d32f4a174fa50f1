# The worker holds superuser rights and names operators and functions
# without a schema in its queries over featstore's own tables.  A database
# setting that puts a writable schema ahead of pg_catalog must not let a
# role plant look-alikes there that the worker then runs.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('wsp', $rport);

$node->safe_psql('postgres', q{
	CREATE ROLE mallory LOGIN;
	GRANT CREATE ON SCHEMA public TO mallory;
	CREATE TABLE public.ran_as (fn text, who text);
	GRANT INSERT ON public.ran_as TO mallory;
	DO LANGUAGE featstore $$
		CREATE ENTITY acct (acct_id text);
		CREATE FEATURE GROUP wsp_g ENTITY acct FEATURES (v bigint) ONLINE;
	$$;
});

# exact-typed look-alikes beat pg_catalog's polymorphic originals, whatever
# the schema order; the operators win only with public ahead of pg_catalog
$node->safe_psql('postgres', q{
	SET ROLE mallory;
	CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS
	$f$BEGIN INSERT INTO public.ran_as VALUES ('unnest', current_user); RETURN QUERY SELECT pg_catalog.unnest($1); END$f$;
	CREATE FUNCTION public.arr_eq(text[], text[]) RETURNS boolean LANGUAGE plpgsql AS
	$f$BEGIN INSERT INTO public.ran_as VALUES ('=', current_user); RETURN $1 OPERATOR(pg_catalog.=) $2; END$f$;
	CREATE OPERATOR public.= (LEFTARG = text[], RIGHTARG = text[], FUNCTION = public.arr_eq);
	CREATE FUNCTION public.int8_eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
	$f$BEGIN INSERT INTO public.ran_as VALUES ('int8 =', current_user); RETURN $1 OPERATOR(pg_catalog.=) $2; END$f$;
	CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.int8_eq);
});
$node->safe_psql('postgres', q{ALTER DATABASE postgres SET search_path = public, pg_catalog});

# a new worker connects with the database's setting
my $pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'featstore online worker'");
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE backend_type = 'featstore online worker' AND pid <> $pid}),
	'a new worker started');

$node->safe_psql('postgres', q{
	INSERT INTO wsp_g (acct_id, event_timestamp, v)
	SELECT k::text, now() - interval '1 minute', k FROM generate_series(1, 50) k;
	INSERT INTO wsp_g (acct_id, event_timestamp, v) VALUES ('later', now() + interval '1 second', 1);
});
ok(poll_until(sub { redis_cmd($rport, undef, 'EXISTS', 'fs:postgres:{acct:later}:wsp_g') eq '1' }, 10),
	'the worker pushed the writes and the future-dated revisit');
$node->safe_psql('postgres', q{SELECT featstore.materialize('wsp_g')});
wait_caught_up($node, 'a walk with the database setting in force');
verify_zero($node, 'wsp_g');

is($node->safe_psql('postgres', q{SELECT count(*) FROM public.ran_as WHERE who <> 'mallory'}),
	'0', 'no planted look-alike ran as anyone but mallory');
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.ran_as}),
	'0', '... the worker ran none of them at all');

done_testing();
