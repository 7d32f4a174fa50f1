/*
 * redis_slot.c
 *		Redis Cluster key slots (CRC16 of the key's hash tag, as the Redis
 *		Cluster specification says), featstore.redis_key_slot(), and the
 *		"host:port,host:port" node lists of the seed setting.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "redis/redis_cluster.h"
#include "redis/redis_io.h"

PG_FUNCTION_INFO_V1(featstore_redis_key_slot);

/*
 * Crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0, no
 * reflection), the checksum Redis Cluster hashes keys with; table-driven,
 * the table built at first use
 */
static uint16
Crc16(const char *buf, size_t len)
{
	static uint16 table[256];
	static bool built = false;
	uint16		crc = 0;

	if (!built)
	{
		for (int i = 0; i < 256; i++)
		{
			uint16		c = (uint16) (i << 8);

			for (int b = 0; b < 8; b++)
				c = (c & 0x8000) ? (uint16) ((c << 1) ^ 0x1021) : (uint16) (c << 1);
			table[i] = c;
		}
		built = true;
	}
	for (size_t i = 0; i < len; i++)
		crc = (uint16) ((crc << 8) ^ table[((crc >> 8) ^ (unsigned char) buf[i]) & 0xff]);
	return crc;
}

/*
 * RedisKeySlot returns the cluster slot of a key: the CRC16 of its hash tag
 * (what lies between the first '{' and the first '}' after it, when that
 * is not empty) or else of the whole key, modulo 16384
 */
int
RedisKeySlot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len);

	if (open != NULL)
	{
		size_t		rest = len - (open - key) - 1;
		const char *close = memchr(open + 1, '}', rest);

		if (close != NULL && close > open + 1)
			return Crc16(open + 1, close - open - 1) & (REDIS_CLUSTER_SLOTS - 1);
	}
	return Crc16(key, len) & (REDIS_CLUSTER_SLOTS - 1);
}

/* featstore_redis_key_slot is featstore.redis_key_slot(key text): the key's slot */
Datum
featstore_redis_key_slot(PG_FUNCTION_ARGS)
{
	text	   *key = PG_GETARG_TEXT_PP(0);

	PG_RETURN_INT32(RedisKeySlot(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)));
}

/*
 * RedisNodeListNext reads the next "host:port" of a comma-separated list
 * at *pos (spaces around entries allowed; the port after the last colon).
 * Returns 1 with host and port set, 0 at the end, -1 for a bad entry (then
 * *pos points at it).
 */
int
RedisNodeListNext(const char **pos, char *host, size_t hostsize, int *port)
{
	const char *p = *pos;
	const char *end;
	const char *colon = NULL;
	char	   *stop;
	long		val;

	while (*p == ' ' || *p == ',')
		p++;
	*pos = p;
	if (*p == '\0')
		return 0;
	end = p + strcspn(p, ", ");
	for (const char *c = p; c < end; c++)
		if (*c == ':')
			colon = c;
	if (colon == NULL || colon == p || (size_t) (colon - p) >= hostsize || colon + 1 == end)
		return -1;
	errno = 0;
	val = strtol(colon + 1, &stop, 10);
	if (errno != 0 || stop != end || val < 1 || val > 65535)
		return -1;
	/* [::1]:7000 names an IPv6 address */
	if (*p == '[' && colon[-1] == ']' && colon - p > 2)
	{
		memcpy(host, p + 1, colon - p - 2);
		host[colon - p - 2] = '\0';
	}
	else
	{
		memcpy(host, p, colon - p);
		host[colon - p] = '\0';
	}
	*port = (int) val;
	*pos = end;
	return 1;
}

/*
 * RedisParseNodeList checks a whole list; false with *bad (palloc'd) the
 * first entry that is not host:port
 */
bool
RedisParseNodeList(const char *list, char **bad)
{
	const char *pos = list ? list : "";
	char		host[REDIS_HOST_MAX];
	int			port;
	int			r;

	while ((r = RedisNodeListNext(&pos, host, sizeof(host), &port)) == 1)
		;
	if (r == 0)
		return true;
	*bad = pnstrdup(pos, strcspn(pos, ", "));
	return false;
}
