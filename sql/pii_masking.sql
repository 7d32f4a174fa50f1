-- PII (issue 12): features tagged PII in the DDL and by ALTER FEATURE ...
-- SET PII / DROP PII, and masked (NULL, one NOTICE per statement) for roles
-- that are not members of featstore_pii_reader, in every read path:
-- pit_join, the marker join, create_pit_view's views, a source group's view
-- (window_timeline) and its window join, online_features, verify_online.
-- Prepared statements decide at each execution, from the current role.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
CREATE FUNCTION pii_wait_online() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..300 LOOP
		IF NOT EXISTS (SELECT 1 FROM featstore.online_queue_depth())
		   AND (SELECT state FROM featstore.online_worker_status()) = 'idle' THEN
			RETURN 'caught up';
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN 'timed out';
END
$$;

-- the role exists, nobody is in it, and it is not a featstore_reader
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = 'featstore_pii_reader';
SELECT count(*) AS members FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
 WHERE r.rolname = 'featstore_pii_reader';

CREATE ROLE pii_owner LOGIN IN ROLE featstore_editor;
CREATE ROLE pii_member LOGIN IN ROLE featstore_reader, featstore_pii_reader;
CREATE ROLE pii_analyst LOGIN IN ROLE featstore_reader;
CREATE ROLE pii_team LOGIN IN ROLE featstore_reader;
-- membership through another role counts
CREATE ROLE pii_group NOLOGIN IN ROLE featstore_pii_reader;
CREATE ROLE pii_nested LOGIN IN ROLE featstore_reader, pii_group;
CREATE SCHEMA pii AUTHORIZATION pii_owner;
GRANT USAGE ON SCHEMA pii TO PUBLIC;

-- the tag in CREATE FEATURE GROUP: after the description, after TAGS, in
-- a group FROM a source and in one AS query
SET ROLE pii_owner;
CREATE TABLE pii.clicks (user_id bigint, ts timestamptz, page text);
CREATE TABLE pii.signups (user_id bigint, ts timestamptz, mail text);
SELECT command, object_name, detail FROM featstore.exec($$
	CREATE ENTITY pii_user (user_id bigint);
	CREATE FEATURE GROUP pii.pii_profile ENTITY pii_user
		FEATURES (email_domain text 'Domain of the e-mail' PII,
				  age_band text 'Age band',
				  phone text TAGS ('contact') PII)
		ONLINE;
	CREATE FEATURE GROUP pii.pii_scores ENTITY pii_user
		FEATURES (score integer 'Risk score', nickname text DESCRIPTION 'Chosen name' TAGS ('x') PII);
	CREATE FEATURE GROUP pii.pii_clicks ENTITY pii_user FROM pii.clicks TIMESTAMP ts
		FEATURES (clicks bigint AS count(*) OVER '1 day' 'Clicks in a day',
				  last_page text AS last(page) PII);
	CREATE FEATURE GROUP pii.pii_mail ENTITY pii_user
		AS SELECT user_id, ts AS event_timestamp, mail FROM pii.signups
		SCHEDULE MANUAL
		FEATURES (mail text PII);
$$);
RESET ROLE;
SELECT group_name, feature_name, pii FROM featstore.catalog
 WHERE group_name LIKE 'pii\_%' ORDER BY group_name, position;
SELECT group_name, name, pii FROM featstore.features
 WHERE group_name LIKE 'pii\_%' AND pii ORDER BY group_name, position;

SET ROLE pii_owner;
INSERT INTO pii.pii_profile (user_id, event_timestamp, created_at, email_domain, age_band, phone) VALUES
	(1, '2026-11-01 10:00+00', '2026-11-01 10:00+00', 'example.com', '30-39', '+33 1 23'),
	(1, '2026-11-05 10:00+00', '2026-11-05 10:00+00', 'corp.example', '30-39', '+33 4 56'),
	(2, '2026-11-02 10:00+00', '2026-11-02 10:00+00', 'mail.test', '20-29', NULL);
INSERT INTO pii.pii_scores (user_id, event_timestamp, created_at, score, nickname) VALUES
	(1, '2026-11-03 00:00+00', '2026-11-03 00:00+00', 70, 'ace'),
	(2, '2026-11-03 00:00+00', '2026-11-03 00:00+00', 20, 'bee');
