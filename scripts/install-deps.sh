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
	# test/t/061_transform.pl, docs/transformations.md: pg_cron driving featstore.refresh()
	postgresql-15-cron
	# test/t/07x (docs/monitoring.md): the metrics queries file scraped from the real
	# exporter, and the HTML report rendered in a headless browser
	prometheus-postgres-exporter chromium
	# test/t/099_redis_acl_tls.pl, docs/online-store.md "TLS": hiredis 0.14 has no TLS, so the
	# worker reaches a TLS Redis through a client-side stunnel tunnel (openssl makes the test's CA)
	stunnel4 openssl
	# python/ (docs/serving.md, test/t/093_python_serve.pl): featstore-serve is a FastAPI app run by uvicorn
	python3-fastapi python3-uvicorn
	# featstore-serve asks uvicorn for the C HTTP parser and event loop: p99 latency
	# (docs/performance.md "featstore-serve"); it falls back to h11 and asyncio without them
	python3-httptools python3-uvloop
	# python/ is installed with pip from the checkout, offline (test/perl/FeatstorePython.pm,
	# demo step 8): pip, and the setuptools backend with wheel that builds it
	python3-pip python3-setuptools python3-wheel
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	echo "featstore: installing ${missing[*]}"
	# The postgresql-15 and redis-server packages start a default cluster on
	# 5432 and a Redis on 6379.  featstore's tests and demo run their own
	# servers on free ports and need neither, so the services are not started
	# during this install (Debian's policy-rc.d protocol: exit 101 = refused).
	# Servers already running on this machine are never touched.
	POLICY=/usr/sbin/policy-rc.d
	OWN_POLICY=0
	if [ ! -e "$POLICY" ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
		$SUDO chmod 755 "$POLICY"
		OWN_POLICY=1
	fi
	status=0
	$SUDO apt-get update -qq && \
		$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null || status=$?
	[ "$OWN_POLICY" -eq 1 ] && $SUDO rm -f "$POLICY"
	exit "$status"
fi
exit 0
