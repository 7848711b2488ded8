#!/usr/bin/env bash
# shards_netns.sh — what indexing a sharded library costs in communication when the ranks talk
# over a network stack instead of shared memory (issue 16), on this machine. Three ranks index
# PHOTOS into a new sharded library (`index --shards`), either all on the machine with Open MPI's
# shared memory transport (mpirun --mca btl vader,self: "shm"), or each in its own network
# namespace, MPI over TCP across veth links and a bridge (tests/cli/netns_lib.sh: "veth"), or
# between the two, all on the machine with TCP on its loopback (btl tcp,self: "loopback"). Each
# is also run on an empty folder (process and MPI start, daemons, model load on every rank, no
# photo), so that per photo = (median with PHOTOS - median empty) / photos, and the
# communication overhead per photo = veth's per photo - shm's. Whole commands timed, runs of
# the six entries interleaved, RUNS of each, medians; the bytes of MPI traffic the data links
# carried (all ranks' sent bytes) per photo as well. Every entry lets a waiting rank yield its core
# (mpi_yield_when_idle: three ranks share the machine's cores; see netns_lib.sh).
#   PHOTOS: COPIES variants of each sample photo (vips thumbnail at several widths: distinct
#   content, so every photo is hashed, handed out, embedded).
# Usage: bench/shards_netns.sh [BUILD_DIR] [RUNS] [COPIES]   (defaults: build, 5, 8)
# Prints:
#   RESULT shards_netns_index via=shm|loopback|veth photos=P p50_s=... min_s=... max_s=... empty_p50_s=...
#          per_photo_ms=...
#   RESULT shards_netns_overhead per_photo_ms=... of_shm_pct=... data_bytes_per_photo=... photos=P
# Needs root (network namespaces). The machine is shared: run it when it is quiet (uptime).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
runs=${2:-5}
copies=${3:-8}
. "$here/bench/mpi_lib.sh"
mpi_bench_ready shards_netns "$build"

tmp=$(mktemp -d)
. "$here/tests/cli/netns_lib.sh"
trap 'netns_down; rm -rf "$tmp"' EXIT
rc=0
netns_up "$tmp" 3 || rc=$?
((rc == 0)) || { echo "shards_netns: ${netns_why:-could not make the network}" >&2; exit 2; }
mkdir "$tmp/photos" "$tmp/empty"
for i in 1 2 3 4 5 6; do
  for ((c = 0; c < copies; c++)); do
    vips thumbnail "$samples/sample$i.jpg" "$tmp/photos/s$i-$c.jpg[strip]" $((1200 + 16 * c))
  done
done
photos=$(find "$tmp/photos" -type f | wc -l)

data_tx() { # the bytes all ranks' data links sent so far
  local k rx tx sum=0
  for k in 0 1 2; do read -r rx tx < <(netns_bytes $k); sum=$((sum + tx)); done
  echo "$sum"
}
n_run=0
one_run() { # VIA FOLDER: one index run into a new library; prints "WALL DATA_BYTES"
  local t0 t1 b0 b1 rc=0 want=$photos
  n_run=$((n_run + 1))
  [[ $2 == "$tmp/empty" ]] && want=0
  b0=$(data_tx)
  t0=$(date +%s.%N)
  if [[ $1 == shm || $1 == loopback ]]; then
    mpirun -q --oversubscribe --mca mpi_yield_when_idle 1 \
      --mca btl "$([[ $1 == shm ]] && echo vader || echo tcp),self" -np 3 \
      "$fs" index --shards "$tmp/lib$n_run" "$2" 2>"$tmp/err" >/dev/null || rc=$?
  else
    netns_mpirun "$fs" index --shards "$tmp/lib$n_run" "$2" 2>"$tmp/err" >/dev/null || rc=$?
  fi
  t1=$(date +%s.%N)
  b1=$(data_tx)
  ((rc == 0)) || { cat "$tmp/err" >&2; exit 1; }
  grep -qE "^$want photos?: $want new" "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  echo "$(echo "$t1 - $t0" | bc -l) $((b1 - b0))"
  rm -rf "$tmp/lib$n_run"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

declare -A walls bytes
one_run shm "$tmp/photos" >/dev/null # warm-up: file cache, model files
for ((r = 0; r < runs; r++)); do
  for via in shm loopback veth; do
    for what in empty photos; do
      read -r wall b < <(one_run "$via" "$tmp/$what")
      walls[$via/$what]="${walls[$via/$what]:-} $wall"
      bytes[$via/$what]="${bytes[$via/$what]:-} $b"
    done
  done
done
p50() { tr ' ' '\n' <<<"${walls[$1]}" | grep . | median; }
lo() { tr ' ' '\n' <<<"${walls[$1]}" | grep . | sort -g | head -1; }
hi() { tr ' ' '\n' <<<"${walls[$1]}" | grep . | sort -g | tail -1; }
declare -A per
for via in shm loopback veth; do
  per[$via]=$(echo "($(p50 "$via/photos") - $(p50 "$via/empty")) * 1000 / $photos" | bc -l)
  printf 'RESULT shards_netns_index via=%s photos=%d p50_s=%.2f min_s=%.2f max_s=%.2f empty_p50_s=%.2f per_photo_ms=%.1f\n' \
    "$via" "$photos" "$(p50 "$via/photos")" "$(lo "$via/photos")" "$(hi "$via/photos")" \
    "$(p50 "$via/empty")" "${per[$via]}"
done
veth_bytes=$(tr ' ' '\n' <<<"${bytes[veth/photos]}" | grep . | median)
empty_bytes=$(tr ' ' '\n' <<<"${bytes[veth/empty]}" | grep . | median)
printf 'RESULT shards_netns_overhead per_photo_ms=%.1f of_shm_pct=%.1f data_bytes_per_photo=%.0f photos=%d\n' \
  "$(echo "${per[veth]} - ${per[shm]}" | bc -l)" \
  "$(echo "(${per[veth]} - ${per[shm]}) * 100 / ${per[shm]}" | bc -l)" \
  "$(echo "($veth_bytes - $empty_bytes) / $photos" | bc -l)" "$photos"
