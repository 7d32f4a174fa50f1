/*
 * ddl_parser.c
 *		Parser for the featstore statement language.
 *
 * PostgreSQL has no parser hook, so featstore statements arrive as text
 * through DO LANGUAGE featstore and featstore.exec().  They are lexed with
 * PostgreSQL's own scanner, so quoting, dollar quotes, comments and case
 * folding behave exactly as in SQL, and parsed by recursive descent.  No
 * keyword is reserved: words are recognised by position, and a quoted
 * identifier is never taken for a keyword.
 *
 * The grammar is documented in docs/ddl.md.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "nodes/parsenodes.h"
#include "parser/scanner.h"
#include "parser/gram.h"
#include "utils/builtins.h"

#include "ddl/ddl.h"

typedef struct FsToken
{
	int			code;			/* gram.h token code, a character, or 0 at the end */
	char	   *str;			/* identifier, string or operator text */
	int			location;		/* byte offset in the source */
	int			end;			/* byte offset just past the token */
	bool		quoted;			/* a double-quoted identifier */
} FsToken;

typedef struct FsParser
{
	const char *source;
	FsToken    *tokens;
	int			ntokens;
	int			pos;
} FsParser;

/* The hint for a TTL written without quotes, as TTL 24h or TTL 24 */
#define TTL_QUOTE_HINT "A TTL is a string: write it in quotes, e.g. TTL '24 hours'."
/* The same for a window, as OVER 1h */
#define WINDOW_QUOTE_HINT "A window is a string: write it in quotes, e.g. OVER '1 hour'."
/* The same for a transformation's schedule, as SCHEDULE 1h */
#define SCHEDULE_QUOTE_HINT "A schedule is a string: write it in quotes, e.g. SCHEDULE '1 hour', or write SCHEDULE MANUAL."

/* The same for a freshness SLA and a monitoring period (issue 11) */
#define FRESHNESS_QUOTE_HINT "A freshness SLA is a string: write it in quotes, e.g. FRESHNESS '1 hour', or write FRESHNESS NONE."
#define MONITOR_QUOTE_HINT "A monitoring period is a string: write it in quotes, e.g. MONITOR EVERY '1 day', or write MONITOR NONE."

/* Says whether the parser's current token ends a run of raw text */
typedef bool (*FsTextEnd) (FsParser *p);

/* The aggregates of AS aggregate(...), by name */
typedef struct FsAggName
{
	const char *name;
	FsAggKind	kind;
} FsAggName;

static const FsAggName agg_names[] = {
	{"count", FS_AGG_COUNT},
	{"sum", FS_AGG_SUM},
	{"avg", FS_AGG_AVG},
	{"min", FS_AGG_MIN},
	{"max", FS_AGG_MAX},
	{"stddev_samp", FS_AGG_STDDEV_SAMP},
	{"stddev_pop", FS_AGG_STDDEV_POP},
	{"var_samp", FS_AGG_VAR_SAMP},
	{"var_pop", FS_AGG_VAR_POP},
	{"last", FS_AGG_LAST},
};

#define AGG_LIST_HINT "The aggregates are count(*), count(col), count(DISTINCT col), sum, avg, min, max, stddev_samp, stddev_pop, var_samp, var_pop and last(col)."

/* An empty keyword list: the core scanner then returns every word as IDENT */
static const char empty_kw_string[] = "";
static const uint16 empty_kw_offsets[1] = {0};

static int
EmptyKeywordHash(const void *key, size_t keylen)
{
	return 0;
}

static const ScanKeywordList empty_keywords = {
	empty_kw_string, empty_kw_offsets, EmptyKeywordHash, 0, 0
};
static const uint16 empty_keyword_tokens[1] = {0};

static void Tokenize(FsParser *p);
static void TokenizeErrorCallback(void *arg);
static FsStatement *ParseStatement(FsParser *p);
static FsStatement *ParseCreate(FsParser *p);
static FsStatement *ParseAlter(FsParser *p);
static FsStatement *ParseDrop(FsParser *p);
static FsStatement *ParseCreateTrainingSet(FsParser *p, FsStatement *stmt);
static void ParseTrainingSetSpine(FsParser *p, FsTrainingSetDef *def);
static void ParseTrainingSetOptions(FsParser *p, FsTrainingSetDef *def);
static FsStatement *ParseDropTrainingSet(FsParser *p, FsStatement *stmt);
static FsStatement *ParseBackfillStatement(FsParser *p);
static FsBackfillDef *ParseBackfill(FsParser *p, int location);
static FsEntityDef *ParseCreateEntity(FsParser *p, int location);
static FsGroupDef *ParseCreateGroup(FsParser *p);
static void ParseGroupSource(FsParser *p, FsGroupDef *def);
static void ParseGroupQuery(FsParser *p, FsGroupDef *def);
static char *ParseQueryText(FsParser *p, int *location);
static bool QueryEnds(FsParser *p);
static void ParseGroupOptions(FsParser *p, FsGroupDef *def);
static void ParsePartitionBy(FsParser *p, FsGroupDef *def);
static FsServiceDef *ParseCreateService(FsParser *p, bool or_replace);
static List *ParseAlterGroupActions(FsParser *p);
static FsFeatureDef *ParseFeatureTarget(FsParser *p, FsAlterAction *act);
static void ParseAlterFeature(FsParser *p, FsAlterAction *act);
static bool ParseAlterFeaturePii(FsParser *p, FsAlterAction *act);
static void ParsePiiTag(FsParser *p, FsFeatureDef *def);
static void ParseAlterGroupSet(FsParser *p, FsAlterAction *act);
static bool ParseFreshnessOrMonitor(FsParser *p, FsGroupDef *def, bool *seen_freshness,
									bool *seen_monitor);
static void ParseSetFreshness(FsParser *p, FsAlterAction *act);
static void ParseSetMonitor(FsParser *p, FsAlterAction *act);
static List *ParseMonitorSettings(FsParser *p, bool with_values);
static char *ParseNumber(FsParser *p, const char *what);
static FsMonitorBaseline *ParseMonitorBaseline(FsParser *p);
static FsFeatureDef *ParseFeatureDef(FsParser *p, bool computed);
static void ParseComputation(FsParser *p, FsFeatureDef *def);
static void ParseAggregate(FsParser *p, FsFeatureDef *def, FsAggKind kind);
static void ParseDefaultLiteral(FsParser *p, FsFeatureDef *def);
static FsAggKind LookupAggregate(FsParser *p);
static char *ParseTextUntil(FsParser *p, FsTextEnd at_end, const char *what,
							int *location);
static bool TypeEnds(FsParser *p);
static bool WhereEnds(FsParser *p);
static bool ExpressionEnds(FsParser *p);
static char *ParseQuotedDuration(FsParser *p, const char *what, const char *hint);
static FsFeatureRef *ParseFeatureRef(FsParser *p);
static char *ParseTypeText(FsParser *p, int *location);
static char *ParseName(FsParser *p, const char *what);
static char *ParseString(FsParser *p, const char *what);
static List *ParseStringList(FsParser *p, const char *what);
static bool ParseIfExists(FsParser *p, bool not);
static bool ParseDescriptionOrOwner(FsParser *p, char **description, char **owner);
static FsToken *Peek(FsParser *p);
static bool PeekWord(FsParser *p, const char *word);
static bool PeekWordAt(FsParser *p, int offset, const char *word);
static bool AcceptWord(FsParser *p, const char *word);
static bool AcceptChar(FsParser *p, char c);
static bool PeekCharAt(FsParser *p, int offset, char c);
static void ExpectWord(FsParser *p, const char *word);
static void ExpectChar(FsParser *p, char c);
static void SyntaxError(FsParser *p, const char *expected) pg_attribute_noreturn();
static void RedundantOption(FsParser *p, int location, const char *option) pg_attribute_noreturn();
static char *TokenText(FsParser *p, FsToken *t);

