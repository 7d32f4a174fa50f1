/*
 * featstore.c
 *		Module entry point: _PG_init starts each subsystem.  Also the few
 *		helpers every subsystem shares (featstore.h).
 */
#include "postgres.h"

#include <sys/mman.h>

#include "fmgr.h"

#include "extension.h"
#include "ddl/ddl.h"
#include "monitor/monitor.h"
#include "offline/offline.h"
#include "online/online.h"
#include "pii/pii.h"
#include "pit/pit.h"
#include "registry/registry.h"

/* Allocations of at least two of these are advised to use huge pages */
#define FS_HUGE_PAGE (2 * 1024 * 1024)

PG_MODULE_MAGIC;

void		_PG_init(void);

/* _PG_init sets up every subsystem when the library is loaded */
void
_PG_init(void)
{
	ExtensionInit();
	DdlLangInit();
	PitInit();
	OnlineInit();
	MonitorInit();
	MonitorStatsInit();
	MonitorSkewInit();
	RegistryBackfillInit();
	PiiInit();
	OfflineInit();
}

/*
 * FeatstoreHugeAlloc allocates size bytes in cxt (zeroed if asked), advising
 * the kernel to back the whole huge pages inside them with transparent huge
 * pages before anything touches them.  Key tables and the arrays over them
 * are read at random: with 4 kB pages nearly every probe of millions of keys
 * also misses the TLB, and on a virtual machine a page walk costs as much as
 * the miss itself.  Where the kernel has no transparent huge pages (or they
 * are off), the advice is ignored and the memory is ordinary.
 */
void *
FeatstoreHugeAlloc(MemoryContext cxt, Size size, bool zero)
{
	char	   *p = MemoryContextAllocExtended(cxt, size, MCXT_ALLOC_HUGE);

#ifdef MADV_HUGEPAGE
	if (size >= 2 * FS_HUGE_PAGE)
	{
		uintptr_t	lo = TYPEALIGN(FS_HUGE_PAGE, (uintptr_t) p);
		uintptr_t	hi = TYPEALIGN_DOWN(FS_HUGE_PAGE, (uintptr_t) p + size);

		if (hi > lo)
			(void) madvise((void *) lo, hi - lo, MADV_HUGEPAGE);
	}
#endif
	if (zero)
		memset(p, 0, size);
	return p;
}
