#!/usr/bin/env bash
# gen.sh SCALE: the window benchmark's CSVs, once, under $BENCH_WORK/data/SCALE.
#   S = 100k events, 10k users, 10k labels (smoke)
#   M = 1M events, 100k users, 100k labels
#   L = 10M events, 1M users, 1M labels (the issue's size)
# Skips generation when the files match the stamp (seed, sizes, gen_windows.c).
set -euo pipefail
BENCH_WORK=${BENCH_WORK:-/tmp/featstore-win-bench}
HERE="$(cd "$(dirname "$0")" && pwd)"
SCALE=${1:?usage: gen.sh S|M|L}
SEED=${SEED:-42}
ZIPF_S=${ZIPF_S:-0.5}
case "$SCALE" in
	S) NE=100000; NU=10000; NL=10000 ;;
	M) NE=1000000; NU=100000; NL=100000 ;;
	L) NE=10000000; NU=1000000; NL=1000000 ;;
	*) echo "unknown scale $SCALE" >&2; exit 2 ;;
esac
BIN=$BENCH_WORK/bin/gen_windows
OUT=$BENCH_WORK/data/$SCALE
mkdir -p "$BENCH_WORK/bin" "$OUT"
if [[ ! -x $BIN || $HERE/gen_windows.c -nt $BIN ]]; then
	cc -O2 -Wall -Wextra -Werror -o "$BIN" "$HERE/gen_windows.c" -lm
fi
WANT="seed=$SEED zipf=$ZIPF_S events=$NE users=$NU labels=$NL gen=$(sha256sum "$HERE/gen_windows.c" | cut -c1-16)"
if [[ -f $OUT/.stamp && "$(head -1 "$OUT/.stamp")" == "$WANT" && -f $OUT/tx.csv && -f $OUT/labels.csv ]]; then
	echo "gen: $OUT up to date ($WANT)"
	exit 0
fi
t0=$(date +%s.%N)
"$BIN" "$OUT" "$NE" "$NU" "$NL" "$SEED" "$ZIPF_S"
t1=$(date +%s.%N)
{ echo "$WANT"; (cd "$OUT" && sha256sum tx.csv labels.csv); } > "$OUT/.stamp"
echo "gen: $SCALE in $(echo "$t1 - $t0" | bc) s"
cat "$OUT/.stamp"
