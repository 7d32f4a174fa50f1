/*
 * pit_exec_grace.c
 *		The hash strategy's batches (pit_exec_hash.c has the join itself).
 *		When the spine, or the history rows filed at its positions, outgrow
 *		work_mem, the join goes on as a Grace hash join: spine rows and
 *		history rows are split by key hash into nbatch batches, each batch
 *		with two temporary files (its spine rows, its history rows), and the
 *		batches are joined one at a time.  Every row of a key falls in the
 *		same batch, so a batch's join is the in-memory join over a share of
 *		the keys, and the whole is the join of the whole spine.
 *
 * The history child is read once.  Batch 0 is joined while it streams: its
 * rows are filed, the other batches' written out.  The later batches are
 * read back from their files.
 *
 * A batch that still outgrows work_mem is split: nbatch doubles, and the
 * rows the batch holds go back to the files of the batch and of its new
 * sibling (the batch plus the old nbatch).  What it holds are its spine
 * rows and, once the history is being filed, the best row filed at each
 * position so far, which beats every row read for that position before it;
 * filed again, it lands at the same position (a key's spine rows never
 * leave their batch together).  The rest of the batch's input follows it
 * out, and the batch starts again from its new files.  Rows of later
 * batches still in files written under the smaller nbatch are sent on to
 * their sibling when their batch is read, even a batch without spine rows
 * of its own.  When a split moves no row out
 * (one key, or one hash, holds the batch), or nbatch reaches
 * PIT_GRACE_MAX_BATCHES, the batch is joined over work_mem, as
 * PostgreSQL's own hash join does (nodeHash.c), whose batching this
 * follows.
 *
 * The history rows written are filtered first (PitGraceWanted): a bucket
 * table of key hashes, half of work_mem at most, holds the latest spine ts
 * of each bucket, and a row available after it, or whose bucket has no
 * spine row, cannot be any spine row's candidate.  Writing the rows is the
 * batches' largest cost: at the anchors' L scale the filter keeps about
 * two fifths of the history from being written, which was worth more than
 * the memory it takes from the batches (docs/performance.md).
 *
 * File format, per row: the key hash, then the minimal tuple (its t_len
 * first).  Files are temporary files (temp_tablespaces, temp_file_limit),
 * each with its own 8 kB buffer, which work_mem does not count: at most
 * two per batch.
 */
#include "postgres.h"

#include "commands/tablespace.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "pit/pit_exec.h"

/*
 * The most batches: 1024 batches of 64MB hold a spine of about 250M rows,
 * and their file buffers stay under 16MB.
 */
#define PIT_GRACE_MAX_BATCHES 1024

static PitGrace *PitGraceCreate(PitScanState *st);
static int	PitGraceBatchesFor(PitScanState *st, bool first);
static void PitGraceFilterBegin(PitScanState *st);
static void PitGraceResize(PitScanState *st, int nbatch);
static int64 PitGraceSpill(PitScanState *st);
static void PitGraceWrite(PitScanState *st, BufFile **file, uint32 hash,
						  const char *data, uint32 len);
static void PitGraceWriteHist(PitScanState *st, int b, uint32 hash,
							  const char *data, uint32 len);
static void PitGraceForward(PitScanState *st);
static void PitGraceReadBytes(BufFile *file, void *ptr, size_t size);

/* PitGraceBatch is the batch a key hash falls in */
static inline int
PitGraceBatch(PitGrace *g, uint32 hash)
{
	/*
	 * The low bits of the remixed hash: the key table indexes by the raw
	 * hash's low bits, the parallel partitions by the remixed high bits.
	 */
	return (int) (murmurhash32(hash) & (uint32) (g->nbatch - 1));
}

/*
 * PitGraceOverflow is the hash strategy past work_mem: it doubles the
 * batches (or goes to batches, the first time), by as much more as the
 * memory used says the batch needs, and sends the rows held back to their
 * batch files.  The caller then reads the rest of its input, which now all
 * goes to files, and joins the batch again from them.
 */
