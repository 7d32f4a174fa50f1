/*
 * pii.c
 *		Masking of PII features for roles that are not members of
 *		featstore_pii_reader, and the one NOTICE per statement that names
 *		the masked features.
 *
 * Who may see PII is decided from the current role when a read path starts
 * to run: a plan made, cached or prepared by a member and run by another
 * role masks for that role.  Membership is pg_has_role(..., 'MEMBER'):
 * granted directly or through other roles; superusers are members of every
 * role, so they see everything, as they can SELECT everything.
 *
 * The NOTICE: every read path that masks notes what it masked here; the
 * names are emitted once, sorted, when the outermost executor of the
 * statement ends.  So a statement with two PitJoin nodes, or one whose
 * pit_join() runs its own query inside, gives one NOTICE.  The executor
 * depth is restored on (sub)transaction abort, as an aborted executor never
 * reaches ExecutorEnd.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pii/pii.h"
#include "registry/registry.h"

static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;

/*
 * Executors running in this backend; forced-masking sections open
 * (PiiBeginForcedMask); both as they were when each open subtransaction
 * started, in pairs.
 */
static int	pii_depth = 0;
static int	pii_forced = 0;
static List *pii_subxact_depths = NIL;	/* in TopMemoryContext */

/* "group.feature" names masked in the current statement, in TopMemoryContext */
static List *pii_pending = NIL;
static char *pii_pending_role = NULL;

/*
 * Whether the role was a member of featstore_pii_reader when the first name
 * was noted, and whether any name was masked for want of SELECT on its
 * column: what the NOTICE's detail and hint say.
 */
static bool pii_pending_member = false;
static bool pii_pending_denied = false;

static void PiiExecutorStart(QueryDesc *queryDesc, int eflags);
static void PiiExecutorEnd(QueryDesc *queryDesc);
static void PiiXactCallback(XactEvent event, void *arg);
static void PiiSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
							   SubTransactionId parentSubid, void *arg);
static void PiiEmitPending(void);
static void PiiClearPending(void);
static void PiiReport(const char *role, const char *names, bool member, bool denied);

/* PiiInit installs the executor hooks and transaction callbacks */
void
PiiInit(void)
{
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = PiiExecutorStart;
	prev_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = PiiExecutorEnd;
	RegisterXactCallback(PiiXactCallback, NULL);
	RegisterSubXactCallback(PiiSubXactCallback, NULL);
}

/*
 * PiiCallerIsReader says whether the current role may see PII: a member of
 * featstore_pii_reader (superusers are members of every role).  Without
 * the role nobody else is.
 */
bool
PiiCallerIsReader(void)
{
	Oid			role = get_role_oid(PII_READER_ROLE, true);

	if (pii_forced > 0)
		return false;
	if (superuser())
		return true;
	return OidIsValid(role) && is_member_of_role(GetUserId(), role);
}

/*
 * PiiMaskedFeatures returns the features of a group that the current role
 * must not see: the group's PII features for a non-member, else NIL.
 */
List *
PiiMaskedFeatures(const char *group_name)
{
	if (group_name == NULL || PiiCallerIsReader())
		return NIL;
	return RegistryPiiFeatures(group_name);
}

/* PiiListHas says whether a List of C strings holds name */
bool
PiiListHas(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		if (strcmp((const char *) lfirst(lc), name) == 0)
			return true;
	}
	return false;
}

/*
 * PiiBeginForcedMask starts a section in which every role is masked, a
 * superuser too, and nothing is noted: a training set's checksum is
 * computed so, the same for every role and telling nothing of the values.
 * PiiEndForcedMask ends it; an abort ends it too.
 */
void
PiiBeginForcedMask(void)
{
	pii_forced++;
}

/* PiiEndForcedMask ends the innermost PiiBeginForcedMask section */
void
PiiEndForcedMask(void)
{
	if (pii_forced > 0)
		pii_forced--;
}

/* PiiNoteMasked records that the statement masked group.feature */
void
PiiNoteMasked(const char *group_name, const char *feature_name)
{
	PiiNoteMaskedName(psprintf("%s.%s", quote_identifier(group_name),
							   quote_identifier(feature_name)));
}

