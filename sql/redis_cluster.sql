-- Redis Cluster settings and the slot function (issue 13); the cluster
-- itself is tested by test/t/097_cluster_reshard.pl and 098_cluster_faults.pl
-- CRC16/XMODEM's check value, and hash tags as CLUSTER KEYSLOT reads them
SELECT featstore.redis_key_slot('123456789') AS check_value;
SELECT k, featstore.redis_key_slot(k) AS slot
  FROM unnest(ARRAY['fs:{user:u1}:user_stats', 'fs:{user:u1}:user_profile', 'user:u1',
                    'foo{}{bar}', 'foo{{bar}}zap', '{', '']) k;
SELECT featstore.redis_key_slot(NULL) IS NULL AS strict;
-- the settings' checks
ALTER SYSTEM SET featstore.redis_cluster = maybe;
ALTER SYSTEM SET featstore.redis_cluster_nodes = 'nohost';
ALTER SYSTEM SET featstore.redis_cluster_nodes = '127.0.0.1:7000, 10.0.0.2:0';
ALTER SYSTEM SET featstore.redis_cluster_nodes = '127.0.0.1:7000, :7001';
ALTER SYSTEM SET featstore.redis_cluster_nodes = '127.0.0.1:7000,  redis-2.example:7001 ,[::1]:7002';
ALTER SYSTEM RESET featstore.redis_cluster_nodes;
SELECT name, setting, context, vartype, enumvals FROM pg_settings
 WHERE name IN ('featstore.redis_cluster', 'featstore.redis_cluster_nodes', 'featstore.redis_user')
 ORDER BY name;