/* DdlParse parses a block of featstore statements into a List of FsStatement */
List *
DdlParse(const char *source)
{
	FsParser	p;
	List	   *stmts = NIL;

	p.source = source;
	Tokenize(&p);

	for (;;)
	{
		FsStatement *stmt;
		FsToken    *end;
		int			len;

		while (AcceptChar(&p, ';'))
			;
		if (Peek(&p)->code == 0)
			break;
		stmt = ParseStatement(&p);
		end = Peek(&p);
		if (end->code != ';' && end->code != 0)
			SyntaxError(&p, "\";\" or the end of the statement");

		len = end->location - stmt->location;
		while (len > 0 && isspace((unsigned char) source[stmt->location + len - 1]))
			len--;
		stmt->text = pnstrdup(source + stmt->location, len);
		stmts = lappend(stmts, stmt);
	}
	return stmts;
}

/* DdlCharPosition converts a byte offset in source into a 1-based character position */
int
DdlCharPosition(const char *source, int byte_offset)
{
	return pg_mbstrlen_with_len(source, byte_offset) + 1;
}

/*
 * Tokenize runs the core scanner over the whole block.  Reading every token
 * first gives the parser free lookahead; blocks are small.
 */
static void
Tokenize(FsParser *p)
{
	core_yy_extra_type yyext;
	core_yyscan_t scanner;
	ErrorContextCallback errcallback;
	int			allocated = 64;

	p->tokens = palloc(sizeof(FsToken) * allocated);
	p->ntokens = 0;
	p->pos = 0;
	scanner = scanner_init(p->source, &yyext, &empty_keywords, empty_keyword_tokens);
	errcallback.callback = TokenizeErrorCallback;
	errcallback.arg = p;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	for (;;)
	{
		core_YYSTYPE lval;
		YYLTYPE		loc;
		int			code = core_yylex(&lval, &loc, scanner);
		FsToken    *t;

		if (p->ntokens >= allocated)
		{
			allocated *= 2;
			p->tokens = repalloc(p->tokens, sizeof(FsToken) * allocated);
		}
		t = &p->tokens[p->ntokens++];
		t->code = code;
		t->location = code == 0 ? (int) strlen(p->source) : loc;
		/* the scanner ends the current token with a NUL, as plpgsql relies on */
		t->end = code == 0 ? t->location : loc + (int) strlen(yyext.scanbuf + loc);
		t->str = NULL;
		t->quoted = false;

		switch (code)
		{
			case 0:
				break;
			case IDENT:
				t->str = pstrdup(lval.str);
				t->quoted = (p->source[loc] == '"');
				break;
			case SCONST:
			case FCONST:
			case Op:
			case BCONST:
			case XCONST:
				t->str = pstrdup(lval.str);
				break;
			case ICONST:
				t->str = psprintf("%d", lval.ival);
				break;
			case UIDENT:
			case USCONST:
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("Unicode escapes are not supported in featstore statements"),
						 errhint("Write the characters directly, or use a standard string literal."),
						 errposition(DdlCharPosition(p->source, loc))));
				break;
			default:
				break;
		}
		if (code == 0)
			break;
	}
	error_context_stack = errcallback.previous;
	scanner_finish(scanner);
}

/*
 * TokenizeErrorCallback adds a hint when the scanner refuses a number right
 * after TTL (or TTL INTERVAL) or OVER: TTL 24h is a number with trailing
 * junk to PostgreSQL's scanner, and the fix is to quote the duration.
 */
static void
TokenizeErrorCallback(void *arg)
{
	FsParser   *p = (FsParser *) arg;
	int			n = p->ntokens;
	FsToken    *last = n >= 1 ? &p->tokens[n - 1] : NULL;
	FsToken    *before = n >= 2 ? &p->tokens[n - 2] : NULL;
	int			pos = geterrposition();
	int			offset = 0;

	if (last == NULL || last->code != IDENT || last->quoted || pos <= 0)
		return;
	/* the scanner's position counts characters from 1 */
	for (int i = 1; i < pos && p->source[offset] != '\0'; i++)
		offset += pg_mblen(p->source + offset);
	if (!isdigit((unsigned char) p->source[offset]) && p->source[offset] != '.')
		return;
	if (strcmp(last->str, "ttl") == 0 ||
		(strcmp(last->str, "interval") == 0 && before != NULL &&
		 before->code == IDENT && !before->quoted && strcmp(before->str, "ttl") == 0))
		errhint("%s", TTL_QUOTE_HINT);
	else if (strcmp(last->str, "over") == 0)
		errhint("%s", WINDOW_QUOTE_HINT);
	else if (strcmp(last->str, "schedule") == 0)
		errhint("%s", SCHEDULE_QUOTE_HINT);
	else if (strcmp(last->str, "freshness") == 0)
		errhint("%s", FRESHNESS_QUOTE_HINT);
	else if (strcmp(last->str, "every") == 0)
		errhint("%s", MONITOR_QUOTE_HINT);
}

/* ParseStatement parses one statement, up to but excluding its ';' */
static FsStatement *
ParseStatement(FsParser *p)
{
	if (PeekWord(p, "create"))
		return ParseCreate(p);
	if (PeekWord(p, "alter"))
		return ParseAlter(p);
	if (PeekWord(p, "drop"))
		return ParseDrop(p);
	if (PeekWord(p, "backfill") || PeekWord(p, "validate") || PeekWord(p, "promote") ||
		PeekWord(p, "abort"))
		return ParseBackfillStatement(p);
	SyntaxError(p, "CREATE, ALTER, DROP, BACKFILL, VALIDATE, PROMOTE or ABORT");
}

/* ParseCreate parses CREATE ENTITY, CREATE FEATURE GROUP and CREATE FEATURE SERVICE */
static FsStatement *
ParseCreate(FsParser *p)
{
	FsStatement *stmt = palloc0(sizeof(FsStatement));
	bool		or_replace = false;

	stmt->location = Peek(p)->location;
	ExpectWord(p, "create");
	if (AcceptWord(p, "or"))
	{
		ExpectWord(p, "replace");
		or_replace = true;
	}
	if (!or_replace && AcceptWord(p, "entity"))
	{
		stmt->kind = FS_STMT_CREATE_ENTITY;
		stmt->entity = ParseCreateEntity(p, stmt->location);
		return stmt;
	}
	if (!or_replace && PeekWord(p, "training"))
		return ParseCreateTrainingSet(p, stmt);
	if (!AcceptWord(p, "feature"))
		SyntaxError(p, or_replace ? "FEATURE SERVICE" :
					"ENTITY, FEATURE GROUP, FEATURE SERVICE or TRAINING SET");
	if (!or_replace && AcceptWord(p, "group"))
	{
		stmt->kind = FS_STMT_CREATE_GROUP;
		stmt->group = ParseCreateGroup(p);
		return stmt;
	}
	if (AcceptWord(p, "service"))
	{
		stmt->kind = FS_STMT_CREATE_SERVICE;
		stmt->service = ParseCreateService(p, or_replace);
		return stmt;
	}
	SyntaxError(p, or_replace ? "SERVICE" : "GROUP or SERVICE");
}

/* ParseCreateEntity parses: [IF NOT EXISTS] name (col type, ...) [DESCRIPTION s] [OWNER s] */
static FsEntityDef *
ParseCreateEntity(FsParser *p, int location)
{
	FsEntityDef *def = palloc0(sizeof(FsEntityDef));

	def->location = location;
	def->if_not_exists = ParseIfExists(p, true);
	def->location = Peek(p)->location;
	def->name = ParseName(p, "an entity name");
	ExpectChar(p, '(');
	do
	{
		FsKeyDef   *key = palloc0(sizeof(FsKeyDef));

		key->location = Peek(p)->location;
		key->name = ParseName(p, "a key column name");
		key->type_text = ParseTypeText(p, &key->location);
		def->keys = lappend(def->keys, key);
	} while (AcceptChar(p, ','));
	ExpectChar(p, ')');

	while (ParseDescriptionOrOwner(p, &def->description, &def->owner))
		;
	return def;
}

/*
 * ParseCreateGroup parses:
 *	[IF NOT EXISTS] [schema.]name ENTITY e [FROM source ... | AS query SCHEDULE ...]
 *	FEATURES (feature, ...) [options]
 * A group with FROM is computed from a source of events, so each of its
 * features says how (AS ...), see ParseGroupSource and ParseComputation.
 * A group with AS is an ordinary group whose rows a scheduled query
 * appends, see ParseGroupQuery.
 */
