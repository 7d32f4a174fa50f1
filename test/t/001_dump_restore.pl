# Registry rows survive pg_dump and pg_restore; DROP EXTENSION ... CASCADE
# removes every featstore object and keeps the users' history tables.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'featstore'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
CREATE EXTENSION featstore;
CREATE SCHEMA ml;
DO LANGUAGE featstore $$
	CREATE ENTITY user (user_id text) DESCRIPTION 'A card holder';
	CREATE ENTITY device (region text, device_id uuid);
	CREATE FEATURE GROUP user_transaction_features ENTITY user
		FEATURES (tx_count_1h bigint 'Transactions in the last hour', avg_amount double precision)
		TTL '24 hours' ONLINE TAGS ('fraud');
	CREATE FEATURE GROUP ml.device_profile ENTITY device FEATURES (embedding real[] 'Embedding');
	ALTER FEATURE GROUP user_transaction_features ADD FEATURE tx_count_7d bigint, DEPRECATE FEATURE avg_amount;
	CREATE FEATURE SERVICE fraud_model FEATURES (user_transaction_features.*, device_profile.embedding);
	ALTER FEATURE GROUP user_transaction_features SET FRESHNESS '1 hour', SET MONITOR EVERY '6 hours',
		SET MONITOR (psi = 0.3), ALTER FEATURE tx_count_1h SET MONITOR (mean_sigma = 4),
		SET MONITOR BASELINE FROM '2026-01-01 00:00+00' TO '2026-02-01 00:00+00';
	ALTER FEATURE GROUP device_profile SET MONITOR NONE;
$$;
INSERT INTO user_transaction_features (user_id, event_timestamp, created_at, tx_count_1h)
VALUES ('u1', '2026-01-01 10:00+00', '2026-01-01 10:05+00', 3);
});

my $catalog_sql = q{
SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s', qualified_name, data_type, status, description,
		ttl, online, table_name), E'\n' ORDER BY qualified_name) FROM featstore.catalog};
my $registry_sql = q{
SELECT (SELECT count(*) FROM featstore.entities) || ' entities, ' ||
	   (SELECT count(*) FROM featstore.entity_keys) || ' keys, ' ||
	   (SELECT count(*) FROM featstore.feature_service_members) || ' members, ' ||
	   (SELECT count(*) FROM featstore.definition_history) || ' history rows'};
# monitoring settings and thresholds are extension configuration too (issue 11)
my $monitor_sql = q{
SELECT (SELECT string_agg(format('%s|%s|%s|%s|%s|%s', group_name, monitor_every_text, freshness_text,
			baseline_periods, reference_from AT TIME ZONE 'UTC', reference_to AT TIME ZONE 'UTC'), ',' ORDER BY group_name)
		  FROM featstore.monitor_settings) || ' / ' ||
	   (SELECT string_agg(format('%s|%s|%s|%s', group_name, feature_name, setting, value), ','
			ORDER BY group_name, feature_name NULLS FIRST, setting) FROM featstore.monitor_thresholds)};
my $src_monitor = $node->safe_psql('src', $monitor_sql);
is($src_monitor, 'device_profile|||30||,user_transaction_features|6 hours|1 hour|30|2026-01-01 00:00:00|2026-02-01 00:00:00'
	. ' / user_transaction_features||psi|0.3,user_transaction_features|tx_count_1h|mean_sigma|4',
	'monitoring settings before the dump');
my $src_catalog = $node->safe_psql('src', $catalog_sql);
my $src_registry = $node->safe_psql('src', $registry_sql);
like($src_catalog, qr/user_transaction_features\.avg_amount\|double precision\|deprecated/,
	'catalog holds the deprecated feature');

my $dump = $PostgreSQL::Test::Utils::tmp_check . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, $node->connstr('src') ], 'pg_dump of a featstore database');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ],
	'pg_restore into an empty database');

is($node->safe_psql('dst', $catalog_sql), $src_catalog, 'catalog restored');
is($node->safe_psql('dst', $registry_sql), $src_registry, 'registry rows restored');
is($node->safe_psql('dst', $monitor_sql), $src_monitor, 'monitoring settings and thresholds restored');
is($node->safe_psql('dst', 'SELECT tx_count_1h FROM user_transaction_features'), '3',
	'history table data restored');

# the restored registry is live: new definitions follow on from the old ones
$node->safe_psql('dst', q{DO LANGUAGE featstore $$ ALTER FEATURE GROUP user_transaction_features ADD FEATURE tx_count_30d bigint $$});
is($node->safe_psql('dst', q{SELECT max(id) = count(*) FROM featstore.definition_history}), 't',
	'history ids continue after restore');
is($node->safe_psql('dst', q{SELECT count(*) FROM featstore.catalog WHERE group_name = 'user_transaction_features'}), '4',
	'a feature can be added after restore');

# DROP EXTENSION CASCADE removes featstore's objects, never the users' data
$node->safe_psql('dst', 'DROP EXTENSION featstore CASCADE');
is($node->safe_psql('dst', q{SELECT count(*) FROM pg_namespace WHERE nspname = 'featstore'}), '0',
	'schema featstore is gone');
is($node->safe_psql('dst', q{SELECT count(*) FROM pg_language WHERE lanname = 'featstore'}), '0',
	'language featstore is gone');
is($node->safe_psql('dst', q{SELECT count(*) FROM pg_proc WHERE prosrc LIKE 'featstore%' OR probin LIKE '%featstore%'}), '0',
	'no featstore functions remain');
is($node->safe_psql('dst', 'SELECT count(*) FROM user_transaction_features'), '1',
	'history tables keep their rows');
$node->safe_psql('dst', 'CREATE EXTENSION featstore');
is($node->safe_psql('dst', 'SELECT count(*) FROM featstore.feature_groups'), '0',
	'a new CREATE EXTENSION starts with an empty registry');

$node->stop;
done_testing();