INSERT INTO pii.clicks VALUES
	(1, '2026-11-05 09:00+00', '/home'), (1, '2026-11-05 11:00+00', '/pay'), (2, '2026-11-04 09:00+00', '/faq');
CREATE TABLE pii.spine (user_id bigint, ts timestamptz);
INSERT INTO pii.spine VALUES (1, '2026-11-04 00:00+00'), (1, '2026-11-06 00:00+00'), (2, '2026-11-06 00:00+00');
GRANT SELECT ON pii.spine, pii.pii_profile, pii.pii_scores, pii.clicks TO pii_member, pii_analyst, pii_nested;
GRANT SELECT ON pii.pii_clicks TO pii_member, pii_analyst, pii_nested;
-- the team gets the non-PII columns only: PostgreSQL's column privileges
GRANT SELECT ON pii.spine TO pii_team;
GRANT SELECT (user_id, event_timestamp, created_at, age_band) ON pii.pii_profile TO pii_team;
RESET ROLE;

-- pit_join: a member sees the values, no NOTICE
SET ROLE pii_member;
SELECT * FROM featstore.pit_join(NULL::record, 'pii.spine', features => '{pii_profile, pii_scores.score}')
  AS t(user_id bigint, ts timestamptz, email_domain text, age_band text, phone text, score integer)
 ORDER BY user_id, ts;
-- a member through another role too
SET ROLE pii_nested;
SELECT user_id, ts, email_domain FROM featstore.pit_join(NULL::record, 'pii.spine', features => '{pii_profile.email_domain}')
  AS t(user_id bigint, ts timestamptz, email_domain text)
 ORDER BY user_id, ts;
-- a non-member: NULL in place of each PII feature, one NOTICE naming them
SET ROLE pii_analyst;
SELECT * FROM featstore.pit_join(NULL::record, 'pii.spine', features => '{pii_profile, pii_scores}')
  AS t(user_id bigint, ts timestamptz, email_domain text, age_band text, phone text, score integer, nickname text)
 ORDER BY user_id, ts;
-- nothing PII requested: no NOTICE
SELECT * FROM featstore.pit_join(NULL::record, 'pii.spine', features => '{pii_profile.age_band}')
  AS t(user_id bigint, ts timestamptz, age_band text)
 ORDER BY user_id, ts;

-- the marker join: two PitJoin nodes in one statement, one NOTICE; an
-- expression over a PII column is NULL too; the spine's own columns are the
-- caller's query and are not masked
SELECT s.user_id, s.ts, p.age_band, p.email_domain, upper(p.phone) AS phone, c.nickname, c.score,
	   p.email_domain IS NULL AS masked
  FROM pii.spine s
  LEFT JOIN pii.pii_profile p ON p.user_id = s.user_id
	   AND featstore.pit_match(p.event_timestamp, p.created_at, s.ts)
  LEFT JOIN pii.pii_scores c ON c.user_id = s.user_id
	   AND featstore.pit_match(c.event_timestamp, c.created_at, s.ts)
 ORDER BY 1, 2;
-- a whole-row reference of the history side is masked where PII
SELECT s.user_id, (p).age_band, (p).email_domain
  FROM pii.spine s
  LEFT JOIN pii.pii_profile p ON p.user_id = s.user_id
	   AND featstore.pit_match(p.event_timestamp, p.created_at, s.ts)
 ORDER BY s.user_id, s.ts;
-- through a subquery the planner keeps (DISTINCT), renamed
SELECT s.user_id, s.ts, q.dom
  FROM pii.spine s
  LEFT JOIN (SELECT DISTINCT user_id, event_timestamp, created_at, email_domain AS dom
			   FROM pii.pii_profile) q ON q.user_id = s.user_id
	   AND featstore.pit_match(q.event_timestamp, q.created_at, s.ts)
 ORDER BY 1, 2;
-- an attacker's own security_barrier view over the history table, which
-- the planner does not flatten, renames nothing away
RESET ROLE;
GRANT CREATE ON SCHEMA pii TO pii_analyst;
SET ROLE pii_analyst;
CREATE VIEW pii.analyst_view WITH (security_barrier) AS
	SELECT user_id, event_timestamp, created_at, lower(email_domain) AS d, age_band FROM pii.pii_profile;
SELECT s.user_id, v.d, v.age_band FROM pii.spine s
  LEFT JOIN pii.analyst_view v ON v.user_id = s.user_id AND featstore.pit_match(v.event_timestamp, v.created_at, s.ts)
 ORDER BY s.user_id, s.ts;
