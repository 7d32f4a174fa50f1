-- featstore_definitions.sql: the groups and services examples/online_client.py
-- reads with --definitions, exported from PostgreSQL as JSON, with the
-- database's key namespace (featstore.online_namespace(); '' before 0.3.0).
-- Services read Redis only; export again after a definition changes.
--
--   psql -X -A -t -f examples/featstore_definitions.sql mydb > featstore.json
SELECT to_regprocedure('featstore.online_namespace()') IS NOT NULL AS fs_has_namespace \gset
\if :fs_has_namespace
SELECT featstore.online_namespace() AS fs_namespace \gset
\else
\set fs_namespace ''
\endif
SELECT jsonb_pretty(jsonb_build_object(
    'namespace', :'fs_namespace',
    'groups', coalesce((SELECT jsonb_object_agg(group_name, g) FROM (
        SELECT group_name, jsonb_build_object('entity', min(entity_name), 'online', bool_and(online),
                                              'features', jsonb_object_agg(feature_name, data_type)) AS g
          FROM featstore.catalog GROUP BY group_name) x), '{}'),
    'services', coalesce((SELECT jsonb_object_agg(service_name, m) FROM (
        SELECT service_name, jsonb_agg(group_name || '.' || feature_name ORDER BY position) AS m
          FROM featstore.service_features GROUP BY service_name) y), '{}')));