/*
 * PiiNoteMaskedName records a qualified feature name for the statement's
 * NOTICE, once.  A parallel worker notes nothing: its leader runs the same
 * node and notes the same names.
 */
void
PiiNoteMaskedName(const char *qualified_name)
{
	MemoryContext old;

	if (IsParallelWorker() || pii_forced > 0 || PiiListHas(pii_pending, qualified_name))
		return;
	old = MemoryContextSwitchTo(TopMemoryContext);
	if (pii_pending == NIL)
	{
		pii_pending_role = GetUserNameFromId(GetUserId(), true);
		pii_pending_member = PiiCallerIsReader();
	}
	pii_pending = lappend(pii_pending, pstrdup(qualified_name));
	MemoryContextSwitchTo(old);
}

/*
 * PiiNoteColumnDenied records that the statement masked a feature because
 * the role may not SELECT its column, for the NOTICE's detail and hint.
 */
void
PiiNoteColumnDenied(void)
{
	if (!IsParallelWorker() && pii_forced == 0)
		pii_pending_denied = true;
}

/*
 * PushMasked pushes a jsonb object's members with each key named in masked
 * given a null value, noting it (and, for a key named in denied, that its
 * column was not readable).  At the top level, the object under "features"
 * (verify_online's layout) is masked the same way.
 */
static JsonbValue *
PushMasked(JsonbParseState **state, JsonbContainer *container, const char *group_name,
		   List *masked, List *denied, bool top)
{
	JsonbIterator *it = JsonbIteratorInit(container);
	JsonbValue	v;
	JsonbValue *res = NULL;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE && key != NULL && PiiListHas(masked, key))
		{
			PiiNoteMasked(group_name, key);
			if (PiiListHas(denied, key))
				PiiNoteColumnDenied();
			v.type = jbvNull;
		}
		else if (tok == WJB_VALUE && top && key != NULL && strcmp(key, "features") == 0 &&
				 v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data))
		{
			res = PushMasked(state, v.val.binary.data, group_name, masked, denied, false);
			continue;
		}
		res = pushJsonbValue(state, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
	}
	return res;
}

/*
 * PiiMaskJsonb returns a copy of a jsonb object of feature values (as
 * online_features shows them, or under "features" as verify_online does)
 * with each feature named in masked set to null, noting each; the object
 * itself when nothing is to be masked.  denied names those of masked whose
 * column the role may not SELECT.
 */
Jsonb *
PiiMaskJsonb(const char *group_name, Jsonb *features, List *masked, List *denied)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;

	if (features == NULL || masked == NIL || !JB_ROOT_IS_OBJECT(features))
		return features;
	res = PushMasked(&state, &features->root, group_name, masked, denied, true);
	return res != NULL ? JsonbValueToJsonb(res) : features;
}

/* PiiExecutorStart counts the executor; the outermost one starts a statement */
static void
PiiExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (pii_depth == 0)
		PiiEmitPending();
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
	pii_depth++;
}

/* PiiExecutorEnd emits the NOTICE when the outermost executor ends */
static void
PiiExecutorEnd(QueryDesc *queryDesc)
{
	if (prev_executor_end)
		prev_executor_end(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
	if (pii_depth > 0)
		pii_depth--;
	if (pii_depth == 0)
		PiiEmitPending();
}

/*
 * PiiXactCallback forgets the depth and the names at the end of a
 * transaction; names still pending at commit (a read path run without an
 * executor around it) are emitted first.
 */
static void
PiiXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			if (!IsParallelWorker())
				PiiEmitPending();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			pii_depth = 0;
			pii_forced = 0;
			PiiClearPending();
			break;
		default:
			break;
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
	{
		list_free(pii_subxact_depths);
		pii_subxact_depths = NIL;
	}
}

/*
 * PiiSubXactCallback remembers the executor depth when a subtransaction
 * starts and restores it when one aborts: the executors it started never
 * reach ExecutorEnd.
 */
