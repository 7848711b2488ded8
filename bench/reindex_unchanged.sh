#!/usr/bin/env bash
# reindex_unchanged.sh — re-index time of an unchanged 10,000-file tree (issue 5, target < 2 s).
# Builds a tree of FILES photos (hard links of three tiny face crops of the sample photos at
# distinct paths, 100 per folder), indexes it once (identical content is copied, not
# re-embedded), then times `facesearch index` with nothing changed, median of 5 runs. This is
# where the unchanged re-run is timed: tests/cli/test_e2e_index.sh only checks that such a run
# re-embeds nothing (tests assert no timings). FILES=4 is that test's case.
# Usage: bench/reindex_unchanged.sh [BUILD_DIR] [FILES]   (defaults: build 10000)
# Prints: RESULT reindex files=N first_s=... unchanged_s=... (median) min_s=... max_s=...
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
files=${2:-10000}
fs=$build/facesearch
[ -x "$fs" ] || { echo "reindex_unchanged: build $fs first" >&2; exit 2; }
data=${FACESEARCH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/facesearch}
samples=$data/samples
[ -f "$samples/sample1.jpg" ] || { echo "reindex_unchanged: $samples/sample1.jpg missing (make models)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export FACESEARCH_DB=$tmp/db
vips thumbnail "$samples/sample1.jpg" "$tmp/s1.jpg[strip]" 480
vips crop "$tmp/s1.jpg" "$tmp/a.jpg" 74 58 105 120
vips crop "$tmp/s1.jpg" "$tmp/b.jpg" 177 75 105 120
vips crop "$tmp/s1.jpg" "$tmp/c.jpg" 334 25 105 120
srcs=("$tmp/a.jpg" "$tmp/b.jpg" "$tmp/c.jpg")
for ((i = 0; i < files; i++)); do
  d=$tmp/tree/d$((i / 100))
  ((i % 100 == 0)) && mkdir -p "$d"
  ln "${srcs[i % 3]}" "$d/photo$i.jpg"
done

secs() { # runs facesearch index on the tree, prints its wall time in seconds
  local t0 t1
  t0=$(date +%s.%N)
  "$fs" --quiet index "$tmp/tree" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
first=$(secs)
"$fs" index "$tmp/tree" 2>&1 | grep -q " $files unchanged," || { echo "reindex_unchanged: not all unchanged" >&2; exit 1; }
times=()
for _ in 1 2 3 4 5; do times+=("$(secs)"); done
sorted=($(printf '%s\n' "${times[@]}" | sort -g))
printf 'RESULT reindex files=%d first_s=%.2f unchanged_s=%.3f min_s=%.3f max_s=%.3f\n' "$files" \
  "$first" "${sorted[2]}" "${sorted[0]}" "${sorted[4]}"
