/*
 * online_namespace.c
 *		The namespace of this database's Redis keys (issue 13): reading it
 *		for the key builder, once per transaction, and moving it with
 *		featstore.set_online_namespace().
 *
 * Keys are <prefix>:<namespace>:{<entity>:<keys>}:<group> (online_codec.c);
 * an empty namespace is 0.2.0's layout, <prefix>:{<entity>:<keys>}:<group>,
 * which an upgraded database keeps.  The namespace lives in the registry
 * (featstore.online_namespace, src/sql/42_namespace.sql).  Only the worker
 * writes Redis, and it processes the queue in order, so a move is two
 * queue rows per online group in the changing transaction: a purge of the
 * old namespace's keys and a forced walk that rewrites the group under the
 * new one.  Batches that read the old namespace before the change committed
 * push before the purge is taken, so no old key outlives the move.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "extension.h"
#include "online/online.h"
#include "registry/registry.h"

PG_FUNCTION_INFO_V1(set_online_namespace);

/* The namespace read last, in TopMemoryContext, and the transaction it is of */
static char *ns_cached = NULL;
static LocalTransactionId ns_lxid = InvalidLocalTransactionId;

static char *ReadNamespace(void);
static void CheckNamespaceAdmin(void);
static void CheckNamespaceValue(const char *ns);
static void CheckNamespaceFree(const char *ns);
static void WriteNamespace(const char *old_ns, const char *new_ns, int moved);
static int	QueueMove(const char *old_ns);
static void LockRegistry(void);

/*
 * OnlineNamespace returns the namespace of this database's keys.  In a
 * transaction it is read from the registry at its first use there (a
 * change committed by another session shows at the next transaction);
 * outside one, the worker's push, it is the one its batch read.  Never
 * read at all, it raises an error rather than guess a layout.
 */
const char *
OnlineNamespace(void)
{
	if (IsTransactionState() && (ns_cached == NULL || ns_lxid != MyProc->lxid))
	{
		char	   *ns = ReadNamespace();

		if (ns_cached)
			pfree(ns_cached);
		ns_cached = MemoryContextStrdup(TopMemoryContext, ns);
		ns_lxid = MyProc->lxid;
	}
	if (ns_cached == NULL)
		elog(ERROR, "featstore online namespace used before it was read");
	return ns_cached;
}

/*
 * ReadNamespace reads the namespace as the extension owner (ordinary roles
 * build keys too: a TRUNCATE's purge); a schema without the table (0.2.0,
 * before ALTER EXTENSION UPDATE) is the legacy layout, ''.
 */
static char *
ReadNamespace(void)
{
	Oid			save_userid;
	int			save_sec_context;
	char	   *ns = NULL;
	int			ret;

	if (!OnlineNamespaceStored())
		return pstrdup("");
	SPI_connect();
	FeatstoreBeginRegistryWrite(&save_userid, &save_sec_context);
	ret = SPI_execute("SELECT n.namespace FROM featstore.online_namespace n"
					  " ORDER BY n.is_default LIMIT 1", false, 1);
	FeatstoreEndRegistryWrite(save_userid, save_sec_context);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read featstore.online_namespace: SPI error %d", ret);
	if (SPI_processed == 1)
		ns = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	ns = MemoryContextStrdup(CurTransactionContext, ns ? ns : "");
	SPI_finish();
	return ns;
}

/*
 * OnlineNamespaceStored says whether this database's featstore schema has
 * the namespace (0.3.0 on); in a transaction
 */
bool
OnlineNamespaceStored(void)
{
	Oid			nsp = FeatstoreSchemaOid(true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("online_namespace", nsp));
}

/*
 * set_online_namespace moves this database's keys to another namespace:
 * it records it (and the change, in online_namespace_history) and queues,
 * for every online group, the purge of the old namespace's keys and a
 * forced rewrite under the new one.  Returns the number of online groups
 * queued; 0 and nothing recorded when the namespace is already that one.
 */
Datum
set_online_namespace(PG_FUNCTION_ARGS)
{
	char	   *new_ns;
	char	   *old_ns;
	int			moved;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the online namespace must not be null"),
				 errhint("Pass '' for the legacy layout <prefix>:{<entity>:<keys>}:<group>.")));
	new_ns = text_to_cstring(PG_GETARG_TEXT_PP(0));
	FeatstoreRequireCurrentSchema();
	CheckNamespaceAdmin();
	CheckNamespaceValue(new_ns);
	LockRegistry();
	old_ns = pstrdup(OnlineNamespace());
	if (strcmp(old_ns, new_ns) == 0)
		PG_RETURN_INT32(0);
	OnlineRequireServedDatabase();
	CheckNamespaceFree(new_ns);
	moved = QueueMove(old_ns);
	WriteNamespace(old_ns, new_ns, moved);
	/* this transaction's keys take the new one from now on */
	ns_lxid = InvalidLocalTransactionId;
	PG_RETURN_INT32(moved);
}