static FsGroupDef *
ParseCreateGroup(FsParser *p)
{
	FsGroupDef *def = palloc0(sizeof(FsGroupDef));

	def->if_not_exists = ParseIfExists(p, true);
	def->location = Peek(p)->location;
	def->schema_location = -1;
	def->name = ParseName(p, "a feature group name");
	if (AcceptChar(p, '.'))
	{
		def->schema_name = def->name;
		def->schema_location = def->location;
		def->location = Peek(p)->location;
		def->name = ParseName(p, "a feature group name");
	}
	ExpectWord(p, "entity");
	def->entity_location = Peek(p)->location;
	def->entity_name = ParseName(p, "an entity name");
	if (PeekWord(p, "from"))
		ParseGroupSource(p, def);
	else if (PeekWord(p, "as"))
		ParseGroupQuery(p, def);
	if (!PeekWord(p, "features"))
		SyntaxError(p, def->source_name ? "CREATED, WHERE, WINDOW END EXCLUSIVE or FEATURES" :
					def->query_text ? "FEATURES" : "FROM, AS or FEATURES");
	ExpectWord(p, "features");
	ExpectChar(p, '(');
	do
	{
		def->features = lappend(def->features,
								ParseFeatureDef(p, def->source_name != NULL));
	} while (AcceptChar(p, ','));
	ExpectChar(p, ')');
	ParseGroupOptions(p, def);
	return def;
}

/*
 * ParseGroupSource parses the clauses of a group computed from events, in
 * this order:
 *	FROM [schema.]source TIMESTAMP col [CREATED col] [WHERE condition]
 *	[WINDOW END EXCLUSIVE]
 * The condition is kept as text; the registry analyses it against the
 * source, which the parser cannot see.
 */
static void
ParseGroupSource(FsParser *p, FsGroupDef *def)
{
	ExpectWord(p, "from");
	def->source_location = Peek(p)->location;
	def->source_name = ParseName(p, "a source table name");
	if (AcceptChar(p, '.'))
	{
		def->source_schema = def->source_name;
		def->source_name = ParseName(p, "a source table name");
	}
	ExpectWord(p, "timestamp");
	def->timestamp_location = Peek(p)->location;
	def->timestamp_column = ParseName(p, "the source's event time column");
	if (AcceptWord(p, "created"))
	{
		def->created_location = Peek(p)->location;
		def->created_column = ParseName(p, "the source's creation time column");
	}
	if (AcceptWord(p, "where"))
		def->where_text = ParseTextUntil(p, WhereEnds, "a condition",
										 &def->where_location);
	if (AcceptWord(p, "window"))
	{
		ExpectWord(p, "end");
		ExpectWord(p, "exclusive");
		def->window_end_exclusive = true;
	}
}

/*
 * ParseGroupQuery parses the clauses of a scheduled transformation:
 *	AS query SCHEDULE 'interval' | AS query SCHEDULE MANUAL
 * The query is kept as text up to SCHEDULE (see QueryEnds); the registry
 * parses and analyses it, and the schedule, as a TTL is.
 */
static void
ParseGroupQuery(FsParser *p, FsGroupDef *def)
{
	ExpectWord(p, "as");
	def->query_text = ParseQueryText(p, &def->query_location);
	if (!PeekWord(p, "schedule"))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("syntax error at or near \"%s\"", TokenText(p, Peek(p))),
				 errdetail("Expected SCHEDULE after the query of feature group \"%s\".", def->name),
				 errhint("End the query with SCHEDULE '1 hour' (run by featstore's worker) or SCHEDULE MANUAL (run by featstore.refresh(), e.g. from pg_cron)."),
				 errposition(DdlCharPosition(p->source, Peek(p)->location))));
	ExpectWord(p, "schedule");
	def->schedule_location = Peek(p)->location;
	if (AcceptWord(p, "manual"))
		def->schedule_manual = true;
	else
		def->schedule_text = ParseQuotedDuration(p, "a schedule string such as '1 hour', or MANUAL",
												 SCHEDULE_QUOTE_HINT);
}

/*
 * ParseQueryText collects the source text of a transformation's query: the
 * tokens up to where QueryEnds at parenthesis depth 0, or the end of the
 * statement.  Unlike ParseTextUntil, a "," or ")" does not end it.
 */
static char *
ParseQueryText(FsParser *p, int *location)
{
	int			depth = 0;
	int			first = p->pos;
	int			start = Peek(p)->location;

	while (Peek(p)->code != 0 && Peek(p)->code != ';' &&
		   !(depth == 0 && QueryEnds(p)))
	{
		if (Peek(p)->code == '(' || Peek(p)->code == '[')
			depth++;
		else if (Peek(p)->code == ')' || Peek(p)->code == ']')
			depth--;
		p->pos++;
	}
	if (p->pos == first)
		SyntaxError(p, "a query");
	*location = start;
	/* up to the end of the last token, so that a trailing comment is left out */
	return pnstrdup(p->source + start, p->tokens[p->pos - 1].end - start);
}

/*
 * QueryEnds: a transformation's query ends at SCHEDULE at depth 0.  It
 * also stops at FEATURES followed by "(", which no query has at depth 0,
 * so that a forgotten SCHEDULE is reported there and not at the end.
 */
static bool
QueryEnds(FsParser *p)
{
	return PeekWord(p, "schedule") ||
		(PeekWord(p, "features") && PeekCharAt(p, 1, '('));
}

/*
 * ParseGroupOptions parses the options after FEATURES (...): TTL,
 * ONLINE | OFFLINE, TAGS, FRESHNESS, MONITOR, OWNER and DESCRIPTION, in any
 * order, each at most once.  A group computed from a source takes no TTL: each feature's window
 * bounds it.
 */
static void
ParseGroupOptions(FsParser *p, FsGroupDef *def)
{
	bool		seen_online = false;
	bool		seen_tags = false;
	bool		seen_ttl = false;
	bool		seen_freshness = false;
	bool		seen_monitor = false;

	for (;;)
	{
		int			loc = Peek(p)->location;

		if (PeekWord(p, "ttl") && def->source_name)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("a feature group defined FROM a source has no TTL"),
					 errhint("Each feature's OVER window bounds the events it counts; leave out TTL."),
					 errposition(DdlCharPosition(p->source, loc))));
		if (AcceptWord(p, "ttl"))
		{
			if (seen_ttl)
				RedundantOption(p, loc, "TTL");
			seen_ttl = true;
			def->ttl_location = Peek(p)->location;
			if (AcceptWord(p, "none"))
				def->has_ttl = false;
			else
			{
				AcceptWord(p, "interval");
				def->ttl_location = Peek(p)->location;
				def->ttl_text = ParseQuotedDuration(p, "a TTL string such as '24 hours', or NONE",
													TTL_QUOTE_HINT);
				def->has_ttl = true;
			}
		}
		else if (PeekWord(p, "online") || PeekWord(p, "offline"))
		{
			if (seen_online)
				RedundantOption(p, loc, "ONLINE/OFFLINE");
			seen_online = true;
			def->online_location = loc;
			def->online = AcceptWord(p, "online");
			if (!def->online)
				ExpectWord(p, "offline");
		}
		else if (AcceptWord(p, "tags"))
		{
			if (seen_tags)
				RedundantOption(p, loc, "TAGS");
			seen_tags = true;
			def->tags = ParseStringList(p, "a tag string");
		}
		else if (PeekWord(p, "partition"))
		{
			if (def->partition_method != 0)
				RedundantOption(p, loc, "PARTITION BY");
			ParsePartitionBy(p, def);
		}
		else if (!ParseFreshnessOrMonitor(p, def, &seen_freshness, &seen_monitor) &&
				 !ParseDescriptionOrOwner(p, &def->description, &def->owner))
			break;
	}
}

/*
 * ParsePartitionBy parses a group's partitioned history (issue 14):
 *	PARTITION BY RANGE ( event_timestamp ) [ INTERVAL 'duration' ]
 *	PARTITION BY HASH ( key column, ... ) [ PARTITIONS n ]
 *		[ ON SERVERS ( server, ... ) ]
 * The columns, the duration and the count are checked by the registry
 * (registry_partition.c), which knows the entity's keys.
 */
