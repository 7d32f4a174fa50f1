#!/bin/bash
# private-pg.sh DIR: make a private, relocated copy of the system PostgreSQL 15
# in DIR and print its pg_config.  Installing featstore there (PG_CONFIG=...)
# leaves the system installation alone, so several work trees can build and
# test side by side:
#
#   PG_CONFIG=$(scripts/private-pg.sh /tmp/pg-mine) scripts/test.sh regress
set -euo pipefail
DIR=${1:?usage: private-pg.sh DIR}
if [ ! -x "$DIR/usr/lib/postgresql/15/bin/pg_config" ]; then
	mkdir -p "$DIR/usr/lib/postgresql" "$DIR/usr/share/postgresql"
	cp -a /usr/lib/postgresql/15 "$DIR/usr/lib/postgresql/"
	cp -a /usr/share/postgresql/15 "$DIR/usr/share/postgresql/"
	# PostgreSQL finds its directories relative to its binaries; headers stay shared
	ln -sfn /usr/include "$DIR/usr/include"
	chmod -R a+rX "$DIR"
fi
echo "$DIR/usr/lib/postgresql/15/bin/pg_config"
