/*
 * ddl.h
 *		The featstore statement language: parsed statements.
 */
#ifndef FEATSTORE_DDL_H
#define FEATSTORE_DDL_H

#include "registry/registry.h"

typedef enum FsStmtKind
{
	FS_STMT_CREATE_ENTITY,
	FS_STMT_ALTER_ENTITY,
	FS_STMT_DROP_ENTITY,
	FS_STMT_CREATE_GROUP,
	FS_STMT_ALTER_GROUP,
	FS_STMT_DROP_GROUP,
	FS_STMT_CREATE_SERVICE,
	FS_STMT_DROP_SERVICE,
	FS_STMT_CREATE_TRAINING_SET,
	FS_STMT_DROP_TRAINING_SET,
	/* backfills (issue 12) */
	FS_STMT_BACKFILL,
	FS_STMT_VALIDATE_BACKFILL,
	FS_STMT_PROMOTE_BACKFILL,
	FS_STMT_ABORT_BACKFILL
} FsStmtKind;

/* One parsed statement of a featstore block */
typedef struct FsStatement
{
	FsStmtKind	kind;
	char	   *text;			/* the statement as written, for the history */
	int			location;		/* byte offset of its first token in the block */

	FsEntityDef *entity;		/* CREATE ENTITY */
	FsGroupDef *group;			/* CREATE FEATURE GROUP */
	FsServiceDef *service;		/* CREATE FEATURE SERVICE */
	FsTrainingSetDef *training_set; /* CREATE TRAINING SET */

	char	   *name;			/* ALTER / DROP target */
	int			name_location;
	bool		missing_ok;		/* DROP ... IF EXISTS */
	bool		cascade;		/* DROP ... CASCADE */
	List	   *actions;		/* ALTER FEATURE GROUP: FsAlterAction * */

	/* ALTER ENTITY */
	bool		set_description;
	bool		set_owner;
	char	   *description;
	char	   *owner;

	/* backfills: BACKFILL's definition; VALIDATE's WITH (...); PROMOTE's FORCE */
	FsBackfillDef *backfill;
	List	   *backfill_settings;	/* of FsMonitorSetting * */
	bool		force;
} FsStatement;

/* ddl_exec.c */
extern void DdlLangInit(void);

/* ddl_parser.c */
extern List *DdlParse(const char *source);
extern int	DdlCharPosition(const char *source, int byte_offset);

#endif							/* FEATSTORE_DDL_H */