DROP VIEW pii.analyst_view;
RESET ROLE;
REVOKE CREATE ON SCHEMA pii FROM pii_analyst;
-- the group's owner is no member either: masked through featstore, though
-- its own SELECT reads the table
SET ROLE pii_owner;
SELECT * FROM featstore.pit_join(NULL::record, 'pii.spine', features => '{pii_profile.email_domain}')
  AS t(user_id bigint, ts timestamptz, email_domain text)
 ORDER BY user_id, ts;
SET ROLE pii_analyst;
-- each strategy masks
SET featstore.pit_strategy = 'merge';
SELECT s.user_id, p.email_domain, p.age_band FROM pii.spine s
  JOIN pii.pii_profile p ON p.user_id = s.user_id AND featstore.pit_match(p.event_timestamp, p.created_at, s.ts)
 ORDER BY s.user_id, s.ts;
SET featstore.pit_strategy = 'probe';
SELECT s.user_id, p.email_domain, p.age_band FROM pii.spine s
  JOIN pii.pii_profile p ON p.user_id = s.user_id AND featstore.pit_match(p.event_timestamp, p.created_at, s.ts)
 ORDER BY s.user_id, s.ts;
RESET featstore.pit_strategy;
-- the parallel-aware node masks in every participant, and only the leader
-- notes: one NOTICE
SET featstore.pit_parallel = force;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT s.user_id, p.email_domain, p.age_band FROM pii.spine s
  JOIN pii.pii_profile p ON p.user_id = s.user_id AND featstore.pit_match(p.event_timestamp, p.created_at, s.ts);
SELECT s.user_id, p.email_domain, p.age_band FROM pii.spine s
  JOIN pii.pii_profile p ON p.user_id = s.user_id AND featstore.pit_match(p.event_timestamp, p.created_at, s.ts)
 ORDER BY s.user_id, s.ts;
RESET featstore.pit_parallel;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
-- EXPLAIN alone returns no value: no NOTICE
EXPLAIN (COSTS OFF) SELECT s.user_id, p.email_domain FROM pii.spine s
  JOIN pii.pii_profile p ON p.user_id = s.user_id AND featstore.pit_match(p.event_timestamp, p.created_at, s.ts);
-- a direct SELECT is governed by the table's own GRANTs, not by featstore
SELECT user_id, email_domain FROM pii.pii_profile ORDER BY user_id, event_timestamp;
RESET ROLE;

-- a source group: its view (window_timeline) and the window join
SET ROLE pii_analyst;
SELECT user_id, event_timestamp, clicks, last_page FROM pii.pii_clicks ORDER BY 1, 2;
SELECT * FROM featstore.pit_join(NULL::record, 'pii.spine', features => '{pii_clicks}')
  AS t(user_id bigint, ts timestamptz, clicks bigint, last_page text)
 ORDER BY user_id, ts;
SET ROLE pii_member;
SELECT user_id, event_timestamp, clicks, last_page FROM pii.pii_clicks ORDER BY 1, 2;
SELECT * FROM featstore.pit_join(NULL::record, 'pii.spine', features => '{pii_clicks}')
  AS t(user_id bigint, ts timestamptz, clicks bigint, last_page text)
 ORDER BY user_id, ts;
RESET ROLE;

-- a view made by create_pit_view masks for whoever reads it
SET ROLE pii_owner;
SELECT featstore.create_pit_view('pii.training', 'pii.spine', features => '{pii_profile, pii_scores.nickname}');
GRANT SELECT ON pii.training TO pii_member, pii_analyst;
RESET ROLE;
SET ROLE pii_analyst;
SELECT * FROM pii.training ORDER BY user_id, ts;
SET ROLE pii_member;
SELECT * FROM pii.training ORDER BY user_id, ts;
RESET ROLE;
-- a superuser is a member of every role
SELECT user_id, ts, email_domain, nickname FROM pii.training ORDER BY user_id, ts;

