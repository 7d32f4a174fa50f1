-- the SQL registry functions run the same operations as the statements
SELECT featstore.create_entity('customer', ARRAY['customer_id', 'region'], ARRAY['bigint', 'text'],
	description => 'A retail customer', owner => 'growth');
SELECT featstore.create_feature_group('customer_spend', 'customer',
	feature_names => ARRAY['spend_30d', 'orders_30d', 'last_category'],
	feature_types => ARRAY['numeric(12,2)', 'integer', 'text'],
	feature_descriptions => ARRAY['Spend in the last 30 days', NULL, 'Category of the last order'],
	ttl => interval '7 days', online => true, tags => ARRAY['growth'], owner => 'growth',
	description => 'Customer spend', schema_name => 'public');
\d customer_spend
SELECT feature_name, data_type, description, ttl, online FROM featstore.catalog
 WHERE group_name = 'customer_spend' ORDER BY position;
SELECT featstore.create_feature_group('customer_spend', 'customer', ARRAY['x'], ARRAY['int'], if_not_exists => true);

SELECT featstore.add_feature('customer_spend', 'refunds_30d', 'integer', 'Refunds in the last 30 days');
SELECT featstore.deprecate_feature('customer_spend', 'last_category');
SELECT featstore.set_feature_description('customer_spend', 'orders_30d', 'Orders in the last 30 days');
SELECT featstore.set_ttl('customer_spend', interval '36 hours');
SELECT featstore.set_online('customer_spend', false);
SELECT featstore.set_group_description('customer_spend', 'Customer spend, 30 days');
SELECT featstore.set_group_owner('customer_spend', 'growth-analytics');
SELECT featstore.set_group_tags('customer_spend', ARRAY['growth', 'spend']);
SELECT feature_name, data_type, status, description FROM featstore.catalog
 WHERE group_name = 'customer_spend' ORDER BY position;
SELECT ttl, online, description, owner, tags FROM featstore.feature_groups WHERE name = 'customer_spend';
SELECT featstore.set_ttl('customer_spend', NULL);
SELECT ttl FROM featstore.feature_groups WHERE name = 'customer_spend';

SELECT featstore.create_feature_service('growth_model', ARRAY['customer_spend.spend_30d', 'customer_spend.orders_30d'],
	description => 'Growth model');
SELECT service_name, group_name, feature_name FROM featstore.service_features ORDER BY position;
SELECT featstore.create_feature_service('growth_model', ARRAY['customer_spend.*'], or_replace => true);
SELECT service_name, group_name, feature_name FROM featstore.service_features ORDER BY position;

-- argument errors
SELECT featstore.create_entity('bad', ARRAY['a', 'b'], ARRAY['text']);
SELECT featstore.create_entity(NULL, ARRAY['a'], ARRAY['text']);
SELECT featstore.create_entity('bad', ARRAY[]::text[], ARRAY[]::text[]);
SELECT featstore.create_feature_group('empty', 'customer', ARRAY[]::text[], ARRAY[]::text[]);
SELECT featstore.create_feature_group('nulls', 'customer', ARRAY['a', NULL], ARRAY['int', 'int']);
SELECT featstore.create_feature_service('bad_ref', ARRAY['customer_spend']);
SELECT featstore.set_online('customer_spend', NULL);

SELECT featstore.drop_feature_service('growth_model');
SELECT featstore.drop_feature_service('growth_model', if_exists => true);
SELECT featstore.drop_feature_group('customer_spend');
SELECT featstore.drop_entity('customer');
SELECT command, object_name, statement FROM featstore.definition_history
 WHERE object_name IN ('customer', 'customer_spend', 'growth_model') ORDER BY id;
