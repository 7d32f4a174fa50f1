-- Privileges.  Everyone may resolve names in the schema; reading the
-- registry takes featstore_reader, and changing definitions takes
-- featstore_editor: USAGE on the language is the privilege of record, which
-- exec() and the registry functions check themselves (FeatstoreRequireEditor).
-- featstore_reader may call them, so that a reader is told which role it
-- lacks instead of PostgreSQL's plain "permission denied for function".
-- Registry tables are written only by the extension's own code, as the
-- extension owner, after it has checked the caller's rights.

GRANT USAGE ON SCHEMA featstore TO PUBLIC;

GRANT SELECT ON featstore.entities, featstore.entity_keys, featstore.feature_groups,
	featstore.features, featstore.feature_services, featstore.feature_service_members,
	featstore.definition_history, featstore.catalog, featstore.group_overview,
	featstore.service_features, featstore.source_groups, featstore.window_features
	TO featstore_reader;
REVOKE EXECUTE ON FUNCTION featstore.search(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.search(text) TO featstore_reader;
REVOKE EXECUTE ON FUNCTION featstore.resolve_features(text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.resolve_features(text[], text) TO featstore_reader;

REVOKE USAGE ON LANGUAGE featstore FROM PUBLIC;
GRANT USAGE ON LANGUAGE featstore TO featstore_editor;

DO $grants$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::regprocedure
		  FROM pg_catalog.pg_proc p
		 WHERE p.pronamespace = 'featstore'::regnamespace
		   AND p.proname IN ('exec', 'create_entity', 'drop_entity', 'create_feature_group',
							 'add_feature', 'deprecate_feature', 'set_feature_description',
							 'set_ttl', 'set_online', 'set_group_description', 'set_group_owner',
							 'set_group_tags', 'drop_feature_group', 'create_feature_service',
							 'drop_feature_service')
	LOOP
		EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO featstore_reader', f);
	END LOOP;
END
$grants$;
