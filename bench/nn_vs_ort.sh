#!/usr/bin/env bash
# Our ONNX runtime against onnxruntime-node on the default pack's models: same model, same input
# shape, same thread count, interleaved (ROUNDS rounds of RUNS runs each, alternating), medians of
# all runs after warm-up. One line per model, size, thread count and CPU path of ours:
#   RESULT nn model=fr_feature shape=1x3x112x112 threads=1 isa=avx512_core precision=fp32 ours_ms=... ort_ms=... [ort_flushed_ms=...] ratio=... ours_rss_kb=... ort_rss_kb=...
# ratio = ours / ort (below 1: we are faster). isa: the instruction set oneDNN ran our
# convolutions with (its effective ISA, as bench/nn_run reports it); precision: what the entry's
# precision resolves to on that path (fp32 or bf16, as bench/nn_run reports it; bf16 needs
# AVX-512). The engine itself runs only the recognizers (fr_feature, dlib_resnet) in bf16; the
# detector and the landmark model stay fp32 (include/facesearch.h). The machine is shared: read
# medians and ratios,
# and run it when the machine is quiet (uptime). At 2 threads our convolutions are oneDNN's
# OpenMP fork-join regions: when the host stalls one of the two vCPUs, every region waits for it
# (runs of 100+ ms for a 0.5 ms model), while onnxruntime's pool lets the caller do the work;
# such rounds are noise from the machine, rerun. ours_rss_kb/ort_rss_kb: peak RSS after running.
# fr_detect runs at its exported size (240x320): the file bakes its priors in for that size only.
# dlib_resnet: dlib's recognizer as scripts/dlib2onnx.py converts it (the dlib and fused packs).
# NN_VS_ORT_MODELS="fr_feature dlib_resnet" limits the run to those models.
# bench/nn_profile (same arguments as nn_run) shows where our time goes, step by step.
# Subnormals: ours zeroes subnormal weights at load and runs with flush-to-zero (src/nn/fpenv.h);
# onnxruntime keeps them, and onnxruntime-node cannot set its "denormal as zero" option. Where the
# CPU is slow on subnormals (Intel Xeons), onnxruntime therefore also runs a copy of the model
# with its subnormal weights zeroed (bench/flush_subnormals.py), interleaved: ort_ms is the file as
# shipped, ort_flushed_ms the copy (only for models that hold subnormal weights), and ratio is
# ours over the faster of the two.
#
#   bench/nn_vs_ort.sh [--isa LIST] [--precision LIST] [BUILD_DIR] [ROUNDS] [RUNS]
#
# --isa LIST: the CPU paths to run ours on, comma-separated, in the same sitting: native (what
# oneDNN picks for this CPU, or the ONEDNN_MAX_CPU_ISA of the environment; the default) or a cap
# for ONEDNN_MAX_CPU_ISA (avx2, avx512_core, ..., any case). --precision LIST: auto, fp32, bf16
# (default $FACESEARCH_PRECISION, else auto). Ours runs every ISA with every precision (an entry);
# each round runs ours once per entry, then onnxruntime, so that all see the same machine load;
# onnxruntime's runs are shared by the lines of every entry. E.g. --isa native,avx2 --precision
# fp32,bf16 on an AVX-512 machine measures all paths against the same peer.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/isa_args.sh"
take_isa_args nn_vs_ort "$@"
shift "$isa_shift"
build=${1:-$here/../build}
rounds=${2:-5}
runs=${3:-10}
data=${FACESEARCH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/facesearch}
models=$data/models/default
ours=$build/bench/nn_run
[[ -x $ours ]] || { echo "nn_vs_ort: build first (make build): $ours missing" >&2; exit 2; }
bash "$here/../scripts/fetch-oracle.sh" >/dev/null

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The model with its subnormal weights zeroed, for onnxruntime; empty when it has none.
flushed_copy() {
  local copy=$scratch/$1.flushed.onnx
  [[ -f $copy ]] || python3 "$here/flush_subnormals.py" "$(model_path "$1")" "$copy" >"$copy.count"
  [[ $(cat "$copy.count") != 0 ]] && echo "$copy" || true
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# The default pack's models, and dlib's recognizer as converted into the dlib pack.
model_path() { [[ $1 == dlib_resnet ]] && echo "$data/models/dlib/$1.onnx" || echo "$models/$1.onnx"; }

bench() { # model shape threads
  [[ " ${NN_VS_ORT_MODELS:-fr_detect fr_landmark fr_feature dlib_resnet} " == *" $1 "* ]] || return 0
  [[ -f $(model_path "$1") ]] || { echo "nn_vs_ort: $(model_path "$1") missing (make models)" >&2; return 0; }
  local model=$1 shape=$2 threads=$3 r="" r_rss="" f="" out k flushed
  flushed=$(flushed_copy "$model")
  local o=() o_rss=() o_isa=() o_prec=()  # per entry (ISA/PRECISION)
  for ((i = 0; i < rounds; i++)); do
    for k in "${!entries[@]}"; do
      out=$(with_entry "${entries[k]}" "$ours" "$(model_path "$model")" "$shape" "$runs" "$threads")
      o[k]+=" $(sed -n 's/^times_ms //p' <<<"$out")"
      o_rss[k]=$(sed -n 's/.*rss_run_kb=\([0-9]*\).*/\1/p' <<<"$out")
      o_isa[k]=$(sed -n 's/^isa=\([^ ]*\).*/\1/p' <<<"$out")
      o_prec[k]=$(sed -n 's/^isa=.* precision=\([^ ]*\).*/\1/p' <<<"$out")
    done
    out=$(node "$here/ort_run.js" "$(model_path "$model")" "$shape" "$runs" "$threads")
    r+=" $(sed -n 's/^times_ms //p' <<<"$out")"; r_rss=$(sed -n 's/.*rss_run_kb=\([0-9]*\).*/\1/p' <<<"$out")
    if [[ -n $flushed ]]; then
      out=$(node "$here/ort_run.js" "$flushed" "$shape" "$runs" "$threads")
      f+=" $(sed -n 's/^times_ms //p' <<<"$out")"
    fi
  done
  local om rm fm="" best peer=""
  rm=$(median <<<"$r")
  best=$rm
  if [[ -n $flushed ]]; then
    fm=$(median <<<"$f")
    best=$(awk -v a="$rm" -v b="$fm" 'BEGIN {print (b < a) ? b : a}')
    peer=" ort_flushed_ms=$fm"
  fi
  for k in "${!entries[@]}"; do
    om=$(median <<<"${o[k]}")
    echo "RESULT nn model=$model shape=${shape//,/x} threads=$threads isa=${o_isa[k]} precision=${o_prec[k]} ours_ms=$om ort_ms=$rm$peer ratio=$(awk -v a="$om" -v b="$best" 'BEGIN {printf "%.3f", a / b}') ours_rss_kb=${o_rss[k]} ort_rss_kb=$r_rss"
  done
}

for threads in 1 2; do
  bench fr_detect 1,3,240,320 "$threads"
  bench fr_landmark 1,1,64,64 "$threads"
  bench fr_feature 1,3,112,112 "$threads"
  bench dlib_resnet 1,3,150,150 "$threads"
done
