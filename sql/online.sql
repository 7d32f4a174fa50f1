-- online store: materialization into Redis, online reads, verify_online,
-- the status view, settings and error messages.  The worker serves this
-- database (test/featstore.conf); fs_test_wait_online() polls with a bound.
\set SHOW_CONTEXT never
CREATE FUNCTION fs_test_wait_online() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..300 LOOP
		IF NOT EXISTS (SELECT 1 FROM featstore.online_queue_depth())
		   AND (SELECT state FROM featstore.online_worker_status()) = 'idle' THEN
			RETURN 'caught up';
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN 'timed out: ' || (SELECT string_agg(group_name || '=' || queued_entities, ', ')
							   FROM featstore.online_queue_depth());
END
$$;

SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY rider (rider_id bigint);
	CREATE FEATURE GROUP rider_stats ENTITY rider
		FEATURES (trips bigint 'Trips so far', rating double precision 'Mean rating', city text 'Home city')
		TTL '1 day' ONLINE;
	CREATE FEATURE GROUP rider_offline ENTITY rider FEATURES (x integer 'Not served online');
$$);

-- the capture triggers exist on online groups only
SELECT tgrelid::regclass, tgname FROM pg_trigger WHERE tgname LIKE 'featstore_online_%' ORDER BY 1, 2;

INSERT INTO rider_stats (rider_id, event_timestamp, trips, rating, city) VALUES
	(1, now() - interval '2 hours', 10, 4.5, 'Lyon'),
	(1, now() - interval '1 hour', 11, 4.6, 'Lyon'),
	(2, now() - interval '3 hours', 3, 5.0, 'Nice'),
	(3, now() - interval '2 days', 1, 3.0, 'Pau');	-- older than the TTL
SELECT fs_test_wait_online();
SELECT rider, o.status, o.features, o.redis_key, o.expires_at - o.event_timestamp AS ttl
  FROM unnest(ARRAY['1', '2', '3', '04']) rider, featstore.online_features('rider_stats', rider) o;
SELECT * FROM featstore.verify_online('rider_stats');

-- a late row with an older event_timestamp changes nothing
INSERT INTO rider_stats (rider_id, event_timestamp, trips) VALUES (1, now() - interval '90 minutes', 99);
SELECT fs_test_wait_online();
SELECT features FROM featstore.online_features('rider_stats', '1');

-- deleting the winner brings back the previous winner, deleting all removes the key
DELETE FROM rider_stats WHERE rider_id = 1 AND trips = 11;
SELECT fs_test_wait_online();
SELECT features FROM featstore.online_features('rider_stats', '1');
DELETE FROM rider_stats WHERE rider_id = 2;
SELECT fs_test_wait_online();
SELECT status FROM featstore.online_features('rider_stats', '2');

-- an update is applied even though its row is not newer
UPDATE rider_stats SET city = 'Lille' WHERE rider_id = 1 AND trips = 99;
SELECT fs_test_wait_online();
SELECT features FROM featstore.online_features('rider_stats', '1');

-- a big statement whose transition table spills to disk is captured whole,
-- in chunks of at most 1000 entities
BEGIN;
SET LOCAL work_mem = '64kB';
INSERT INTO rider_stats (rider_id, event_timestamp, trips)
SELECT 1000 + g, now() - interval '1 minute', g FROM generate_series(1, 5000) g;
SELECT count(*) AS queue_rows, sum(entities) AS entities, max(entities) AS biggest
  FROM featstore.online_queue WHERE group_name = 'rider_stats';
COMMIT;
SELECT fs_test_wait_online();
SELECT features->'trips' AS trips FROM featstore.online_features('rider_stats', '5000');
SELECT * FROM featstore.verify_online('rider_stats');
DELETE FROM rider_stats WHERE rider_id > 1000;
SELECT fs_test_wait_online();