static void
ParsePartitionBy(FsParser *p, FsGroupDef *def)
{
	def->partition_location = Peek(p)->location;
	ExpectWord(p, "partition");
	ExpectWord(p, "by");
	if (AcceptWord(p, "range"))
		def->partition_method = 'r';
	else if (AcceptWord(p, "hash"))
		def->partition_method = 'h';
	else
		SyntaxError(p, "RANGE or HASH after PARTITION BY");
	ExpectChar(p, '(');
	def->partition_columns_location = Peek(p)->location;
	do
		def->partition_columns = lappend(def->partition_columns,
										 ParseName(p, "a column name"));
	while (AcceptChar(p, ','));
	ExpectChar(p, ')');
	if (def->partition_method == 'r' && AcceptWord(p, "interval"))
	{
		def->partition_interval_location = Peek(p)->location;
		def->partition_interval_text =
			ParseQuotedDuration(p, "a partition interval string such as '1 day'",
								"A partition interval is a string: write it in quotes, e.g. INTERVAL '1 day'.");
	}
	else if (def->partition_method == 'h' && AcceptWord(p, "partitions"))
	{
		def->partitions_location = Peek(p)->location;
		def->partitions_text = ParseNumber(p, "a number of partitions");
	}
	if (PeekWord(p, "on"))
	{
		def->shard_servers_location = Peek(p)->location;
		ExpectWord(p, "on");
		ExpectWord(p, "servers");
		ExpectChar(p, '(');
		do
			def->shard_servers = lappend(def->shard_servers,
										 ParseName(p, "a foreign server name"));
		while (AcceptChar(p, ','));
		ExpectChar(p, ')');
	}
}

/*
 * ParseFreshnessOrMonitor accepts a group's monitoring options (issue 11):
 *	FRESHNESS 'duration' | FRESHNESS NONE
 *	MONITOR EVERY 'duration' | MONITOR NONE
 * The durations are kept as written; the registry parses them as a TTL is.
 */
static bool
ParseFreshnessOrMonitor(FsParser *p, FsGroupDef *def, bool *seen_freshness,
						bool *seen_monitor)
{
	int			loc = Peek(p)->location;

	if (AcceptWord(p, "freshness"))
	{
		if (*seen_freshness)
			RedundantOption(p, loc, "FRESHNESS");
		*seen_freshness = def->has_freshness = true;
		def->freshness_location = Peek(p)->location;
		if (!AcceptWord(p, "none"))
			def->freshness_text = ParseQuotedDuration(p, "a freshness string such as '1 hour', or NONE",
													  FRESHNESS_QUOTE_HINT);
		return true;
	}
	if (!AcceptWord(p, "monitor"))
		return false;
	if (*seen_monitor)
		RedundantOption(p, loc, "MONITOR");
	*seen_monitor = def->has_monitor_every = true;
	def->monitor_location = Peek(p)->location;
	if (AcceptWord(p, "none"))
		return true;
	if (!AcceptWord(p, "every"))
		SyntaxError(p, "EVERY or NONE after MONITOR");
	def->monitor_location = Peek(p)->location;
	def->monitor_every_text = ParseQuotedDuration(p, "a monitoring period such as '1 day'",
												  MONITOR_QUOTE_HINT);
	return true;
}

/*
 * ParseFeatureDef parses:
 *	name type [AS ...] ['description' | DESCRIPTION 'description'] [TAGS (...)] [PII]
 * AS ... is required when computed (a group FROM a source) and refused
 * otherwise, see ParseComputation.
 */
static FsFeatureDef *
ParseFeatureDef(FsParser *p, bool computed)
{
	FsFeatureDef *def = palloc0(sizeof(FsFeatureDef));

	def->location = Peek(p)->location;
	def->name = ParseName(p, "a feature name");
	def->type_text = ParseTypeText(p, &def->type_location);
	if (computed)
		ParseComputation(p, def);
	else if (PeekWord(p, "as"))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("feature \"%s\" is computed, but its group is not defined FROM a source", def->name),
				 errhint("Features computed AS an aggregate belong to a group defined FROM a source of events, e.g. FROM transactions TIMESTAMP event_time."),
				 errposition(DdlCharPosition(p->source, Peek(p)->location))));
	if (Peek(p)->code == SCONST)
		def->description = ParseString(p, "a description string");
	else if (AcceptWord(p, "description"))
		def->description = ParseString(p, "a description string");
	if (AcceptWord(p, "tags"))
		def->tags = ParseStringList(p, "a tag string");
	ParsePiiTag(p, def);
	return def;
}

/*
 * ParseComputation parses what follows a computed feature's type:
 *	AS aggregate [OVER 'window'] [DEFAULT literal]
 *	AS expression [DEFAULT literal]
 * An aggregate is a known aggregate name followed by "(": anything else is
 * an expression over the group's other features, kept as text for the
 * registry to analyse.
 */
static void
ParseComputation(FsParser *p, FsFeatureDef *def)
{
	FsAggKind	kind;

	if (!PeekWord(p, "as"))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("feature \"%s\" of a group defined FROM a source needs AS", def->name),
				 errhint("Say how the feature is computed from the source, e.g. %s %s AS count(*) OVER '1 hour'.",
						 def->name, def->type_text),
				 errposition(DdlCharPosition(p->source, Peek(p)->location))));
	ExpectWord(p, "as");
	def->agg_location = Peek(p)->location;
	kind = LookupAggregate(p);
	if (kind != FS_AGG_NONE)
		ParseAggregate(p, def, kind);
	else
	{
		def->agg_kind = FS_AGG_EXPRESSION;
		def->expression_text = ParseTextUntil(p, ExpressionEnds,
											  "an aggregate or an expression",
											  &def->agg_location);
		if (PeekWord(p, "over"))
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("expression feature \"%s\" cannot have a window", def->name),
					 errdetail("Only an aggregate takes OVER; an expression is computed from the group's other features."),
					 errhint("%s", AGG_LIST_HINT),
					 errposition(DdlCharPosition(p->source, Peek(p)->location))));
	}
	if (AcceptWord(p, "over"))
	{
		def->window_location = Peek(p)->location;
		def->window_text = ParseQuotedDuration(p, "a window string such as '1 hour'",
											   WINDOW_QUOTE_HINT);
	}
	if (AcceptWord(p, "default"))
		ParseDefaultLiteral(p, def);
}

/*
 * ParseAggregate parses an aggregate's parenthesised argument: * (count
 * only), [DISTINCT (count only)] column.  The argument is one source
 * column, so that the window pass reads it by attribute number.
 */
static void
ParseAggregate(FsParser *p, FsFeatureDef *def, FsAggKind kind)
{
	bool		distinct;
	int			loc;

	p->pos++;					/* the aggregate's name */
	ExpectChar(p, '(');
	def->agg_kind = kind;
	if (kind == FS_AGG_COUNT && AcceptChar(p, '*'))
	{
		def->agg_kind = FS_AGG_COUNT_STAR;
		ExpectChar(p, ')');
		return;
	}
	loc = Peek(p)->location;
	distinct = AcceptWord(p, "distinct");
	if (distinct && kind != FS_AGG_COUNT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("DISTINCT is supported only in count(DISTINCT col)"),
				 errhint("Count the distinct values with count(DISTINCT col)."),
				 errposition(DdlCharPosition(p->source, loc))));
	if (distinct)
		def->agg_kind = FS_AGG_COUNT_DISTINCT;
	def->argument_location = Peek(p)->location;
	def->agg_argument = ParseName(p, kind == FS_AGG_COUNT ? "*, DISTINCT or a source column name" :
								  "a source column name");
	if (!AcceptChar(p, ')'))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("syntax error at or near \"%s\"", TokenText(p, Peek(p))),
				 errdetail("Expected \")\": an aggregate's argument is one column of the source."),
				 errhint("Compute other values in an expression feature over the group's aggregates, e.g. AS a_sum / nullif(a_count, 0)."),
				 errposition(DdlCharPosition(p->source, Peek(p)->location))));
}

/*
 * ParseDefaultLiteral parses the literal of DEFAULT: a string, a number
 * with an optional sign, TRUE or FALSE.  It is kept as written; the
 * registry casts it to the feature's type.
 */