void
PitGraceOverflow(PitScanState *st)
{
	PitGrace   *g = st->grace;
	bool		first = g == NULL;
	int			nbatch;

	/* only PitSlot's bounds bring a batch here once it may not split */
	if (g != NULL && g->growth_off)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("featstore: point-in-time join has more than " INT64_FORMAT " spine rows of one key hash",
						PIT_MAX_ENTRIES),
				 errhint("Split the spine into several joins.")));
	/* batches begin: the filter is built at once, before any row is written */
	if (first)
	{
		g = PitGraceCreate(st);
		PitGraceFilterBegin(st);
	}
	nbatch = PitGraceBatchesFor(st, first);
	if (nbatch > PIT_GRACE_MAX_BATCHES)
	{
		if (g->nbatch >= PIT_GRACE_MAX_BATCHES)
		{
			g->growth_off = true;
			return;
		}
		nbatch = PIT_GRACE_MAX_BATCHES;
	}
	PitGraceResize(st, nbatch);
	if (PitGraceSpill(st) == 0)
		g->growth_off = true;
	PitHashRelease(st);
}

/*
 * PitGraceCreate starts batches: one batch, the current one, held in
 * memory, in the run's memory context.
 */
static PitGrace *
PitGraceCreate(PitScanState *st)
{
	MemoryContext old = MemoryContextSwitchTo(st->runcxt);
	PitGrace   *g = palloc0(sizeof(PitGrace));

	g->nbatch = 1;
	g->live = true;
	g->spine = palloc0(sizeof(BufFile *));
	g->hist = palloc0(sizeof(BufFile *));
	g->spine_rows = palloc0(sizeof(int64));
	g->hist_nbatch = palloc0(sizeof(int));
	MemoryContextSwitchTo(old);
	/* the files go to temp_tablespaces, as a sort's or a hash join's */
	PrepareTempTablespaces();
	st->grace = g;
	return g;
}

/*
 * PitGraceBatchesFor is how many batches to go to (first: batches begin
 * now, while the spine child is read): at least twice as many,
 * and enough that, by the memory each spine row held so far took, the
 * batch's share of its rows fills at most PIT_GRACE_FILL of work_mem.
 */
static int
PitGraceBatchesFor(PitScanState *st, bool first)
{
	PitGrace   *g = st->grace;
	int			nbatch = g->nbatch;
	double		held = (double) Max(st->nentries, 1);
	double		rows = held;
	double		per_row = (double) st->mem_used / held;
	double		factor;
	int			grow = 2;

	/* the history is being filed: its rows are what grew, double */
	if (st->pos_sorted != NULL)
		return nbatch * 2;

	if (first)
	{
		/* the spine child's first pass: its estimate, or twice what came */
		PlanState  *spine = (PlanState *) linitial(st->css.custom_ps);
		PlanState  *feat = (PlanState *) lsecond(st->css.custom_ps);

		rows = Max(spine->plan->plan_rows / Max(st->nparts, 1), 2.0 * held);
		/* what each spine row adds later: position, table, a filed row */
		per_row += sizeof(PitPos) + sizeof(TimestampTz) + 2 * sizeof(PitSlot) +
			MAXALIGN(SizeofMinimalTupleHeader) + Max(feat->plan->plan_width, 8);
	}
	else
		rows = Max((double) g->src_rows, held);

	factor = rows * per_row / (PIT_GRACE_FILL * (double) st->mem_limit);
	while (grow < factor && grow < PIT_GRACE_MAX_BATCHES * 2)
		grow *= 2;
	return nbatch * grow;
}

/*
 * PitGraceFilterBegin builds the written rows' filter from the spine rows
 * held, when batches begin: the rest of the spine child, if any, follows
 * through PitGraceNoteSpine.  The filter's memory comes out of work_mem.
 * A spine read back from files has been noted in full; so has one that fit
 * (batches began while its history was being filed).
 */
static void
PitGraceFilterBegin(PitScanState *st)
{
	PitGrace   *g = st->grace;
	PlanState  *spine = (PlanState *) linitial(st->css.custom_ps);
	double		rows = Max(spine->plan->plan_rows / Max(st->nparts, 1),
						   (double) st->nentries);
	uint64		nbuckets = 1024;

	/* two buckets a spine row, as far as half of work_mem goes */
	while (nbuckets < 2 * rows && (nbuckets * 2) * sizeof(int32) <= st->mem_limit / 2)
		nbuckets *= 2;
	g->fmax = FeatstoreHugeAlloc(st->runcxt, nbuckets * sizeof(int32), false);
	for (uint64 b = 0; b < nbuckets; b++)
		g->fmax[b] = PIT_GRACE_EMPTY;
	g->fmask = (uint32) (nbuckets - 1);
	g->base_limit = st->mem_limit;
	st->mem_limit -= Min(nbuckets * sizeof(int32), st->mem_limit / 2);

	for (int64 i = 0; i < st->nentries; i++)
	{
		PitSpineEntry *e = st->entries[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!e->never)
			PitGraceNoteSpine(st, e->hash, e->ts);
	}
}