-- a training set's view (pit_join's SQL over the spine copy) masks for
-- whoever reads it; its checksum counts PII features as NULL for every
-- role, so it verifies the same for a member, a non-member and a superuser
SET ROLE pii_owner;
SELECT command, object_name FROM featstore.exec($$
	CREATE FEATURE SERVICE pii_model FEATURES (pii_profile.email_domain, pii_profile.age_band, pii_scores.nickname);
	CREATE TRAINING SET pii.pii_train FOR SERVICE pii_model FROM pii.spine AS OF '2026-11-10 00:00+00';
$$);
GRANT SELECT ON pii.pii_train, pii.pii_train_spine TO pii_member, pii_analyst;
RESET ROLE;
SET ROLE pii_analyst;
SELECT * FROM pii.pii_train ORDER BY user_id, ts;
SELECT spine_unchanged, unchanged FROM featstore.verify_training_set('pii_train');
SET ROLE pii_member;
SELECT * FROM pii.pii_train ORDER BY user_id, ts;
SELECT spine_unchanged, unchanged FROM featstore.verify_training_set('pii_train');
RESET ROLE;
SELECT spine_unchanged, unchanged FROM featstore.verify_training_set('pii_train');

-- a prepared statement decides at each EXECUTE, from the current role, on
-- the one cached generic plan
SET plan_cache_mode = force_generic_plan;
SET ROLE pii_member;
PREPARE pii_q AS
	SELECT s.user_id, s.ts, p.email_domain, p.phone, p.age_band FROM pii.spine s
	  JOIN pii.pii_profile p ON p.user_id = s.user_id AND featstore.pit_match(p.event_timestamp, p.created_at, s.ts)
	 ORDER BY 1, 2;
EXECUTE pii_q;
SET ROLE pii_analyst;
EXECUTE pii_q;
SET ROLE pii_member;
EXECUTE pii_q;
SET ROLE pii_analyst;
PREPARE pii_pj AS SELECT * FROM featstore.pit_join(NULL::record, 'pii.spine', features => '{pii_scores}')
  AS t(user_id bigint, ts timestamptz, score integer, nickname text) ORDER BY user_id, ts;
EXECUTE pii_pj;
SET ROLE pii_member;
EXECUTE pii_pj;
RESET ROLE;

-- SET PII and DROP PII, recorded in the definition history; the prepared
-- statement's plan is made again with the new tags
SET ROLE pii_owner;
SELECT command, object_name, detail FROM featstore.exec($$
	ALTER FEATURE GROUP pii_profile ALTER FEATURE phone DROP PII, ALTER FEATURE age_band SET PII
$$);
RESET ROLE;
SET ROLE pii_analyst;
EXECUTE pii_q;
RESET ROLE;
SET ROLE pii_owner;
SELECT featstore.set_feature_pii('pii_profile', 'phone', true);
SELECT featstore.set_feature_pii('pii_profile', 'age_band', false);
RESET ROLE;
SET ROLE pii_analyst;
EXECUTE pii_q;
RESET ROLE;
DEALLOCATE pii_q;
DEALLOCATE pii_pj;
RESET plan_cache_mode;
SELECT command, object_name, statement, executed_by FROM featstore.definition_history
 WHERE object_name = 'pii_profile' AND command = 'ALTER FEATURE GROUP' ORDER BY id;
SELECT feature_name, pii FROM featstore.catalog WHERE group_name = 'pii_profile' ORDER BY position;

-- errors
SET ROLE pii_owner;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pii_profile ALTER FEATURE phone SET PII $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pii_profile ALTER FEATURE age_band DROP PII $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pii_profile ALTER FEATURE no_such SET PII $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pii_profile ALTER FEATURE phone DROP $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pii_profile ALTER FEATURE phone SET SECRET $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP pii.pii_bad ENTITY pii_user FEATURES (x text PII PII) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP pii.pii_bad ENTITY pii_user FEATURES (x text PII 'too late') $$;
SELECT featstore.set_feature_pii('pii_profile', 'no_such', true);
SELECT featstore.set_feature_pii('pii_profile', 'phone', NULL);
SELECT featstore.set_feature_pii('no_group', 'phone', true);
RESET ROLE;
-- only the group's owner may change its tags, and a reader may not at all
SET ROLE pii_member;
SELECT featstore.set_feature_pii('pii_profile', 'phone', false);
RESET ROLE;
CREATE ROLE pii_other LOGIN IN ROLE featstore_editor;
SET ROLE pii_other;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pii_profile ALTER FEATURE phone DROP PII $$;
RESET ROLE;
-- ADD FEATURE ... PII
SET ROLE pii_owner;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pii_scores ADD FEATURE birth_year integer 'Year of birth' PII $$;
RESET ROLE;
SELECT feature_name, pii FROM featstore.catalog WHERE group_name = 'pii_scores' ORDER BY position;