static void
PiiSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
				   SubTransactionId parentSubid, void *arg)
{
	MemoryContext old;

	switch (event)
	{
		case SUBXACT_EVENT_START_SUB:
			old = MemoryContextSwitchTo(TopMemoryContext);
			pii_subxact_depths = lappend_int(pii_subxact_depths, pii_depth);
			pii_subxact_depths = lappend_int(pii_subxact_depths, pii_forced);
			MemoryContextSwitchTo(old);
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			if (list_length(pii_subxact_depths) >= 2)
			{
				pii_forced = llast_int(pii_subxact_depths);
				pii_depth = list_nth_int(pii_subxact_depths,
										 list_length(pii_subxact_depths) - 2);
			}
			/* FALLTHROUGH */
		case SUBXACT_EVENT_COMMIT_SUB:
			if (list_length(pii_subxact_depths) >= 2)
			{
				pii_subxact_depths = list_delete_last(pii_subxact_depths);
				pii_subxact_depths = list_delete_last(pii_subxact_depths);
			}
			break;
		default:
			break;
	}
}

/* PiiClearPending forgets the statement's masked names */
static void
PiiClearPending(void)
{
	list_free_deep(pii_pending);
	pii_pending = NIL;
	if (pii_pending_role)
		pfree(pii_pending_role);
	pii_pending_role = NULL;
	pii_pending_member = false;
	pii_pending_denied = false;
}

/* PiiNameCompare orders qualified names for the NOTICE */
static int
PiiNameCompare(const ListCell *a, const ListCell *b)
{
	return strcmp((const char *) lfirst(a), (const char *) lfirst(b));
}

/*
 * PiiEmitPending sends the statement's NOTICE naming the masked features,
 * sorted, and forgets them.  The list is taken first, so an error while
 * reporting cannot emit it twice.
 */
static void
PiiEmitPending(void)
{
	StringInfoData names;
	char	   *role;
	List	   *pending = pii_pending;
	bool		member = pii_pending_member;
	bool		denied = pii_pending_denied;
	ListCell   *lc;

	if (pending == NIL)
	{
		PiiClearPending();
		return;
	}
	role = pii_pending_role ? pstrdup(pii_pending_role) : pstrdup("?");
	pii_pending = NIL;
	PiiClearPending();
	list_sort(pending, PiiNameCompare);
	initStringInfo(&names);
	foreach(lc, pending)
		appendStringInfo(&names, "%s%s", names.len ? ", " : "", (char *) lfirst(lc));
	list_free_deep(pending);
	PiiReport(role, names.data, member, denied);
}

/*
 * PiiReport raises the NOTICE: a member of featstore_pii_reader is masked
 * only where it may not SELECT a feature's column; a non-member's hint says
 * what it needs besides the membership when that was so too.
 */
static void
PiiReport(const char *role, const char *names, bool member, bool denied)
{
	const char *quoted = quote_identifier(role);

	if (member)
		ereport(NOTICE,
				(errmsg("PII features masked for role %s: %s", role, names),
				 errdetail("The role may not SELECT their columns of the feature group's table, so featstore returns NULL in place of their values."),
				 errhint("The owner of the table can GRANT SELECT on those columns to %s.", quoted)));
	else if (denied)
		ereport(NOTICE,
				(errmsg("PII features masked for role %s: %s", role, names),
				 errdetail("The role is not a member of " PII_READER_ROLE " and may not SELECT some of their columns, so featstore returns NULL in place of their values."),
				 errhint("A member of " PII_READER_ROLE " that may SELECT their columns sees them: GRANT " PII_READER_ROLE " TO %s, and GRANT SELECT on the columns.",
						 quoted)));
	else
		ereport(NOTICE,
				(errmsg("PII features masked for role %s: %s", role, names),
				 errdetail("The role is not a member of " PII_READER_ROLE ", so featstore returns NULL in place of their values."),
				 errhint("A member of " PII_READER_ROLE " sees them: GRANT " PII_READER_ROLE " TO %s.",
						 quoted)));
}