static void
ParseDefaultLiteral(FsParser *p, FsFeatureDef *def)
{
	FsToken    *t = Peek(p);
	int			start = t->location;

	if (t->code == '-' || t->code == '+')
		t = &p->tokens[++p->pos];
	if (t->code == ICONST || t->code == FCONST || t->code == SCONST ||
		(t->code == IDENT && !t->quoted && start == t->location &&
		 (strcmp(t->str, "true") == 0 || strcmp(t->str, "false") == 0)))
		p->pos++;
	else
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("syntax error at or near \"%s\"", TokenText(p, t)),
				 errdetail("Expected a literal after DEFAULT."),
				 errhint("DEFAULT takes a constant such as 0, -1.5, 'none' or true, the value of an empty window."),
				 errposition(DdlCharPosition(p->source, t->location))));
	def->default_location = start;
	def->default_text = pnstrdup(p->source + start, p->tokens[p->pos - 1].end - start);
	def->default_value = t->code == SCONST ? t->str : def->default_text;
}

/*
 * LookupAggregate says which aggregate the current token names, if it is an
 * unquoted aggregate name followed by "(", or FS_AGG_NONE.
 */
static FsAggKind
LookupAggregate(FsParser *p)
{
	FsToken    *t = Peek(p);

	if (t->code != IDENT || t->quoted || !PeekCharAt(p, 1, '('))
		return FS_AGG_NONE;
	for (size_t i = 0; i < lengthof(agg_names); i++)
		if (strcmp(t->str, agg_names[i].name) == 0)
			return agg_names[i].kind;
	return FS_AGG_NONE;
}

/*
 * ParseCreateService parses: name FEATURES (group.feature | group.*, ...)
 * [DESCRIPTION s] [OWNER s]
 */
static FsServiceDef *
ParseCreateService(FsParser *p, bool or_replace)
{
	FsServiceDef *def = palloc0(sizeof(FsServiceDef));

	def->or_replace = or_replace;
	def->location = Peek(p)->location;
	def->name = ParseName(p, "a feature service name");
	ExpectWord(p, "features");
	ExpectChar(p, '(');
	do
	{
		def->members = lappend(def->members, ParseFeatureRef(p));
	} while (AcceptChar(p, ','));
	ExpectChar(p, ')');
	while (ParseDescriptionOrOwner(p, &def->description, &def->owner))
		;
	return def;
}

/* ParseFeatureRef parses group.feature or group.* */
static FsFeatureRef *
ParseFeatureRef(FsParser *p)
{
	FsFeatureRef *ref = palloc0(sizeof(FsFeatureRef));

	ref->location = Peek(p)->location;
	ref->group_name = ParseName(p, "a feature group name");
	if (!AcceptChar(p, '.'))
		SyntaxError(p, "\".\" followed by a feature name or *, as in group.feature or group.*");
	if (AcceptChar(p, '*'))
		ref->feature_name = NULL;
	else
		ref->feature_name = ParseName(p, "a feature name or *");
	return ref;
}

/* ParseAlter parses ALTER ENTITY and ALTER FEATURE GROUP */
static FsStatement *
ParseAlter(FsParser *p)
{
	FsStatement *stmt = palloc0(sizeof(FsStatement));

	stmt->location = Peek(p)->location;
	ExpectWord(p, "alter");
	if (AcceptWord(p, "entity"))
	{
		stmt->kind = FS_STMT_ALTER_ENTITY;
		stmt->name_location = Peek(p)->location;
		stmt->name = ParseName(p, "an entity name");
		do
		{
			int			loc = Peek(p)->location;

			ExpectWord(p, "set");
			if (AcceptWord(p, "description"))
			{
				if (stmt->set_description)
					RedundantOption(p, loc, "DESCRIPTION");
				stmt->set_description = true;
				stmt->description = ParseString(p, "a description string");
			}
			else if (AcceptWord(p, "owner"))
			{
				if (stmt->set_owner)
					RedundantOption(p, loc, "OWNER");
				stmt->set_owner = true;
				stmt->owner = ParseString(p, "an owner string");
			}
			else
				SyntaxError(p, "DESCRIPTION or OWNER");
		} while (AcceptChar(p, ','));
		return stmt;
	}
	ExpectWord(p, "feature");
	ExpectWord(p, "group");
	stmt->kind = FS_STMT_ALTER_GROUP;
	stmt->name_location = Peek(p)->location;
	stmt->name = ParseName(p, "a feature group name");
	stmt->actions = ParseAlterGroupActions(p);
	return stmt;
}

/* ParseFeatureTarget parses the feature name an action names */
static FsFeatureDef *
ParseFeatureTarget(FsParser *p, FsAlterAction *act)
{
	FsFeatureDef *feature = palloc0(sizeof(FsFeatureDef));

	act->location = feature->location = Peek(p)->location;
	feature->name = ParseName(p, "a feature name");
	return feature;
}

/*
 * ParseAlterFeature parses what follows ALTER FEATURE:
 *	name TYPE type | name SET DATA TYPE type
 *	name SET DESCRIPTION s | name SET TAGS (...)
 *	name SET MONITOR ( setting = number, ... ) | name RESET MONITOR ( setting, ... )
 *	name SET PII | name DROP PII
 */
static void
ParseAlterFeature(FsParser *p, FsAlterAction *act)
{
	act->feature = ParseFeatureTarget(p, act);
	if (AcceptWord(p, "type") || (PeekWord(p, "set") && PeekWordAt(p, 1, "data") &&
								  AcceptWord(p, "set") && AcceptWord(p, "data") &&
								  AcceptWord(p, "type")))
	{
		act->kind = FS_ALTER_FEATURE_TYPE;
		act->feature->type_text = ParseTypeText(p, &act->feature->type_location);
		return;
	}
	if (AcceptWord(p, "reset"))
	{
		ExpectWord(p, "monitor");
		act->kind = FS_ALTER_RESET_MONITOR;
		act->settings = ParseMonitorSettings(p, false);
		return;
	}
	if (ParseAlterFeaturePii(p, act))
		return;
	ExpectWord(p, "set");
	if (AcceptWord(p, "monitor"))
	{
		act->kind = FS_ALTER_SET_MONITOR;
		act->settings = ParseMonitorSettings(p, true);
	}
	else if (AcceptWord(p, "description"))
	{
		act->kind = FS_ALTER_FEATURE_DESCRIPTION;
		act->text_value = ParseString(p, "a description string");
	}
	else if (AcceptWord(p, "tags"))
	{
		act->kind = FS_ALTER_FEATURE_TAGS;
		act->tags = ParseStringList(p, "a tag string");
	}
	else
		SyntaxError(p, "TYPE, SET DESCRIPTION, SET TAGS, SET MONITOR, RESET MONITOR, SET PII or DROP PII");
}

/*
 * ParseAlterFeaturePii parses SET PII and DROP PII after ALTER FEATURE name;
 * it returns false, consuming nothing, when neither follows.
 */
static bool
ParseAlterFeaturePii(FsParser *p, FsAlterAction *act)
{
	if (!(PeekWord(p, "set") && PeekWordAt(p, 1, "pii")) && !PeekWord(p, "drop"))
		return false;
	act->kind = FS_ALTER_FEATURE_PII;
	act->bool_value = AcceptWord(p, "set");
	if (!act->bool_value)
		ExpectWord(p, "drop");
	ExpectWord(p, "pii");
	return true;
}

/*
 * ParsePiiTag parses a feature definition's optional PII tag, its last
 * option; a second one is refused as any repeated option is.
 */
static void
ParsePiiTag(FsParser *p, FsFeatureDef *def)
{
	int			loc = Peek(p)->location;

	if (!AcceptWord(p, "pii"))
		return;
	if (PeekWord(p, "pii"))
		RedundantOption(p, Peek(p)->location, "PII");
	def->pii = true;
	def->pii_location = loc;
}

/*
 * ParseAlterGroupSet parses what follows SET in ALTER FEATURE GROUP:
 *	TTL s | TTL NONE | ONLINE | OFFLINE | DESCRIPTION s | OWNER s | TAGS (...)
 */
