# Groups computed FROM a source (issue 10) in the registry's life cycle:
# pg_dump and pg_restore keep their rows and their views, and the restored
# guards hold; DROP EXTENSION refuses while their views use window_timeline
# and CASCADE removes the views but never the sources; a registry not yet
# updated to 0.3.0 refuses them with the update to run, and takes them after
# ALTER EXTENSION UPDATE.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('source_groups');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'featstore'");
$node->start;

my $define = q{
CREATE SCHEMA analytics;
CREATE TABLE analytics.transactions (user_id text, event_time timestamptz, ingested_at timestamptz,
	amount double precision, merchant_id text, status text);
DO LANGUAGE featstore $$
	CREATE ENTITY user (user_id text);
	CREATE FEATURE GROUP user_tx_windows ENTITY user
		FROM analytics.transactions TIMESTAMP event_time CREATED ingested_at
		WHERE status <> 'declined' WINDOW END EXCLUSIVE
		FEATURES (
			tx_count_1h bigint AS count(*) OVER '1 hour' DEFAULT 0 'Transactions in the last hour',
			tx_amount_sum_1h double precision AS sum(amount) OVER '1 hour',
			unique_merchants_7d bigint AS count(DISTINCT merchant_id) OVER '7 days',
			last_merchant text AS last(merchant_id),
			avg_ticket double precision AS tx_amount_sum_1h / nullif(tx_count_1h, 0)
		) TAGS ('fraud');
$$;
INSERT INTO analytics.transactions VALUES ('u1', '2026-01-01 10:00+00', '2026-01-01 10:01+00', 5, 'm1', 'ok');
};

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION featstore');
$node->safe_psql('src', $define);

my $rows_sql = q{
SELECT string_agg(x, E'\n' ORDER BY x) FROM (
	SELECT format('group %s|%s|%s|%s|%s', name, schema_name, table_name, kind, tags) AS x
	  FROM featstore.feature_groups
	UNION ALL
	SELECT format('source %s', s) FROM featstore.source_groups s
	UNION ALL
	SELECT format('window %s', w) FROM featstore.window_features w
	UNION ALL
	SELECT format('catalog %s|%s|%s|%s|%s|%s', qualified_name, data_type, group_kind, source,
				  aggregate, feature_window) FROM featstore.catalog
	UNION ALL
	SELECT format('view %s|%s', pg_get_userbyid(relowner), pg_get_viewdef(oid))
	  FROM pg_class WHERE relname = 'user_tx_windows') r};
my $src_rows = $node->safe_psql('src', $rows_sql);
like($src_rows, qr/^source \(user_tx_windows,analytics,transactions,r,event_time,ingested_at,"status <> 'declined'",t\)$/m,
	'the source row is recorded');
like($src_rows, qr/window_timeline\('user_tx_windows'::text\)/, 'the view reads window_timeline');

my $dump = $PostgreSQL::Test::Utils::tmp_check . '/source_groups.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, $node->connstr('src') ],
	'pg_dump of a database with a source group');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ],
	'pg_restore into an empty database');
is($node->safe_psql('dst', $rows_sql), $src_rows, 'registry rows, catalog and view restored');
is($node->safe_psql('dst', q{SELECT 'checked' FROM (SELECT featstore.check_feature_group('user_tx_windows')) c}), 'checked',
	'the restored group passes the read-time check');
my ($ret, $out, $err) = $node->psql('dst', 'DROP TABLE analytics.transactions');
like($err, qr/cannot drop analytics\.transactions because feature group "user_tx_windows" is computed from it/,
	'the restored guard keeps the source');
($ret, $out, $err) = $node->psql('dst', 'ALTER TABLE analytics.transactions RENAME COLUMN status TO state');
like($err, qr/cannot rename column "status" of analytics\.transactions: feature group "user_tx_windows" is computed from it/,
	'the restored guard keeps the WHERE column');

# DROP EXTENSION: refused while a view uses window_timeline; CASCADE keeps the source
($ret, $out, $err) = $node->psql('dst', 'DROP EXTENSION featstore');
like($err, qr/cannot drop extension featstore because other objects depend on it/,
	'DROP EXTENSION without CASCADE is refused');
$node->safe_psql('dst', 'DROP EXTENSION featstore CASCADE');
is($node->safe_psql('dst', q{SELECT to_regclass('public.user_tx_windows') IS NULL}), 't',
	'CASCADE drops the group view');
is($node->safe_psql('dst', 'SELECT count(*) FROM analytics.transactions'), '1',
	'the source keeps its rows');

# a 0.2.0 registry: refused with the update to run, accepted after it
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', "CREATE EXTENSION featstore VERSION '0.2.0'");
($ret, $out, $err) = $node->psql('old', $define);
like($err, qr/feature groups defined FROM a source need the registry of featstore 0\.3\.0/,
	'a 0.2.0 registry refuses a source group');
like($err, qr/HINT:  Update the extension with ALTER EXTENSION featstore UPDATE\./,
	'with the update to run');
$node->safe_psql('old', q{
	DROP SCHEMA analytics CASCADE;
	DO LANGUAGE featstore $$ DROP ENTITY IF EXISTS user CASCADE $$;
	ALTER EXTENSION featstore UPDATE;
});
$node->safe_psql('old', $define);
is($node->safe_psql('old', q{SELECT kind FROM featstore.feature_groups WHERE name = 'user_tx_windows'}),
	'source', 'after the update the source group is stored');
is($node->safe_psql('old', q{SELECT 'checked' FROM (SELECT featstore.check_feature_group('user_tx_windows')) c}), 'checked',
	'and passes the read-time check');

$node->stop;
done_testing();
