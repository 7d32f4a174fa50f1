-- privileges: featstore_reader browses, featstore_editor defines, ownership
-- decides who may change a definition, and nobody writes the registry directly
\set SHOW_CONTEXT never
CREATE ROLE fs_alice LOGIN IN ROLE featstore_editor;
CREATE ROLE fs_bob LOGIN IN ROLE featstore_editor;
CREATE ROLE fs_reader LOGIN IN ROLE featstore_reader;
CREATE ROLE fs_nobody LOGIN;
CREATE SCHEMA alice AUTHORIZATION fs_alice;

-- an editor defines an entity and a group in a schema she may create in
SET ROLE fs_alice;
SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY account (account_id bigint) OWNER 'alice-team';
	CREATE FEATURE GROUP alice.account_features ENTITY account FEATURES (balance numeric 'Balance');
	CREATE FEATURE SERVICE alice_model FEATURES (account_features.balance);
$$);
SELECT group_name, table_name FROM featstore.catalog;
-- but not in a schema where she lacks CREATE, and the registry is untouched
DO LANGUAGE featstore $$ CREATE FEATURE GROUP public.nope ENTITY account FEATURES (x int) $$;
-- she cannot write the registry tables directly
INSERT INTO featstore.entities (name) VALUES ('forged');
UPDATE featstore.feature_groups SET ttl = '1 hour';
DELETE FROM featstore.definition_history;
RESET ROLE;
SELECT tableowner FROM pg_tables WHERE tablename = 'account_features';
SELECT created_by FROM featstore.feature_groups WHERE name = 'account_features';
SELECT count(*) AS nope_groups FROM featstore.feature_groups WHERE name = 'nope';

-- another editor may not change or drop what alice owns
SET ROLE fs_bob;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP account_features SET TTL '1 day' $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP account_features CASCADE $$;
DO LANGUAGE featstore $$ DROP ENTITY account CASCADE $$;
DO LANGUAGE featstore $$ ALTER ENTITY account SET OWNER 'bob-team' $$;
DO LANGUAGE featstore $$ DROP FEATURE SERVICE alice_model $$;
-- he can read what is there
SELECT group_name, feature_name FROM featstore.catalog;
RESET ROLE;

-- a reader browses everything and changes nothing
SET ROLE fs_reader;
SELECT group_name, feature_name, data_type, owner FROM featstore.catalog;
SELECT group_name, active_features FROM featstore.group_overview;
SELECT service_name, feature_name FROM featstore.service_features;
SELECT qualified_name FROM featstore.search('balance');
SELECT count(*) > 0 AS sees_history FROM featstore.definition_history;
DO LANGUAGE featstore $$ CREATE ENTITY r (r text) $$;
SELECT * FROM featstore.exec($$ CREATE ENTITY r (r text) $$);
SELECT featstore.create_entity('r', ARRAY['r'], ARRAY['text']);
SELECT featstore.drop_feature_group('account_features');
INSERT INTO featstore.entities (name) VALUES ('forged');
RESET ROLE;

-- a role with no featstore role sees nothing and runs nothing
SET ROLE fs_nobody;
SELECT count(*) FROM featstore.catalog;
DO LANGUAGE featstore $$ CREATE ENTITY r (r text) $$;
SELECT * FROM featstore.exec($$ CREATE ENTITY r (r text) $$);
RESET ROLE;

-- an editor's search_path cannot plant code that runs with the extension
-- owner's rights: registry queries resolve operators in pg_catalog only
SET ROLE fs_alice;
CREATE FUNCTION alice.trap(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'trap ran as %', current_user;
	RETURN $1 OPERATOR(pg_catalog.=) $2;
END $$;
CREATE OPERATOR alice.= (LEFTARG = text, RIGHTARG = text, FUNCTION = alice.trap);
CREATE FUNCTION alice.trap(name, text) RETURNS boolean LANGUAGE sql AS $$ SELECT alice.trap($1::text, $2) $$;
CREATE OPERATOR alice.= (LEFTARG = name, RIGHTARG = text, FUNCTION = alice.trap);
CREATE TABLE alice.scratch (a int);
SET search_path = alice, pg_catalog;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP account_features SET DESCRIPTION 'Balances' $$;
DROP TABLE alice.scratch;
RESET search_path;
DROP OPERATOR alice.= (text, text);
DROP OPERATOR alice.= (name, text);
DROP FUNCTION alice.trap(name, text);
DROP FUNCTION alice.trap(text, text);
RESET ROLE;
SELECT description FROM featstore.feature_groups WHERE name = 'account_features';

-- the owner changes and drops her objects
SET ROLE fs_alice;
DO LANGUAGE featstore $$
	ALTER FEATURE GROUP account_features SET TTL '1 day', ADD FEATURE overdraft boolean;
	DROP FEATURE SERVICE alice_model;
	DROP ENTITY account CASCADE;
$$;
RESET ROLE;
SELECT command, object_name, executed_by FROM featstore.definition_history
 WHERE executed_by::text LIKE 'fs_%' ORDER BY id;

DROP SCHEMA alice;
DROP ROLE fs_alice, fs_bob, fs_reader, fs_nobody;
