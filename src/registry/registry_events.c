/*
 * registry_events.c
 *		Registry changes other subsystems follow: each registers a callback,
 *		the registry fires them from its DDL operations.
 */
#include "postgres.h"

#include "registry/registry.h"

#define FS_MAX_GROUP_CALLBACKS 8

static FsGroupChangeCallback group_callbacks[FS_MAX_GROUP_CALLBACKS];
static int	n_group_callbacks = 0;

/* RegisterGroupChangeCallback adds a subsystem's registry-change callback */
void
RegisterGroupChangeCallback(FsGroupChangeCallback callback)
{
	if (n_group_callbacks >= FS_MAX_GROUP_CALLBACKS)
		elog(ERROR, "too many featstore group change callbacks");
	group_callbacks[n_group_callbacks++] = callback;
}

/* FireGroupChange tells every subsystem about a feature-group change */
void
FireGroupChange(FsGroupEvent event, const FsGroup *group)
{
	for (int i = 0; i < n_group_callbacks; i++)
		group_callbacks[i] (event, group);
}