-- a rolled-back transaction queues nothing
BEGIN;
INSERT INTO rider_stats (rider_id, event_timestamp, trips) VALUES (7, now(), 1);
ROLLBACK;
SELECT count(*) AS queued FROM featstore.online_queue;

-- a row dated in the future is not served before its time
INSERT INTO rider_stats (rider_id, event_timestamp, trips) VALUES (1, clock_timestamp() + interval '1 second', 100);
SELECT fs_test_wait_online();
SELECT features->'trips' AS trips_now FROM featstore.online_features('rider_stats', '1');
SELECT count(*) AS revisits FROM featstore.online_queue WHERE not_before IS NOT NULL;
SELECT pg_sleep(1.2);
SELECT fs_test_wait_online();
DO $$
BEGIN
	FOR i IN 1..50 LOOP
		EXIT WHEN (SELECT features->>'trips' FROM featstore.online_features('rider_stats', '1')) = '100';
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SELECT features->'trips' AS trips_later FROM featstore.online_features('rider_stats', '1');
SELECT * FROM featstore.verify_online('rider_stats');

-- values of every kind of type, and keys that need escaping
SELECT command FROM featstore.exec($$
	CREATE ENTITY shop (shop_id integer, code text);
	CREATE FEATURE GROUP shop_profile ENTITY shop
		FEATURES (embedding real[] 'Embedding', open boolean 'Open now', since timestamptz 'Opened',
				  revenue numeric 'Revenue', attrs jsonb 'Attributes', logo bytea 'Logo', note text 'Note')
		ONLINE;
$$);
INSERT INTO shop_profile (shop_id, code, event_timestamp, embedding, open, since, revenue, attrs, logo, note)
VALUES (42, 'a:b{c}%', now(), '{0.5,-1,NULL}', true, '2020-01-01 00:00:00+00', 12.50, '{"k": [1, 2]}', '\x00ff', NULL);
SELECT fs_test_wait_online();
SELECT status, features, redis_key, expires_at FROM featstore.online_features('shop_profile', '042', 'a:b{c}%');
SELECT * FROM featstore.verify_online('shop_profile');

-- rematerialization queues every entity; since= limits it
SELECT featstore.materialize('rider_stats');
SELECT featstore.materialize('rider_stats', since => now() - interval '100 minutes');
-- a walk of the whole group supersedes queued walks of the same group
BEGIN;
SELECT featstore.materialize('rider_stats', since => now() - interval '1 minute');
SELECT featstore.materialize('rider_stats');
SELECT featstore.materialize('rider_stats', since => now() - interval '1 minute');
SELECT kind, since IS NULL AS whole_group, entities FROM featstore.online_queue
 WHERE group_name = 'rider_stats' AND kind = 'scan' AND enqueued_at >= now() ORDER BY id;
COMMIT;
SELECT fs_test_wait_online();
SELECT * FROM featstore.verify_online('rider_stats', sample => 5);

-- values the codec writes as text (dates, intervals) take one fixed style,
-- whatever the session's: verify_online run under another DateStyle finds no
-- false difference
SELECT count(*) FROM featstore.exec($$
	CREATE ENTITY store (store_id bigint);
	CREATE FEATURE GROUP store_daily ENTITY store
		FEATURES (day date 'Business day', span interval 'Opening hours', sales numeric 'Sales') ONLINE;
$$);
SET datestyle = 'SQL, DMY';
SET intervalstyle = 'sql_standard';
INSERT INTO store_daily (store_id, event_timestamp, day, span, sales)
VALUES (5, now() - interval '1 minute', '02/01/2026', '8 hours 30 minutes', 10.5),
	   (6, now() - interval '1 minute', '03/01/2026', '1 day', 7);
SELECT fs_test_wait_online();
SELECT status, features FROM featstore.online_features('store_daily', '5');
SELECT * FROM featstore.verify_online('store_daily');
SELECT featstore.materialize('store_daily');
SELECT fs_test_wait_online();
SELECT * FROM featstore.verify_online('store_daily');
RESET datestyle;
RESET intervalstyle;
SELECT * FROM featstore.verify_online('store_daily');

