#!/bin/bash
# install-deps.sh: install what featstore needs to build, test and run its demo
# on Debian bookworm.  Safe to run again; apt is skipped when nothing is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
	build-essential pkg-config
	postgresql-15 postgresql-server-dev-15 postgresql-client-15
	libhiredis-dev libmsgpack-dev
	redis-server redis-tools
	libipc-run-perl
	python3-redis python3-msgpack python3-psycopg2
	# test/t/022_pit_jdbc_pandas.pl: pit_join's column metadata through JDBC and pandas
	default-jdk-headless libpostgresql-jdbc-java python3-pandas
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	echo "featstore: installing ${missing[*]}"
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

# The Debian package creates and starts a default cluster on port 5432; the
# tests and the demo run their own throwaway servers and do not need it.
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q '^15 main .* online'; then
	pg_ctlcluster 15 main stop 2>/dev/null || true
fi
# Same for the packaged Redis service on 6379.
if command -v redis-cli >/dev/null && redis-cli -p 6379 ping >/dev/null 2>&1; then
	(service redis-server stop || redis-cli -p 6379 shutdown nosave) >/dev/null 2>&1 || true
fi
exit 0
