#!/usr/bin/env bash
# Our ONNX runtime against onnxruntime-node on the default pack's models: same model, same input
# shape, same thread count, interleaved (ROUNDS rounds of RUNS runs each, alternating), medians of
# all runs after warm-up. One line per model, size and thread count:
#   RESULT nn model=fr_feature shape=1x3x112x112 threads=1 ours_ms=... ort_ms=... ratio=... ours_rss_kb=... ort_rss_kb=...
# ratio = ours / ort (below 1: we are faster). The machine is shared: read medians and ratios,
# and run it when the machine is quiet (uptime). At 2 threads our convolutions are oneDNN's
# OpenMP fork-join regions: when the host stalls one of the two vCPUs, every region waits for it
# (runs of 100+ ms for a 0.5 ms model), while onnxruntime's pool lets the caller do the work;
# such rounds are noise from the machine, rerun. ours_rss_kb/ort_rss_kb: peak RSS after running.
# fr_detect runs at its exported size (240x320): the file bakes its priors in for that size only.
# bench/nn_profile (same arguments as nn_run) shows where our time goes, step by step.
#
#   bench/nn_vs_ort.sh [BUILD_DIR] [ROUNDS] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
rounds=${2:-5}
runs=${3:-10}
data=${FACESEARCH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/facesearch}
models=$data/models/default
ours=$build/bench/nn_run
[[ -x $ours ]] || { echo "nn_vs_ort: build first (make build): $ours missing" >&2; exit 2; }
bash "$here/../scripts/fetch-oracle.sh" >/dev/null

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

bench() { # model shape threads
  local model=$1 shape=$2 threads=$3 o="" r="" o_rss="" r_rss="" out
  for ((i = 0; i < rounds; i++)); do
    out=$("$ours" "$models/$model.onnx" "$shape" "$runs" "$threads")
    o+=" $(sed -n 's/^times_ms //p' <<<"$out")"; o_rss=$(sed -n 's/.*rss_run_kb=\([0-9]*\).*/\1/p' <<<"$out")
    out=$(node "$here/ort_run.js" "$models/$model.onnx" "$shape" "$runs" "$threads")
    r+=" $(sed -n 's/^times_ms //p' <<<"$out")"; r_rss=$(sed -n 's/.*rss_run_kb=\([0-9]*\).*/\1/p' <<<"$out")
  done
  local om rm
  om=$(median <<<"$o"); rm=$(median <<<"$r")
  echo "RESULT nn model=$model shape=${shape//,/x} threads=$threads ours_ms=$om ort_ms=$rm ratio=$(awk -v a="$om" -v b="$rm" 'BEGIN {printf "%.3f", a / b}') ours_rss_kb=$o_rss ort_rss_kb=$r_rss"
}

for threads in 1 2; do
  bench fr_detect 1,3,240,320 "$threads"
  bench fr_landmark 1,1,64,64 "$threads"
  bench fr_feature 1,3,112,112 "$threads"
done