/* PitGraceNoteSpine adds a spine row (not one that never matches) to the filter */
void
PitGraceNoteSpine(PitScanState *st, uint32 hash, TimestampTz ts)
{
	PitGrace   *g = st->grace;
	int64		sec = ts / USECS_PER_SEC + (ts % USECS_PER_SEC > 0 ? 1 : 0);
	int32	   *b = &g->fmax[hash & g->fmask];

	sec = Max(Min(sec, (int64) PG_INT32_MAX), (int64) PIT_GRACE_EMPTY + 1);
	if (sec > *b)
		*b = (int32) sec;
}

/* PitGraceResize makes room for nbatch batches */
static void
PitGraceResize(PitScanState *st, int nbatch)
{
	PitGrace   *g = st->grace;
	int			old = g->nbatch;

	g->spine = repalloc(g->spine, sizeof(BufFile *) * nbatch);
	g->hist = repalloc(g->hist, sizeof(BufFile *) * nbatch);
	g->spine_rows = repalloc(g->spine_rows, sizeof(int64) * nbatch);
	g->hist_nbatch = repalloc(g->hist_nbatch, sizeof(int) * nbatch);
	for (int b = old; b < nbatch; b++)
	{
		g->spine[b] = g->hist[b] = NULL;
		g->spine_rows[b] = 0;
		g->hist_nbatch[b] = 0;
	}
	g->nbatch = nbatch;
	st->ever_batches = Max(st->ever_batches, nbatch);
}

/*
 * PitGraceSpill writes the rows the current batch holds to the batch files
 * under the new nbatch: every spine row, and the row filed at each position
 * if the history is being filed.  It returns how many spine rows left the
 * batch.
 */
static int64
PitGraceSpill(PitScanState *st)
{
	PitGrace   *g = st->grace;
	int64		moved = 0;

	g->live = false;
	for (int64 i = 0; i < st->nentries; i++)
	{
		PitSpineEntry *e = st->entries[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (PitGraceBatch(g, e->hash) != g->cur)
			moved++;
		(void) PitGraceRoute(st, e->hash, (char *) e->tup, e->tup->t_len, true);
		/* positions are in sorted entry order, as the entries now are */
		if (st->pos_sorted != NULL && st->pos_sorted[i].best != NULL)
			(void) PitGraceRoute(st, e->hash, (char *) st->pos_sorted[i].best,
								 st->pos_sorted[i].best->t_len, false);
	}
	return moved;
}

/*
 * PitGraceRoute writes a row (its minimal-tuple bytes, len of them, the
 * first four being overwritten by len) to its batch's spine or history file,
 * unless it belongs to the current batch while that is held in memory.  It
 * returns whether it wrote the row.
 */
bool
PitGraceRoute(PitScanState *st, uint32 hash, const char *data, uint32 len,
			  bool spine)
{
	PitGrace   *g = st->grace;
	int			b = PitGraceBatch(g, hash);

	if (g->live && b == g->cur)
		return false;
	/* a finished batch gets no rows: files hold their batch's rows or later */
	Assert(b >= g->cur);
	if (spine)
	{
		PitGraceWrite(st, &g->spine[b], hash, data, len);
		g->spine_rows[b]++;
	}
	else
		PitGraceWriteHist(st, b, hash, data, len);
	return true;
}

/* PitGraceWriteHist appends a row to a batch's history file */
static void
PitGraceWriteHist(PitScanState *st, int b, uint32 hash, const char *data,
				  uint32 len)
{
	PitGrace   *g = st->grace;

	if (g->hist[b] == NULL)
		g->hist_nbatch[b] = g->nbatch;
	PitGraceWrite(st, &g->hist[b], hash, data, len);
}

/* PitGraceWrite appends a row to a batch file, creating it if need be */
static void
PitGraceWrite(PitScanState *st, BufFile **file, uint32 hash, const char *data,
			  uint32 len)
{
	if (*file == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(st->runcxt);

		*file = BufFileCreateTemp(false);
		MemoryContextSwitchTo(old);
	}
	BufFileWrite(*file, &hash, sizeof(uint32));
	BufFileWrite(*file, &len, sizeof(uint32));
	BufFileWrite(*file, (char *) data + sizeof(uint32), len - sizeof(uint32));
	st->n_written++;
}

/*
 * PitGraceOpen starts reading the current batch's spine file (the batch is
 * then held in memory again) or history file.  The file is taken out of
 * the batch, so that rows written to the batch from now on go to a new one.
 */
void
PitGraceOpen(PitScanState *st, bool spine)
{
	PitGrace   *g = st->grace;
	BufFile   **file = spine ? &g->spine[g->cur] : &g->hist[g->cur];

	g->live = true;
	g->reading = !spine;
	g->src = *file;
	*file = NULL;
	if (spine)
	{
		g->src_rows = g->spine_rows[g->cur];
		g->spine_rows[g->cur] = 0;
	}
	if (g->src != NULL && BufFileSeek(g->src, 0, 0, SEEK_SET) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("featstore: could not rewind a point-in-time join's batch file: %m")));
}

