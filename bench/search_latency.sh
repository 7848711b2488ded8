#!/usr/bin/env bash
# search_latency.sh — end-to-end time of an indexed search, as a user sees it: the whole
# `facesearch --db DB search -q sample1.jpg` process (start, model load, decoding and embedding the
# query photo, the search in the index, output) on an index of the six sample photos.
# The index is built once in a temp folder (not timed), one search runs as a warm-up (file
# cache), then RUNS searches are timed one after another; the median and the extremes are printed.
# Usage: bench/search_latency.sh [--isa LIST] [BUILD_DIR] [RUNS]   (defaults: native build 7)
# Prints, for each entry of LIST:
#   RESULT search_latency p50_s=... min_s=... max_s=... runs=N photos=6 faces=F isa=... precision=...
# --isa LIST: as in bench/nn_vs_ort.sh, comma-separated: native (no cap, or the ONEDNN_MAX_CPU_ISA
# of the environment) or a cap for ONEDNN_MAX_CPU_ISA (avx2, avx512_core, ...); the runs of each
# entry are interleaved. isa: oneDNN's effective instruction set for that entry, as bench/nn_run
# reports it; precision: $FACESEARCH_PRECISION or fp32. The machine is shared: run it when it is
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

# with_isa ISA CMD...: runs CMD with oneDNN capped at ISA (native: as the environment says)
with_isa() {
  local isa=$1; shift
  if [[ ${isa,,} == native ]]; then "$@"; else ONEDNN_MAX_CPU_ISA=${isa^^} "$@"; fi
}
search() { # ISA: one search of the index; exit 0 (a match) or 1 (none) are both fine
  local rc=0
  with_isa "$1" "$fs" --db "$tmp/db" search -q "$samples/sample1.jpg" >/dev/null 2>"$tmp/err" || rc=$?
  ((rc <= 1)) || { cat "$tmp/err" >&2; exit 1; }
}
times=()  # per entry of --isa, the seconds of its runs
for k in "${!isas[@]}"; do search "${isas[k]}"; done   # warm-up
for ((r = 0; r < runs; r++)); do
  for k in "${!isas[@]}"; do
    t0=$(date +%s.%N)
    search "${isas[k]}"
    t1=$(date +%s.%N)
    times[k]+=" $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')"
  done
done
for k in "${!isas[@]}"; do
  sorted=($(tr ' ' '\n' <<<"${times[k]}" | grep -v '^$' | sort -g))
  p50=$(printf '%s\n' "${sorted[@]}" | awk '{ t[NR] = $1 } END { printf "%.3f", (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }')
  isa=$(with_isa "${isas[k]}" "$build/bench/nn_run" "$data/models/default/fr_landmark.onnx" 1,1,64,64 1 1 |
    sed -n 's/^isa=\([^ ]*\).*/\1/p')
  printf 'RESULT search_latency p50_s=%s min_s=%.3f max_s=%.3f runs=%d photos=6 faces=%s isa=%s precision=%s\n' \
    "$p50" "${sorted[0]}" "${sorted[runs - 1]}" "$runs" "$faces" "$isa" "${FACESEARCH_PRECISION:-fp32}"
done
