#!/usr/bin/env bash
# shards_steal.sh — work stealing in `index --shards` (issue 16): a library whose photos all
# belong to one shard against one spread over the shards, both of N photos, each indexed by
# `mpirun -np RANKS --bind-to core facesearch --threads 1 index --shards` (a rank a core, one
# photo at a time each: the ranks stand for machines of one core). Without stealing the skewed
# library takes RANKS times as long as the balanced one (one rank embeds everything while the
# others wait); with it, about as long. Photos: variants of the six samples (vips thumbnail at
# several widths: distinct content), sorted by the shard their content names. Every run into a
# new folder, the two libraries interleaved, RUNS of each: medians and extremes of the whole
# command, and how many photos a rank other than their shard's embedded. Interleaved with them,
# the peer: one plain index of the same N photos on one core (`taskset -c 0 facesearch --threads
# 1 index`), which is what the skewed library costs when no rank helps the one that has them all.
# Usage: bench/shards_steal.sh [BUILD_DIR] [RUNS] [RANKS] [N]   (defaults: build, 5, 2, 48)
# Prints:
#   RESULT shards_steal library=balanced|skewed np=R photos=N p50_s=... min_s=... max_s=... shared_p50=...
#   RESULT shards_steal library=one_core ...      (the plain index on one core)
#   RESULT shards_steal_ratio np=R skewed_vs_balanced=... skewed_vs_one_core=...
# Run it when the machine is quiet (uptime): it needs RANKS free cores.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
runs=${2:-5}
ranks=${3:-2}
n=${4:-48}
. "$here/bench/mpi_lib.sh"
mpi_bench_ready shards_steal "$build"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/skewed" "$tmp/balanced"
shard_of() { python3 -c "print(int('$(sha256sum "$1" | cut -c1-16)', 16) % $ranks)"; }
# skewed: n photos of shard 0; balanced: n / ranks photos of each shard
declare -A per_shard
skewed=0 balanced=0
for ((w = 1800; skewed < n || balanced < n; w -= 4)); do
  for i in 1 2 3 4 5 6; do
    vips thumbnail "$samples/sample$i.jpg" "$tmp/v.jpg[strip]" "$w"
    k=$(shard_of "$tmp/v.jpg")
    if ((k == 0 && skewed < n)); then
      cp "$tmp/v.jpg" "$tmp/skewed/s$i-$w.jpg"
      skewed=$((skewed + 1))
    fi
    if ((${per_shard[$k]:-0} < n / ranks && balanced < n)); then
      mv "$tmp/v.jpg" "$tmp/balanced/s$i-$w.jpg"
      per_shard[$k]=$((${per_shard[$k]:-0} + 1))
      balanced=$((balanced + 1))
    fi
  done
  ((w > 1000)) || { echo "shards_steal: not enough variants" >&2; exit 1; }
done

n_run=0
one_run() { # LIBRARY: prints "WALL SHARED"
  local t0 t1 rc=0
  n_run=$((n_run + 1))
  t0=$(date +%s.%N)
  if [[ $1 == one_core ]]; then
    taskset -c 0 "$fs" --threads 1 --db "$tmp/lib$n_run" index "$tmp/skewed" 2>"$tmp/err" >/dev/null || rc=$?
  else
    mpirun -q --oversubscribe --bind-to core --mca btl self,tcp -np "$ranks" "$fs" --threads 1 \
      --verbose index --shards "$tmp/lib$n_run" "$tmp/$1" 2>"$tmp/err" >/dev/null || rc=$?
  fi
  t1=$(date +%s.%N)
  ((rc == 0)) || { cat "$tmp/err" >&2; exit 1; }
  grep -qE "^$n photos: $n new" "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  echo "$(echo "$t1 - $t0" | bc -l) $(sed -nE 's/^([0-9]+) of the photos embedded by a rank .*/\1/p' "$tmp/err")"
  rm -rf "$tmp/lib$n_run"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

one_run balanced >/dev/null # warm-up: file cache, model files
declare -A walls shared
for ((r = 0; r < runs; r++)); do
  for lib in balanced skewed one_core; do
    read -r wall sh < <(one_run "$lib")
    walls[$lib]="${walls[$lib]:-} $wall"
    shared[$lib]="${shared[$lib]:-} ${sh:-0}"
  done
done
for lib in balanced skewed one_core; do
  w=$(tr ' ' '\n' <<<"${walls[$lib]}" | grep .)
  printf 'RESULT shards_steal library=%s np=%d photos=%d p50_s=%.2f min_s=%.2f max_s=%.2f shared_p50=%s\n' \
    "$lib" "$ranks" "$n" "$(median <<<"$w")" "$(sort -g <<<"$w" | head -1)" \
    "$(sort -g <<<"$w" | tail -1)" "$(tr ' ' '\n' <<<"${shared[$lib]}" | grep . | median)"
done
p50() { tr ' ' '\n' <<<"${walls[$1]}" | grep . | median; }
printf 'RESULT shards_steal_ratio np=%d skewed_vs_balanced=%.2f skewed_vs_one_core=%.2f\n' "$ranks" \
  "$(echo "$(p50 skewed) / $(p50 balanced)" | bc -l)" "$(echo "$(p50 skewed) / $(p50 one_core)" | bc -l)"
