-- Redis Cluster (issue 13): the slot a key hashes to, as CLUSTER KEYSLOT
-- answers (CRC16 of the key's hash tag, modulo 16384).  featstore's keys
-- carry the entity as their hash tag, so every group of one entity shares
-- a slot; this lets tests and users check where a key lives.
CREATE FUNCTION featstore.redis_key_slot(key text)
RETURNS integer
AS 'MODULE_PATHNAME', 'featstore_redis_key_slot'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.redis_key_slot(text) IS 'The Redis Cluster slot of a key (0 to 16383): CRC16 of its hash tag, or of the whole key without one, as CLUSTER KEYSLOT';