-- the status view
SELECT group_name, online, worker_state, queue_depth, entities_written > 0 AS wrote,
	   last_success IS NOT NULL AS succeeded, lag IS NOT NULL AS has_lag, last_error
  FROM featstore.materialization_status ORDER BY group_name;
SELECT backend_type, application_name FROM pg_stat_activity WHERE backend_type = 'featstore online worker';

-- SET OFFLINE and DROP remove the keys; TRUNCATE too
SELECT command, detail FROM featstore.exec($$ ALTER FEATURE GROUP shop_profile SET OFFLINE $$);
SELECT fs_test_wait_online();
SELECT tgname FROM pg_trigger WHERE tgrelid = 'shop_profile'::regclass;
SELECT command FROM featstore.exec($$ ALTER FEATURE GROUP shop_profile SET ONLINE $$);
SELECT fs_test_wait_online();
SELECT status FROM featstore.online_features('shop_profile', '42', 'a:b{c}%');
TRUNCATE shop_profile;
SELECT fs_test_wait_online();
SELECT status FROM featstore.online_features('shop_profile', '42', 'a:b{c}%');
SELECT * FROM featstore.verify_online('shop_profile');
SELECT command FROM featstore.exec($$ DROP FEATURE GROUP shop_profile $$);
SELECT fs_test_wait_online();

-- SET TTL rewrites every value with the new expiry; rider 3 is back
SELECT command FROM featstore.exec($$ ALTER FEATURE GROUP rider_stats SET TTL INTERVAL '3 days' $$);
SELECT fs_test_wait_online();
SELECT o.expires_at - o.event_timestamp AS ttl, o.features->'trips' AS trips
  FROM featstore.online_features('rider_stats', '3') o;
SELECT * FROM featstore.verify_online('rider_stats');

-- errors
SELECT featstore.materialize('no_such_group');
SELECT featstore.materialize('rider_offline');
SELECT featstore.materialize(NULL);
SELECT * FROM featstore.online_features('rider_stats', '1', '2');
SELECT * FROM featstore.online_features('rider_stats', 'one');
SELECT * FROM featstore.online_features('rider_offline', '1');
SELECT * FROM featstore.verify_online('rider_stats', sample => 0);
SELECT * FROM featstore.verify_online('no_such_group');
ALTER SYSTEM SET featstore.redis_tls = on;
ALTER SYSTEM SET featstore.redis_key_prefix = 'a{b}';

-- the password is hidden from ordinary roles
CREATE ROLE fs_online_reader LOGIN IN ROLE featstore_reader;
SET ROLE fs_online_reader;
SHOW featstore.redis_password;
SELECT current_setting('featstore.redis_password');
SELECT count(*) AS visible FROM pg_settings WHERE name = 'featstore.redis_password';
SELECT count(*) > 0 AS sees_status FROM featstore.materialization_status;
SELECT status FROM featstore.online_features('rider_stats', '1');
SELECT featstore.materialize('rider_stats');
INSERT INTO featstore.online_queue (group_name, kind) VALUES ('rider_stats', 'purge');
RESET ROLE;
SELECT name, setting FROM pg_settings WHERE name LIKE 'featstore.%' AND name <> 'featstore.redis_port' ORDER BY name;

DROP ROLE fs_online_reader;

SELECT command FROM featstore.exec($$
	DROP FEATURE GROUP rider_stats;
	DROP FEATURE GROUP rider_offline;
	DROP ENTITY rider;
	DROP ENTITY shop;
	DROP FEATURE GROUP store_daily;
	DROP ENTITY store;
$$);
SELECT fs_test_wait_online();
SELECT count(*) AS left_in_queue FROM featstore.online_queue;
DROP FUNCTION fs_test_wait_online();
