/*
 * featstore.c
 *		Module entry point: _PG_init starts each subsystem.
 */
#include "postgres.h"

#include "fmgr.h"

#include "extension.h"
#include "ddl/ddl.h"
#include "monitor/monitor.h"
#include "offline/offline.h"
#include "online/online.h"
#include "pii/pii.h"
#include "pit/pit.h"
#include "registry/registry.h"

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