/*
 * PitGraceRead reads the next row of the file being read into *buf (of *cap
 * bytes, grown in the run's context as needed), with its key hash.  It
 * returns NULL at the end of the file, which it then closes.
 */
MinimalTuple
PitGraceRead(PitScanState *st, uint32 *hash, MinimalTuple *buf, uint32 *cap)
{
	PitGrace   *g = st->grace;
	uint32		head[2];
	size_t		n;

	if (g->src == NULL)
		return NULL;
	n = BufFileRead(g->src, head, sizeof(head));
	if (n == 0)
	{
		BufFileClose(g->src);
		g->src = NULL;
		return NULL;
	}
	if (n != sizeof(head))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("featstore: could not read a point-in-time join's batch file: read only %zu of %zu bytes",
						n, sizeof(head))));
	*hash = head[0];
	if (*cap < head[1])
	{
		if (*buf != NULL)
			pfree(*buf);
		*cap = MAXALIGN(head[1]);
		*buf = MemoryContextAlloc(st->runcxt, *cap);
	}
	(*buf)->t_len = head[1];
	PitGraceReadBytes(g->src, (char *) *buf + sizeof(uint32), head[1] - sizeof(uint32));
	return *buf;
}

/* PitGraceReadBytes reads exactly size bytes of a batch file */
static void
PitGraceReadBytes(BufFile *file, void *ptr, size_t size)
{
	size_t		n = BufFileRead(file, ptr, size);

	if (n != size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("featstore: could not read a point-in-time join's batch file: read only %zu of %zu bytes",
						n, size)));
}

/*
 * PitGraceNext moves to the next batch with spine rows.  A batch without
 * any has no row to join, but a history file begun under a smaller nbatch
 * may hold later batches' rows, which go on to them.  It returns false
 * after the last batch.
 */
bool
PitGraceNext(PitScanState *st)
{
	PitGrace   *g = st->grace;

	while (++g->cur < g->nbatch)
	{
		if (g->spine[g->cur] != NULL)
			return true;
		if (g->hist[g->cur] == NULL)
			continue;
		if (g->hist_nbatch[g->cur] < g->nbatch)
			PitGraceForward(st);
		else
		{
			BufFileClose(g->hist[g->cur]);
			g->hist[g->cur] = NULL;
		}
	}
	return false;
}

/*
 * PitGraceForward reads the history file of the current batch, which has
 * no spine rows, and sends its rows of later batches on to them.
 */
static void
PitGraceForward(PitScanState *st)
{
	PitGrace   *g = st->grace;
	MinimalTuple buf = NULL;
	uint32		cap = 0;
	MinimalTuple tup;
	uint32		hash;

	PitGraceOpen(st, false);
	while ((tup = PitGraceRead(st, &hash, &buf, &cap)) != NULL)
	{
		int			b = PitGraceBatch(g, hash);

		CHECK_FOR_INTERRUPTS();
		if (b != g->cur)
			PitGraceWriteHist(st, b, hash, (char *) tup, tup->t_len);
	}
	g->reading = false;
	if (buf != NULL)
		pfree(buf);
}

/* PitGraceEnd closes the batch files of a scan that ends or restarts */
void
PitGraceEnd(PitScanState *st)
{
	PitGrace   *g = st->grace;

	if (g == NULL)
		return;
	for (int b = 0; b < g->nbatch; b++)
	{
		if (g->spine[b] != NULL)
			BufFileClose(g->spine[b]);
		if (g->hist[b] != NULL)
			BufFileClose(g->hist[b]);
	}
	if (g->src != NULL)
		BufFileClose(g->src);
	st->mem_limit = g->base_limit;
	st->grace = NULL;
}