/*
 * LockRegistry takes featstore DDL's one lock (registry.c's RegistryLock,
 * on featstore.entities): no group goes online or offline during the move,
 * and two moves run one after the other, each reading what the other wrote
 */
static void
LockRegistry(void)
{
	Oid			relid = get_relname_relid("entities", FeatstoreSchemaOid(false));

	if (!OidIsValid(relid))
		elog(ERROR, "featstore registry table \"entities\" is missing");
	LockRelationOid(relid, ShareRowExclusiveLock);
}

/*
 * CheckNamespaceAdmin admits the extension owner (and superusers) and the
 * members of featstore_admin, if that role exists: a move rewrites every
 * online group of the database, and services read the keys it names.
 */
static void
CheckNamespaceAdmin(void)
{
	Oid			admin = get_role_oid("featstore_admin", true);

	if (has_privs_of_role(GetUserId(), FeatstoreExtensionOwner()))
		return;
	if (OidIsValid(admin) && has_privs_of_role(GetUserId(), admin))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to set the online namespace"),
			 errdetail("It names every Redis key of this database's online feature groups."),
			 errhint("Run it as the owner of extension featstore or as a member of featstore_admin.")));
}

/*
 * CheckNamespaceValue refuses what cannot name a namespace.  Any text is
 * escaped as a key part is, so only the length is bounded; the empty one
 * is the legacy layout.
 */
static void
CheckNamespaceValue(const char *ns)
{
	if (strlen(ns) > ONLINE_NAMESPACE_MAXLEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("online namespace \"%.20s...\" is too long", ns),
				 errdetail("It is %zu bytes; the limit is %d.", strlen(ns),
						   ONLINE_NAMESPACE_MAXLEN),
				 errhint("Choose a shorter namespace, such as the database's name.")));
}

/*
 * CheckNamespaceFree refuses a namespace another database's keys use (its
 * worker writes under it) or may use by default (another database's
 * name): two databases under one namespace overwrite and purge each
 * other's keys.  A database not served now may still use it; its worker
 * then refuses to write (online_batch.c).
 */
static void
CheckNamespaceFree(const char *ns)
{
	Oid			user = OnlineNamespaceUser(ns);
	Oid			named = get_database_oid(ns, true);

	if (OidIsValid(user))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("online namespace \"%s\" is the namespace of database \"%s\"", ns,
						get_database_name(user) ? get_database_name(user) : "?"),
				 errdetail("Two databases under one namespace would overwrite and purge each other's keys."),
				 errhint("Choose a namespace no other database uses; featstore.online_namespace() in each database shows its own.")));
	if (OidIsValid(named) && named != MyDatabaseId)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("online namespace \"%s\" is the name of another database", ns),
				 errdetail("A database's namespace defaults to its name, so that database's keys may use it."),
				 errhint("Choose a namespace that is no other database's name.")));
}

/*
 * QueueMove queues, for each online group, the purge of its keys in the old
 * namespace and a forced rewrite (read under the new one when the worker
 * takes it); returns how many groups that is
 */
static int
QueueMove(const char *old_ns)
{
	int			moved = 0;
	ListCell   *lc;

	foreach(lc, RegistryListOnlineGroupNames())
	{
		FsGroup    *fs = RegistryLookupGroup((char *) lfirst(lc), true);

		if (fs == NULL || !fs->online)
			continue;
		OnlineEnqueuePurgeIn(fs->name, old_ns);
		(void) OnlineEnqueueGroup(OnlineGroupFromRegistry(fs), DT_NOBEGIN, true);
		moved++;
	}
	return moved;
}

/* WriteNamespace records the new namespace and the change, as the owner */
static void
WriteNamespace(const char *old_ns, const char *new_ns, int moved)
{
	Oid			types[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		args[3];
	Oid			save_userid;
	int			save_sec_context;
	int			ret;

	args[0] = CStringGetTextDatum(new_ns);
	args[1] = CStringGetTextDatum(old_ns);
	args[2] = Int32GetDatum(moved);
	SPI_connect();
	FeatstoreBeginRegistryWrite(&save_userid, &save_sec_context);
	ret = SPI_execute_with_args("INSERT INTO featstore.online_namespace (is_default, namespace)"
								" VALUES (false, $1) ON CONFLICT (is_default) DO UPDATE"
								" SET namespace = EXCLUDED.namespace, set_at = EXCLUDED.set_at,"
								" set_by = EXCLUDED.set_by",
								1, types, args, NULL, false, 0);
	if (ret == SPI_OK_INSERT)
		ret = SPI_execute_with_args("INSERT INTO featstore.online_namespace_history"
									" (new_namespace, old_namespace, groups_moved)"
									" VALUES ($1, $2, $3)",
									3, types, args, NULL, false, 0);
	FeatstoreEndRegistryWrite(save_userid, save_sec_context);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "could not record the online namespace: SPI error %d", ret);
	SPI_finish();
}
