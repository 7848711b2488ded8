#!/usr/bin/env bash
# search_latency.sh — end-to-end time of an indexed search, as a user sees it: the whole
# `facesearch --db DB search -q sample1.jpg` process (start, model load, decoding and embedding the
# query photo, the search in the index, output) on an index of the six sample photos.
# The index is built once in a temp folder (not timed), one search runs as a warm-up (file
# cache), then RUNS searches are timed one after another; the median and the extremes are printed.
# Usage: bench/search_latency.sh [--isa LIST] [--precision LIST] [BUILD_DIR] [RUNS]
#        (defaults: native, $FACESEARCH_PRECISION or auto, build, 7)
# Prints, for each entry of LIST:
#   RESULT search_latency p50_s=... min_s=... max_s=... runs=N photos=6 faces=F isa=... precision=...
# --isa LIST, --precision LIST: as in bench/nn_vs_ort.sh (every ISA with every precision is an
# entry); the runs of the entries are interleaved. isa, precision: oneDNN's effective instruction
# set and the precision the recognizer computes in for that entry, as bench/nn_run reports them
# (the detector and landmarks are always fp32). The machine is shared: run it when it is
# quiet (uptime), and compare medians.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$(dirname "$0")/isa_args.sh"
take_isa_args search_latency "$@"
shift "$isa_shift"
build=${1:-$here/build}
runs=${2:-7}
fs=$build/facesearch
[ -x "$fs" ] || { echo "search_latency: build $fs first (make build)" >&2; exit 2; }
[ -x "$build/bench/nn_run" ] || { echo "search_latency: build $build/bench/nn_run first (make build)" >&2; exit 2; }
((runs >= 1)) || { echo "search_latency: RUNS must be at least 1" >&2; exit 2; }
data=${FACESEARCH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/facesearch}
samples=$data/samples
for i in 1 2 3 4 5 6; do
  [ -f "$samples/sample$i.jpg" ] || { echo "search_latency: $samples/sample$i.jpg missing (make models)" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/photos"
cp "$samples"/sample[1-6].jpg "$tmp/photos/"
"$fs" --db "$tmp/db" index "$tmp/photos" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
faces=$(sed -nE 's/.*; ([0-9]+) faces in .*/\1/p' "$tmp/err" | tail -1)

search() { # ISA/PRECISION: one search of the index; exit 0 (a match) or 1 (none) are both fine
  local rc=0
  with_entry "$1" "$fs" --db "$tmp/db" search -q "$samples/sample1.jpg" >/dev/null 2>"$tmp/err" || rc=$?
  ((rc <= 1)) || { cat "$tmp/err" >&2; exit 1; }
}
times=()  # per entry (ISA/PRECISION), the seconds of its runs
for k in "${!entries[@]}"; do search "${entries[k]}"; done   # warm-up
for ((r = 0; r < runs; r++)); do
  for k in "${!entries[@]}"; do
    t0=$(date +%s.%N)
    search "${entries[k]}"
    t1=$(date +%s.%N)
    times[k]+=" $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')"
  done
done
for k in "${!entries[@]}"; do
  sorted=($(tr ' ' '\n' <<<"${times[k]}" | grep -v '^$' | sort -g))
  p50=$(printf '%s\n' "${sorted[@]}" | awk '{ t[NR] = $1 } END { printf "%.3f", (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }')
  path=$(with_entry "${entries[k]}" "$build/bench/nn_run" "$data/models/default/fr_landmark.onnx" 1,1,64,64 1 1 |
    sed -n 's/^isa=\([^ ]*\) precision=\([^ ]*\).*/isa=\1 precision=\2/p')
  printf 'RESULT search_latency p50_s=%s min_s=%.3f max_s=%.3f runs=%d photos=6 faces=%s %s\n' \
    "$p50" "${sorted[0]}" "${sorted[runs - 1]}" "$runs" "$faces" "$path"
done
