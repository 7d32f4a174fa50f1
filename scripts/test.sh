#!/bin/bash
# test.sh: install what is needed, build and install featstore, then run every
# test suite (pg_regress, pg_isolation_regress, TAP) against throwaway
# PostgreSQL instances and a throwaway Redis on loopback.
#
#   scripts/test.sh              all suites
#   scripts/test.sh regress      one suite: regress | isolation | tap
#
# The servers run as the postgres user (initdb refuses root) in a scratch
# directory that is removed afterwards unless FEATSTORE_KEEP=1.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
SUITES=${*:-regress isolation tap}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
RUN_AS=postgres

scripts/install-deps.sh || { echo "featstore: dependency installation failed"; exit 1; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

echo "== build"
make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" >/dev/null || { echo "featstore: build failed"; exit 1; }
$SUDO make -s install PG_CONFIG="$PG_CONFIG" >/dev/null || { echo "featstore: install failed"; exit 1; }
# Earlier releases' install scripts, frozen in test/upgrade, let the upgrade
# test create an old version and run ALTER EXTENSION UPDATE.  make install
# does not ship them; they stay installed (an old version then waits for the
# update, see docs/architecture.md).
$SUDO install -m 644 test/upgrade/featstore--*.sql "$("$PG_CONFIG" --sharedir)/extension/" ||
	{ echo "featstore: could not install the earlier releases' scripts"; exit 1; }

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

WORK=$(mktemp -d /tmp/featstore-test.XXXXXX)
chmod 755 "$WORK"
REDIS_PORT=${FEATSTORE_TEST_REDIS_PORT:-$(free_port)}
PG_PORT=${FEATSTORE_TEST_PG_PORT:-$(free_port)}

cleanup() {
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
	if [ "${FEATSTORE_KEEP:-0}" != 1 ]; then
		rm -rf "$WORK"
	else
		echo "featstore: kept $WORK"
	fi
}
trap cleanup EXIT

# The tests run in a copy owned by the postgres user, so the checkout itself
# keeps its owner (git refuses repositories owned by someone else).
mkdir -p "$WORK/src"
tar -C "$ROOT" --exclude=.git --exclude=results --exclude=tmp_check -cf - . | tar -C "$WORK/src" -xf -
chown -R "$RUN_AS": "$WORK"

echo "== redis on 127.0.0.1:$REDIS_PORT"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
	--daemonize yes --dir "$WORK" --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

cat > "$WORK/featstore.conf" <<CONF
shared_preload_libraries = 'featstore'
featstore.redis_host = '127.0.0.1'
featstore.redis_port = $REDIS_PORT
max_worker_processes = 16
CONF
[ -f "$ROOT/test/featstore.conf" ] && cat "$ROOT/test/featstore.conf" >> "$WORK/featstore.conf"

# PROVE_TESTS (e.g. test/t/034_online_bulk.pl) narrows the TAP run, and
# REGRESS_TESTS (e.g. "monitor_drift monitor_settings") the pg_regress one
as_pg() {
	runuser -u "$RUN_AS" -- env FEATSTORE_TEST_REDIS_PORT="$REDIS_PORT" PATH="$PATH" \
		${PROVE_TESTS:+PROVE_TESTS="$PROVE_TESTS"} "$@"
}

passed=0
failed=0
summary=()

# count_regress NAME FILE adds pg_regress's per-test verdicts to the totals
count_regress() {
	local ok bad
	ok=$(grep -cE '^test .*\.\.\. ok' "$2" || true)
	bad=$(grep -cE '^test .*\.\.\. (FAILED|failed)' "$2" || true)
	if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi	# the runner itself failed
	passed=$((passed + ok))
	failed=$((failed + bad))
	summary+=("$1: $ok passed, $bad failed")
}

for suite in $SUITES; do
	case "$suite" in
	regress)
		echo "== pg_regress"
		as_pg make -C "$WORK/src" installcheck PG_CONFIG="$PG_CONFIG" ISOLATION= \
			${REGRESS_TESTS:+REGRESS="$REGRESS_TESTS"} \
			EXTRA_REGRESS_OPTS="--temp-instance=$WORK/tmp_regress --temp-config=$WORK/featstore.conf --port=$PG_PORT" \
			2>&1 | tee "$WORK/regress.log"
		[ -f "$WORK/src/regression.diffs" ] && cat "$WORK/src/regression.diffs"
		count_regress pg_regress "$WORK/regress.log"
		;;
	isolation)
		if ! ls test/specs/*.spec >/dev/null 2>&1; then continue; fi
		echo "== pg_isolation_regress"
		as_pg make -C "$WORK/src" installcheck PG_CONFIG="$PG_CONFIG" REGRESS= \
			EXTRA_REGRESS_OPTS="--temp-instance=$WORK/tmp_isolation --temp-config=$WORK/featstore.conf --port=$PG_PORT" \
			2>&1 | tee "$WORK/isolation.log"
		[ -f "$WORK/src/output_iso/regression.diffs" ] && cat "$WORK/src/output_iso/regression.diffs"
		count_regress pg_isolation_regress "$WORK/isolation.log"
		;;
	tap)
		if ! ls test/t/*.pl >/dev/null 2>&1; then continue; fi
		echo "== TAP (prove)"
		as_pg make -C "$WORK/src" prove_installcheck PG_CONFIG="$PG_CONFIG" 2>&1 | tee "$WORK/tap.log"
		ok=$(grep -cE '^test/t/.* ok$' "$WORK/tap.log" || true)
		bad=$(grep -cE '^test/t/.*(Dubious|Failed|not ok)' "$WORK/tap.log" || true)
		if ! grep -q '^Result: PASS' "$WORK/tap.log" && [ "$bad" -eq 0 ]; then bad=1; fi
		passed=$((passed + ok)); failed=$((failed + bad))
		summary+=("TAP: $ok passed, $bad failed ($(grep -E '^Files=' "$WORK/tap.log" | head -1))")
		for f in "$WORK"/src/tmp_check/log/*; do
			[ "$bad" -gt 0 ] && [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
		done
		# artifacts a test keeps (078's page and screenshot) outlive the scratch dir
		if [ -d "$WORK/src/tmp_check/artifacts" ]; then
			rm -rf "$ROOT/tmp_check/artifacts" && mkdir -p "$ROOT/tmp_check" &&
				cp -r "$WORK/src/tmp_check/artifacts" "$ROOT/tmp_check/" &&
				echo "TAP artifacts: $ROOT/tmp_check/artifacts"
		fi
		;;
	*)
		echo "featstore: unknown suite $suite (use regress, isolation or tap)"; exit 2 ;;
	esac
done

echo
echo "== summary"
for line in "${summary[@]}"; do echo "$line"; done
echo "featstore: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
