# featstore: PGXS build
EXTENSION = featstore
EXTVERSION = 0.3.0

MODULE_big = featstore
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c src/*/*.c)))
HEADERS = $(sort $(wildcard src/*.h src/*/*.h))

# The install script is assembled from one SQL file per subsystem, in name order.
SQL_PARTS = $(sort $(wildcard src/sql/*.sql))
DATA_built = featstore--$(EXTVERSION).sql
# Upgrade scripts from every earlier release (ALTER EXTENSION featstore UPDATE)
DATA = $(wildcard src/sql/upgrade/featstore--*--*.sql)

PG_CPPFLAGS = -I$(srcdir)/src -DFEATSTORE_VERSION='"$(EXTVERSION)"' $(shell pkg-config --cflags hiredis msgpack 2>/dev/null)
# -Wno-unused-parameter: PostgreSQL 15's own headers trip it (bufpage.h, ilist.h,
# and fmgr.h's PG_FUNCTION_ARGS in every SQL function), so -Werror cannot keep it.
# featstore's own functions use every parameter; only callbacks whose signature
# PostgreSQL fixes (GUC hooks, keyword hash, exit and xact callbacks) ignore some.
PG_CFLAGS = -std=gnu99 -Wall -Wextra -Werror -Wno-unused-parameter
SHLIB_LINK = $(shell pkg-config --libs hiredis msgpack 2>/dev/null || echo -lhiredis -lmsgpackc)

# pg_regress: sql/ + expected/, against a throwaway instance with featstore preloaded
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=featstore
# pg_isolation_regress: test/specs + test/expected
ISOLATION = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --load-extension=featstore

EXTRA_CLEAN = featstore--$(EXTVERSION).sql results regression.diffs regression.out output_iso tmp_check tmp_check_iso log

# LLVM bitcode is not needed and would pull clang into the build
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

featstore--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

# the version is compiled in from EXTVERSION: a Makefile change rebuilds
$(OBJS): $(HEADERS) Makefile

# TAP tests live in test/t (pgvector layout); PGXS only looks in t/
.PHONY: prove_installcheck
prove_installcheck:
	rm -rf '$(CURDIR)'/tmp_check && mkdir -p '$(CURDIR)'/tmp_check
	cd $(srcdir) && TESTDIR='$(CURDIR)' PATH="$(bindir):$$PATH" PGPORT='6$(DEF_PGPORT)' \
		PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' \
		$(PROVE) $(PG_PROVE_FLAGS) $(PROVE_FLAGS) $(if $(PROVE_TESTS),$(PROVE_TESTS),test/t/*.pl)