static void
ParseAlterGroupSet(FsParser *p, FsAlterAction *act)
{
	if (AcceptWord(p, "ttl"))
	{
		act->kind = FS_ALTER_SET_TTL;
		if (!AcceptWord(p, "none"))
		{
			AcceptWord(p, "interval");
			act->location = Peek(p)->location;
			act->text_value = ParseQuotedDuration(p, "a TTL string such as '24 hours', or NONE",
												  TTL_QUOTE_HINT);
		}
	}
	else if (AcceptWord(p, "online"))
	{
		act->kind = FS_ALTER_SET_ONLINE;
		act->bool_value = true;
	}
	else if (AcceptWord(p, "offline"))
	{
		act->kind = FS_ALTER_SET_ONLINE;
		act->bool_value = false;
	}
	else if (AcceptWord(p, "description"))
	{
		act->kind = FS_ALTER_SET_DESCRIPTION;
		act->text_value = ParseString(p, "a description string");
	}
	else if (AcceptWord(p, "owner"))
	{
		act->kind = FS_ALTER_SET_OWNER;
		act->text_value = ParseString(p, "an owner string");
	}
	else if (AcceptWord(p, "tags"))
	{
		act->kind = FS_ALTER_SET_TAGS;
		act->tags = ParseStringList(p, "a tag string");
	}
	else if (AcceptWord(p, "schedule"))
	{
		act->kind = FS_ALTER_SET_SCHEDULE;
		act->location = Peek(p)->location;
		if (!AcceptWord(p, "manual"))
			act->text_value = ParseQuotedDuration(p, "a schedule string such as '1 hour', or MANUAL",
												  SCHEDULE_QUOTE_HINT);
	}
	else if (AcceptWord(p, "freshness"))
		ParseSetFreshness(p, act);
	else if (AcceptWord(p, "monitor"))
		ParseSetMonitor(p, act);
	else if (AcceptWord(p, "retention"))
	{
		act->kind = FS_ALTER_SET_RETENTION;
		act->location = Peek(p)->location;
		act->text_value = ParseQuotedDuration(p, "a retention string such as '400 days'",
											  "A retention is a string: write it in quotes, e.g. SET RETENTION '400 days'.");
	}
	else
		SyntaxError(p, "TTL, ONLINE, OFFLINE, DESCRIPTION, OWNER, TAGS, SCHEDULE, FRESHNESS, MONITOR or RETENTION");
}

/* ParseSetFreshness parses what follows SET FRESHNESS: 'duration' | NONE */
static void
ParseSetFreshness(FsParser *p, FsAlterAction *act)
{
	act->kind = FS_ALTER_SET_FRESHNESS;
	act->location = Peek(p)->location;
	if (!AcceptWord(p, "none"))
		act->text_value = ParseQuotedDuration(p, "a freshness string such as '1 hour', or NONE",
											  FRESHNESS_QUOTE_HINT);
}

/*
 * ParseSetMonitor parses what follows SET MONITOR:
 *	EVERY 'duration' | NONE | ( setting = number, ... ) | BASELINE ...
 */
static void
ParseSetMonitor(FsParser *p, FsAlterAction *act)
{
	if (AcceptWord(p, "every"))
	{
		act->kind = FS_ALTER_SET_MONITOR_EVERY;
		act->location = Peek(p)->location;
		act->text_value = ParseQuotedDuration(p, "a monitoring period such as '1 day'",
											  MONITOR_QUOTE_HINT);
	}
	else if (AcceptWord(p, "none"))
		act->kind = FS_ALTER_SET_MONITOR_EVERY;
	else if (AcceptWord(p, "baseline"))
	{
		act->kind = FS_ALTER_SET_MONITOR_BASELINE;
		act->location = Peek(p)->location;
		act->baseline = ParseMonitorBaseline(p);
	}
	else if (Peek(p)->code == '(')
	{
		act->kind = FS_ALTER_SET_MONITOR;
		act->settings = ParseMonitorSettings(p, true);
	}
	else
		SyntaxError(p, "EVERY, NONE, BASELINE or ( setting = number, ... ) after SET MONITOR");
}

/*
 * ParseMonitorSettings parses ( name = number, ... ), or ( name, ... )
 * without values (RESET MONITOR).  The names and values are checked by
 * the monitor's settings (monitor_settings.c); a name given twice is
 * refused here.
 */
static List *
ParseMonitorSettings(FsParser *p, bool with_values)
{
	List	   *settings = NIL;
	ListCell   *lc;

	ExpectChar(p, '(');
	do
	{
		FsMonitorSetting *ms = palloc0(sizeof(FsMonitorSetting));

		ms->location = Peek(p)->location;
		ms->name = ParseName(p, "a monitor setting name such as psi");
		foreach(lc, settings)
			if (strcmp(((FsMonitorSetting *) lfirst(lc))->name, ms->name) == 0)
				RedundantOption(p, ms->location, ms->name);
		if (with_values)
		{
			ExpectChar(p, '=');
			ms->value_text = ParseNumber(p, "a number");
		}
		settings = lappend(settings, ms);
	} while (AcceptChar(p, ','));
	ExpectChar(p, ')');
	return settings;
}

/* ParseNumber accepts a numeric constant with an optional sign, as written */
static char *
ParseNumber(FsParser *p, const char *what)
{
	FsToken    *t = Peek(p);
	int			start = t->location;

	if (t->code == '-' || t->code == '+')
		t = &p->tokens[p->pos + 1];
	if (t->code != ICONST && t->code != FCONST)
		SyntaxError(p, what);
	p->pos = (int) (t - p->tokens) + 1;
	return pnstrdup(p->source + start, t->end - start);
}

/*
 * ParseMonitorBaseline parses what follows SET MONITOR BASELINE:
 *	n PERIODS | FROM 'timestamptz' TO 'timestamptz' | SPINE 'label'
 */
static FsMonitorBaseline *
ParseMonitorBaseline(FsParser *p)
{
	FsMonitorBaseline *b = palloc0(sizeof(FsMonitorBaseline));

	if (AcceptWord(p, "from"))
	{
		b->from_location = Peek(p)->location;
		b->from_text = ParseString(p, "a timestamp string");
		ExpectWord(p, "to");
		b->to_location = Peek(p)->location;
		b->to_text = ParseString(p, "a timestamp string");
	}
	else if (AcceptWord(p, "spine"))
		b->label = ParseString(p, "a spine label string");
	else if (Peek(p)->code == ICONST)
	{
		/* the scanner's ICONST fits an int; a larger number is an FCONST */
		b->periods = atoi(Peek(p)->str);
		b->periods_text = ParseNumber(p, "a number of periods");
		ExpectWord(p, "periods");
	}
	else
		SyntaxError(p, "n PERIODS, FROM 'timestamp' TO 'timestamp' or SPINE 'label' after SET MONITOR BASELINE");
	return b;
}

/*
 * ParseAlterGroupActions parses a comma-separated list of:
 *	ADD FEATURE feature
 *	DEPRECATE FEATURE name
 *	ALTER FEATURE name TYPE type | SET DESCRIPTION s | SET TAGS (...)
 *	SET TTL s | SET TTL NONE | SET ONLINE | SET OFFLINE
 *	SET DESCRIPTION s | SET OWNER s | SET TAGS (...)
 *	SET FRESHNESS s | SET FRESHNESS NONE
 *	SET MONITOR EVERY s | SET MONITOR NONE | SET MONITOR ( setting = number, ... )
 *	SET MONITOR BASELINE ... | RESET MONITOR ( setting, ... )
 */
static List *
ParseAlterGroupActions(FsParser *p)
{
	List	   *actions = NIL;

	do
	{
		FsAlterAction *act = palloc0(sizeof(FsAlterAction));

		act->location = Peek(p)->location;
		if (AcceptWord(p, "add"))
		{
			ExpectWord(p, "feature");
			act->kind = FS_ALTER_ADD_FEATURE;
			act->feature = ParseFeatureDef(p, false);
		}
		else if (AcceptWord(p, "deprecate"))
		{
			ExpectWord(p, "feature");
			act->kind = FS_ALTER_DEPRECATE_FEATURE;
			act->feature = ParseFeatureTarget(p, act);
		}
		else if (AcceptWord(p, "alter"))
		{
			ExpectWord(p, "feature");
			ParseAlterFeature(p, act);
		}
		else if (AcceptWord(p, "set"))
			ParseAlterGroupSet(p, act);
		else if (AcceptWord(p, "reset"))
		{
			ExpectWord(p, "monitor");
			act->kind = FS_ALTER_RESET_MONITOR;
			act->settings = ParseMonitorSettings(p, false);
		}
		else if (AcceptWord(p, "drop"))
		{
			ExpectWord(p, "retention");
			act->kind = FS_ALTER_SET_RETENTION;	/* text_value NULL: none */
		}
		else
			SyntaxError(p, "ADD FEATURE, DEPRECATE FEATURE, ALTER FEATURE, SET, RESET or DROP RETENTION");
		actions = lappend(actions, act);
	} while (AcceptChar(p, ','));
	return actions;
}

