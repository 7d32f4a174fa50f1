#!/bin/sh
# funclen.sh [FILE...]: the length in lines of every C function, longest first.
# It relies on the pgindent layout (the name at column 0, the braces of the
# body at column 0), which is the layout of every file under src/.
#
#   scripts/funclen.sh | head          # the ten longest functions in src/
[ $# -eq 0 ] && cd "$(dirname "$0")/.." && set -- $(find src -name '*.c' | sort)
for f in "$@"; do
	awk -v F="$f" '
	/^[A-Za-z_][A-Za-z0-9_]*\(/ { cand = $0; sub(/\(.*/, "", cand); next }
	/^\{/ { if (cand != "") { start = NR; fn = cand } next }
	/^\}/ { if (fn != "") { printf "%d %s:%s\n", NR - start + 1, F, fn; fn = ""; cand = "" } next }
	' "$f"
done | sort -rn