-- column privileges: the team reads the non-PII feature it was granted, and
-- neither the PII columns directly nor a join that names them
SET ROLE pii_team;
SELECT * FROM featstore.pit_join(NULL::record, 'pii.spine', features => '{pii_profile.age_band}')
  AS t(user_id bigint, ts timestamptz, age_band text)
 ORDER BY user_id, ts;
SELECT email_domain FROM pii.pii_profile;
SELECT * FROM featstore.pit_join(NULL::record, 'pii.spine', features => '{pii_profile.email_domain}')
  AS t(user_id bigint, ts timestamptz, email_domain text);
RESET ROLE;

-- the online store: Redis holds the values; online_features masks them
SELECT pii_wait_online();
SET ROLE pii_analyst;
SELECT status, features FROM featstore.online_features('pii_profile', '1');
SELECT o.status, o.features FROM unnest(ARRAY['1', '2']) u, featstore.online_features('pii_profile', u) o;
SELECT * FROM featstore.verify_online('pii_profile');
-- the worker's errors may quote a failing row's values: hidden from a
-- non-member for a group with PII features
SELECT featstore.online_error_visible('pii_profile') AS profile_errors;
SET ROLE pii_member;
SELECT status, features FROM featstore.online_features('pii_profile', '1');
SELECT featstore.online_error_visible('pii_profile') AS profile_errors;
RESET ROLE;
-- verify_online hides PII in both expected and actual: a row written with
-- change capture off leaves Redis behind
SET session_replication_role = replica;
INSERT INTO pii.pii_profile (user_id, event_timestamp, created_at, email_domain, age_band, phone)
	VALUES (2, '2026-11-07 10:00+00', '2026-11-07 10:00+00', 'new.test', '20-29', '+33 9 99');
RESET session_replication_role;
SET ROLE pii_analyst;
SELECT entity, problem, expected, actual FROM featstore.verify_online('pii_profile');
SET ROLE pii_member;
SELECT entity, problem, expected, actual FROM featstore.verify_online('pii_profile');
RESET ROLE;
SELECT featstore.materialize('pii_profile');
SELECT pii_wait_online();
SELECT count(*) AS differences FROM featstore.verify_online('pii_profile');

-- monitoring's statistics of a PII feature describe its values (a text
-- feature's most frequent values are values): shown to members only
INSERT INTO featstore.feature_stats (group_name, feature_name, period_start, period_end, kind,
									 row_count, null_count, top_values, top_counts)
VALUES ('pii_profile', 'email_domain', '2026-11-01', '2026-11-08', 'categorical', 4, 0,
		'{corp.example,example.com,mail.test,new.test}', '{1,1,1,1}'),
	   ('pii_profile', 'age_band', '2026-11-01', '2026-11-08', 'categorical', 4, 0,
		'{20-29,30-39}', '{2,2}');
SET ROLE pii_analyst;
SELECT feature_name, top_values FROM featstore.feature_stats WHERE group_name = 'pii_profile' ORDER BY 1;
SELECT featstore.feature_visible('pii_profile', 'email_domain') AS email_domain,
	   featstore.feature_visible('pii_profile', 'age_band') AS age_band;
SET ROLE pii_nested;
SELECT feature_name, top_values FROM featstore.feature_stats WHERE group_name = 'pii_profile' ORDER BY 1;
RESET ROLE;

-- clean up
SET ROLE pii_owner;
DROP VIEW pii.training;
SELECT command, object_name FROM featstore.exec($$
	DROP TRAINING SET pii_train;
	DROP FEATURE SERVICE pii_model;
	DROP FEATURE GROUP pii_profile;
	DROP FEATURE GROUP pii_scores;
	DROP FEATURE GROUP pii_clicks;
	DROP FEATURE GROUP pii_mail;
	DROP ENTITY pii_user;
$$);
DROP TABLE pii.spine, pii.clicks, pii.signups;
RESET ROLE;
SELECT pii_wait_online();
DROP SCHEMA pii;
DROP ROLE pii_owner, pii_member, pii_analyst, pii_team, pii_nested, pii_group, pii_other;
DROP FUNCTION pii_wait_online();