/* ParseDrop parses DROP ENTITY, DROP FEATURE GROUP and DROP FEATURE SERVICE */
static FsStatement *
ParseDrop(FsParser *p)
{
	FsStatement *stmt = palloc0(sizeof(FsStatement));
	bool		allow_cascade = true;

	stmt->location = Peek(p)->location;
	ExpectWord(p, "drop");
	if (PeekWord(p, "training"))
		return ParseDropTrainingSet(p, stmt);
	if (AcceptWord(p, "entity"))
		stmt->kind = FS_STMT_DROP_ENTITY;
	else
	{
		ExpectWord(p, "feature");
		if (AcceptWord(p, "group"))
			stmt->kind = FS_STMT_DROP_GROUP;
		else if (AcceptWord(p, "service"))
		{
			stmt->kind = FS_STMT_DROP_SERVICE;
			allow_cascade = false;
		}
		else
			SyntaxError(p, "GROUP or SERVICE");
	}
	stmt->missing_ok = ParseIfExists(p, false);
	stmt->name_location = Peek(p)->location;
	stmt->name = ParseName(p, "a name");
	if (allow_cascade)
	{
		if (AcceptWord(p, "cascade"))
			stmt->cascade = true;
		else
			AcceptWord(p, "restrict");
	}
	return stmt;
}

/*
 * ParseCreateTrainingSet parses (after CREATE):
 *	TRAINING SET [schema.]name FOR SERVICE service FROM spine
 *	[AS OF 'timestamptz'] [STRICT] [DESCRIPTION s] [OWNER s] [TAGS (...)]
 * The options come in any order, each at most once.
 */
static FsStatement *
ParseCreateTrainingSet(FsParser *p, FsStatement *stmt)
{
	FsTrainingSetDef *def = palloc0(sizeof(FsTrainingSetDef));

	ExpectWord(p, "training");
	ExpectWord(p, "set");
	stmt->kind = FS_STMT_CREATE_TRAINING_SET;
	stmt->training_set = def;
	def->location = Peek(p)->location;
	def->as_of_location = -1;
	def->name = ParseName(p, "a training set name");
	if (AcceptChar(p, '.'))
	{
		def->schema_name = def->name;
		def->location = Peek(p)->location;
		def->name = ParseName(p, "a training set name");
	}
	ExpectWord(p, "for");
	ExpectWord(p, "service");
	def->service_location = Peek(p)->location;
	def->service_name = ParseName(p, "a feature service name");
	ExpectWord(p, "from");
	ParseTrainingSetSpine(p, def);
	ParseTrainingSetOptions(p, def);
	return stmt;
}

/*
 * ParseTrainingSetSpine parses a training set's spine: a [schema.]name,
 * kept quoted so that pit_join's spine rules read it back as written, or a
 * parenthesised query, kept as the text inside the parentheses.
 */
static void
ParseTrainingSetSpine(FsParser *p, FsTrainingSetDef *def)
{
	def->spine_location = Peek(p)->location;
	if (AcceptChar(p, '('))
	{
		int			depth = 1;
		int			first = p->pos;

		while (Peek(p)->code != 0 && depth > 0)
		{
			if (Peek(p)->code == '(')
				depth++;
			else if (Peek(p)->code == ')')
				depth--;
			if (depth > 0)
				p->pos++;
		}
		if (p->pos == first)
			SyntaxError(p, "a query");
		def->spine = pnstrdup(p->source + p->tokens[first].location,
							  p->tokens[p->pos - 1].end - p->tokens[first].location);
		ExpectChar(p, ')');
		return;
	}
	def->spine = pstrdup(quote_identifier(ParseName(p, "a spine table or view name, or a query in parentheses")));
	if (AcceptChar(p, '.'))
		def->spine = psprintf("%s.%s", def->spine,
							  quote_identifier(ParseName(p, "a spine table or view name")));
}

/* ParseTrainingSetOptions parses AS OF, STRICT, DESCRIPTION, OWNER and TAGS */
static void
ParseTrainingSetOptions(FsParser *p, FsTrainingSetDef *def)
{
	bool		seen_tags = false;

	for (;;)
	{
		int			loc = Peek(p)->location;

		if (AcceptWord(p, "as"))
		{
			ExpectWord(p, "of");
			if (def->as_of_text)
				RedundantOption(p, loc, "AS OF");
			def->as_of_location = Peek(p)->location;
			def->as_of_text = ParseString(p, "a timestamp string such as '2026-11-20 00:00+00'");
		}
		else if (AcceptWord(p, "strict"))
		{
			if (def->strict)
				RedundantOption(p, loc, "STRICT");
			def->strict = true;
		}
		else if (AcceptWord(p, "tags"))
		{
			if (seen_tags)
				RedundantOption(p, loc, "TAGS");
			seen_tags = true;
			def->tags = ParseStringList(p, "a tag string");
		}
		else if (!ParseDescriptionOrOwner(p, &def->description, &def->owner))
			break;
	}
}

/* ParseDropTrainingSet parses (after DROP): TRAINING SET [IF EXISTS] name [CASCADE | RESTRICT] */
static FsStatement *
ParseDropTrainingSet(FsParser *p, FsStatement *stmt)
{
	ExpectWord(p, "training");
	ExpectWord(p, "set");
	stmt->kind = FS_STMT_DROP_TRAINING_SET;
	stmt->missing_ok = ParseIfExists(p, false);
	stmt->name_location = Peek(p)->location;
	stmt->name = ParseName(p, "a training set name");
	if (AcceptWord(p, "cascade"))
		stmt->cascade = true;
	else
		AcceptWord(p, "restrict");
	return stmt;
}

/*
 * ParseBackfillStatement parses the backfill statements (issue 12):
 *	BACKFILL FEATURE GROUP g AS name FROM 'timestamptz' TO 'timestamptz'
 *	VALIDATE BACKFILL name [WITH ( threshold = number, ... )]
 *	PROMOTE BACKFILL name [FORCE]
 *	ABORT BACKFILL name
 */
static FsStatement *
ParseBackfillStatement(FsParser *p)
{
	FsStatement *stmt = palloc0(sizeof(FsStatement));

	stmt->location = Peek(p)->location;
	if (AcceptWord(p, "backfill"))
	{
		stmt->kind = FS_STMT_BACKFILL;
		stmt->backfill = ParseBackfill(p, stmt->location);
		return stmt;
	}
	if (AcceptWord(p, "validate"))
		stmt->kind = FS_STMT_VALIDATE_BACKFILL;
	else if (AcceptWord(p, "promote"))
		stmt->kind = FS_STMT_PROMOTE_BACKFILL;
	else
	{
		ExpectWord(p, "abort");
		stmt->kind = FS_STMT_ABORT_BACKFILL;
	}
	ExpectWord(p, "backfill");
	stmt->name_location = Peek(p)->location;
	stmt->name = ParseName(p, "a backfill name");
	if (stmt->kind == FS_STMT_VALIDATE_BACKFILL && AcceptWord(p, "with"))
		stmt->backfill_settings = ParseMonitorSettings(p, true);
	else if (stmt->kind == FS_STMT_PROMOTE_BACKFILL)
		stmt->force = AcceptWord(p, "force");
	return stmt;
}

/* ParseBackfill parses what follows BACKFILL: FEATURE GROUP g AS name FROM 's' TO 's' */
static FsBackfillDef *
ParseBackfill(FsParser *p, int location)
{
	FsBackfillDef *def = palloc0(sizeof(FsBackfillDef));

	def->location = location;
	ExpectWord(p, "feature");
	ExpectWord(p, "group");
	def->group_location = Peek(p)->location;
	def->group_name = ParseName(p, "a feature group name");
	ExpectWord(p, "as");
	def->location = Peek(p)->location;
	def->name = ParseName(p, "a backfill name");
	ExpectWord(p, "from");
	def->from_location = Peek(p)->location;
	def->from_text = ParseString(p, "a timestamp string such as '2026-10-01'");
	ExpectWord(p, "to");
	def->to_location = Peek(p)->location;
	def->to_text = ParseString(p, "a timestamp string such as '2026-11-01'");
	return def;
}

/* ParseTypeText collects a type name up to the next description, option, AS, ',' or ')' */
static char *
ParseTypeText(FsParser *p, int *location)
{
	return ParseTextUntil(p, TypeEnds, "a type name", location);
}

/*
 * ParseTextUntil collects the source text of the tokens up to where at_end
 * says the text ends (outside parentheses and brackets), a ',' or ')' at
 * depth 0, or the end of the statement.  Empty text is a syntax error.
 */
static char *
ParseTextUntil(FsParser *p, FsTextEnd at_end, const char *what, int *location)
{
	int			depth = 0;
	int			first = p->pos;
	int			start = Peek(p)->location;

	for (;;)
	{
		FsToken    *t = Peek(p);

		if (t->code == 0 || t->code == ';')
			break;
		if (depth == 0 && (t->code == ',' || t->code == ')' || at_end(p)))
			break;
		if (t->code == '(' || t->code == '[')
			depth++;
		else if (t->code == ')' || t->code == ']')
			depth--;
		p->pos++;
	}
	if (p->pos == first)
		SyntaxError(p, what);
	*location = start;
	/* up to the end of the last token, so that a trailing comment is left out */
	return pnstrdup(p->source + start, p->tokens[p->pos - 1].end - start);
}

/* TypeEnds: a type name ends at a string (the description), TAGS, DESCRIPTION, AS or PII */
static bool
TypeEnds(FsParser *p)
{
	return Peek(p)->code == SCONST || PeekWord(p, "tags") ||
		PeekWord(p, "description") || PeekWord(p, "as") || PeekWord(p, "pii");
}

/* WhereEnds: a group's WHERE condition ends at WINDOW END or FEATURES */
static bool
WhereEnds(FsParser *p)
{
	return (PeekWord(p, "window") && PeekWordAt(p, 1, "end")) || PeekWord(p, "features");
}

/* ExpressionEnds: an expression feature ends at OVER, DEFAULT, its description or PII */
static bool
ExpressionEnds(FsParser *p)
{
	return Peek(p)->code == SCONST || PeekWord(p, "over") || PeekWord(p, "default") ||
		PeekWord(p, "description") || PeekWord(p, "tags") || PeekWord(p, "pii");
}

/* ParseDescriptionOrOwner accepts DESCRIPTION 'x' or OWNER 'x', each at most once */
static bool
ParseDescriptionOrOwner(FsParser *p, char **description, char **owner)
{
	int			loc = Peek(p)->location;

	if (AcceptWord(p, "description"))
	{
		if (*description)
			RedundantOption(p, loc, "DESCRIPTION");
		*description = ParseString(p, "a description string");
		return true;
	}
	if (AcceptWord(p, "owner"))
	{
		if (*owner)
			RedundantOption(p, loc, "OWNER");
		*owner = ParseString(p, "an owner string");
		return true;
	}
	return false;
}

/* ParseIfExists accepts IF EXISTS, or IF NOT EXISTS when not is true */
static bool
ParseIfExists(FsParser *p, bool not)
{
	if (!AcceptWord(p, "if"))
		return false;
	if (not)
		ExpectWord(p, "not");
	ExpectWord(p, "exists");
	return true;
}

/* ParseName accepts an identifier, quoted or not */
static char *
ParseName(FsParser *p, const char *what)
{
	FsToken    *t = Peek(p);

	if (t->code != IDENT)
		SyntaxError(p, what);
	p->pos++;
	return t->str;
}

/* ParseString accepts a string constant */
static char *
ParseString(FsParser *p, const char *what)
{
	FsToken    *t = Peek(p);

	if (t->code != SCONST)
		SyntaxError(p, what);
	p->pos++;
	return t->str;
}

/*
 * ParseQuotedDuration accepts a TTL's or a window's duration.  It is a
 * string constant, so a bare TTL 24 gets a hint to quote it (TTL 24h never
 * gets here: the scanner refuses it first, see TokenizeErrorCallback).
 */
static char *
ParseQuotedDuration(FsParser *p, const char *what, const char *hint)
{
	FsToken    *t = Peek(p);

	if (t->code != SCONST && t->code != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("syntax error at or near \"%s\"", TokenText(p, t)),
				 errdetail("Expected %s.", what),
				 errhint("%s", hint),
				 errposition(DdlCharPosition(p->source, t->location))));
	return ParseString(p, what);
}

/* ParseStringList accepts ('a', 'b', ...), possibly empty */
static List *
ParseStringList(FsParser *p, const char *what)
{
	List	   *result = NIL;

	ExpectChar(p, '(');
	if (AcceptChar(p, ')'))
		return NIL;
	do
	{
		result = lappend(result, ParseString(p, what));
	} while (AcceptChar(p, ','));
	ExpectChar(p, ')');
	return result;
}

/* Peek returns the current token without consuming it */
static FsToken *
Peek(FsParser *p)
{
	return &p->tokens[p->pos];
}

/* PeekWord says whether the current token is the unquoted word */
static bool
PeekWord(FsParser *p, const char *word)
{
	return PeekWordAt(p, 0, word);
}

/* PeekWordAt says whether the token offset places ahead is the unquoted word */
static bool
PeekWordAt(FsParser *p, int offset, const char *word)
{
	FsToken    *t;

	if (p->pos + offset >= p->ntokens)
		return false;
	t = &p->tokens[p->pos + offset];
	return t->code == IDENT && !t->quoted && strcmp(t->str, word) == 0;
}

/* AcceptWord consumes the word if it is next */
static bool
AcceptWord(FsParser *p, const char *word)
{
	if (!PeekWord(p, word))
		return false;
	p->pos++;
	return true;
}

/* AcceptChar consumes a one-character token if it is next */
static bool
AcceptChar(FsParser *p, char c)
{
	if (Peek(p)->code != c)
		return false;
	p->pos++;
	return true;
}

/* PeekCharAt says whether the token offset places ahead is the one-character token c */
static bool
PeekCharAt(FsParser *p, int offset, char c)
{
	if (p->pos + offset >= p->ntokens)
		return false;
	return p->tokens[p->pos + offset].code == c;
}

/* ExpectWord consumes the word or reports a syntax error */
static void
ExpectWord(FsParser *p, const char *word)
{
	if (!AcceptWord(p, word))
	{
		char	   *upper = pstrdup(word);

		for (char *c = upper; *c; c++)
			*c = pg_toupper((unsigned char) *c);
		SyntaxError(p, upper);
	}
}

/* ExpectChar consumes a one-character token or reports a syntax error */
static void
ExpectChar(FsParser *p, char c)
{
	if (!AcceptChar(p, c))
		SyntaxError(p, psprintf("\"%c\"", c));
}

/* SyntaxError reports a syntax error at the current token, saying what was expected */
static void
SyntaxError(FsParser *p, const char *expected)
{
	FsToken    *t = Peek(p);

	if (t->code == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("syntax error at end of input"),
				 errdetail("Expected %s.", expected),
				 errhint("The featstore statement grammar is described in docs/ddl.md."),
				 errposition(DdlCharPosition(p->source, t->location))));
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("syntax error at or near \"%s\"", TokenText(p, t)),
			 errdetail("Expected %s.", expected),
			 errhint("The featstore statement grammar is described in docs/ddl.md."),
			 errposition(DdlCharPosition(p->source, t->location))));
}

/* RedundantOption reports an option given twice */
static void
RedundantOption(FsParser *p, int location, const char *option)
{
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("conflicting or redundant options"),
			 errdetail("%s is given more than once.", option),
			 errposition(DdlCharPosition(p->source, location))));
}

/*
 * TokenText renders a token for an error message.  Operators the scanner
 * codes as tokens of their own (::, <=, =>, ..) carry no text, so they are
 * shown as written in the source.
 */
static char *
TokenText(FsParser *p, FsToken *t)
{
	if (t->code == SCONST)
		return psprintf("'%s'", t->str);
	if (t->str)
		return t->str;
	if (t->code > 0 && t->code < 256)
		return psprintf("%c", t->code);
	if (t->end > t->location)
		return pnstrdup(p->source + t->location, t->end - t->location);
	return "?";
}
