#!/usr/bin/env bash
# shards.sh — a sharded library on Open MPI against one index (issue 16), on this machine.
#   Indexing: `mpirun -np N facesearch index --shards DIR PHOTOS` for each N of RANKS against a
#   plain `facesearch --db DB index PHOTOS`, every run into a new folder (all photos new), whole
#   commands timed (process start, MPI start, model load on every rank, walk, hashing, index
#   runs), runs of the entries interleaved, RUNS of each; the median and the extremes, and the
#   run's own seconds as the summary line reports them (the slowest rank's index run).
#   PHOTOS: the six sample photos, or COPIES variants of each (vips thumbnail at several widths:
#   distinct content) when COPIES > 1.
#   Searching (when FACES > 0): synthetic face-like libraries made by serve_index (K/S), one of
#   FACES faces in 1 shard, the same faces in 4 shards, and 2 shards that are each a copy of the
#   1-shard library (the weak scaling case: as many faces per rank as the 1-shard library, the
#   same work per rank, without making a second library of FACES); build/bench/shards_search
#   times QUERIES searches of the best 50 on each (ranks x shards as printed), the library
#   opened once and warmed by as many other searches first (the command line opens it at each
#   search: first_ms is that cold first search).
#   SHARDS_LIBS=DIR keeps these libraries in DIR and reuses them on the next run with the same
#   FACES (a library of a million faces takes most of an hour to make; its searches take minutes):
#   make them once, then measure when the machine is quiet.
# Usage: bench/shards.sh [BUILD_DIR] [RUNS] [RANKS] [COPIES] [FACES] [QUERIES]
#        (defaults: build, 3, "1 2 3", 1, 0, 200)
# Prints:
#   RESULT shards_index what=plain|np=N p50_s=... min_s=... max_s=... run_p50_s=... photos=P cores=C
#   RESULT shards_index_ratio np=N vs_plain=...      (p50 of np=N / p50 of plain)
#   RESULT shards_search shards=S ranks=R n=N top=50 p50_ms=... p99_ms=... queries=Q ...
#   (RUNS 0 leaves the indexing out; QUERIES 0 only makes the libraries, for SHARDS_LIBS)
# Each rank runs its own inference threads (--threads, default all cores): with more ranks than
# cores they share them. The machine is shared: run it when it is quiet (uptime).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
runs=${2:-3}
ranks=${3:-1 2 3}
copies=${4:-1}
faces=${5:-0}
queries=${6:-200}
. "$here/bench/mpi_lib.sh"
mpi_bench_ready shards "$build"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/photos"
if ((copies > 1)); then
  for i in 1 2 3 4 5 6; do
    for ((c = 0; c < copies; c++)); do
      vips thumbnail "$samples/sample$i.jpg" "$tmp/photos/s$i-$c.jpg[strip]" $((1200 + 16 * c))
    done
  done
else
  cp "$samples"/sample[1-6].jpg "$tmp/photos/"
fi
photos=$(find "$tmp/photos" -type f | wc -l)

n_run=0
one_run() { # ENTRY: one index run into a new folder; prints "WALL RUN_SECONDS"
  local t0 t1 rc=0
  n_run=$((n_run + 1))
  t0=$(date +%s.%N)
  if [[ $1 == plain ]]; then
    "$fs" --db "$tmp/db$n_run" index "$tmp/photos" 2>"$tmp/err" >/dev/null || rc=$?
  else
    mpirun -q --oversubscribe --mca btl self,tcp -np "${1#np=}" "$fs" index \
      --shards "$tmp/lib$n_run" "$tmp/photos" 2>"$tmp/err" >/dev/null || rc=$?
  fi
  t1=$(date +%s.%N)
  ((rc == 0)) || { cat "$tmp/err" >&2; exit 1; }
  grep -qE "^$photos photos: $photos new" "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  echo "$(echo "$t1 - $t0" | bc -l) $(sed -nE 's/.* in ([0-9.]+)s$/\1/p' "$tmp/err" | tail -1)"
  rm -rf "$tmp/db$n_run" "$tmp/lib$n_run"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

if ((runs > 0)); then
entries=(plain)
for n in $ranks; do entries+=("np=$n"); done
declare -A walls runs_s
one_run plain >/dev/null # warm-up: file cache, model files
for ((r = 0; r < runs; r++)); do
  for e in "${entries[@]}"; do
    read -r wall run_s < <(one_run "$e")
    walls[$e]="${walls[$e]:-} $wall"
    runs_s[$e]="${runs_s[$e]:-} $run_s"
  done
done
cores=$(nproc)
for e in "${entries[@]}"; do
  w=$(tr ' ' '\n' <<<"${walls[$e]}" | grep . )
  printf 'RESULT shards_index what=%s p50_s=%.2f min_s=%.2f max_s=%.2f run_p50_s=%.2f photos=%d cores=%d\n' \
    "$e" "$(median <<<"$w")" "$(sort -g <<<"$w" | head -1)" "$(sort -g <<<"$w" | tail -1)" \
    "$(tr ' ' '\n' <<<"${runs_s[$e]}" | grep . | median)" "$photos" "$cores"
done
plain=$(tr ' ' '\n' <<<"${walls[plain]}" | grep . | median)
for n in $ranks; do
  printf 'RESULT shards_index_ratio np=%s vs_plain=%.2f\n' "$n" \
    "$(echo "$(tr ' ' '\n' <<<"${walls[np=$n]}" | grep . | median) / $plain" | bc -l)"
done
fi

if ((faces > 0)); then
  [ -x "$build/bench/serve_index" ] && [ -x "$build/bench/shards_search" ] || {
    echo "shards: build $build/bench/serve_index and shards_search first (make build, with MPI)" >&2
    exit 2; }
  libs=$tmp
  if [ -n "${SHARDS_LIBS:-}" ]; then
    libs=$SHARDS_LIBS/faces$faces
    mkdir -p "$libs"
  fi
  make_lib() { # DIR TOTAL SHARDS: made unless a finished one is there (its .made)
    [ -e "$1/.made" ] && return 0
    rm -rf "$1"
    for ((k = 0; k < $3; k++)); do
      "$build/bench/serve_index" "$1" /bench/photos "$2" default 10 0 "$k/$3" >/dev/null
    done
    touch "$1/.made"
  }
  make_copies() { # DIR FROM: 2 shards, each FROM's one shard: the first its files (hard links),
    # the second a copy (its own pages in memory; two copies besides FROM would not all fit the
    # page cache of a 24 GB machine at a million faces, and reading from disk is not searching)
    [ -e "$1/.made" ] && return 0
    rm -rf "$1"
    "$build/bench/serve_index" "$1" /bench/photos 4 default 10 0 0/2 >/dev/null # the manifest
    rm -rf "$1/shard-000"
    cp -al "$2/shard-000" "$1/shard-000"
    cp -r "$2/shard-000" "$1/shard-001"
    touch "$1/.made"
  }
  make_lib "$libs/s1" "$faces" 1
  make_lib "$libs/s4" "$faces" 4
  make_copies "$libs/w2" "$libs/s1"
  if ((queries == 0)); then
    echo "shards: libraries of $faces faces made in $libs (QUERIES 0: no search)" >&2
    exit 0
  fi
  search() { # RANKS LIB TOTAL [COPIES]
    mpirun -q --oversubscribe --mca btl self,tcp -np "$1" "$build/bench/shards_search" "$2" "$3" 10 \
      "$queries" 50 "${4:-1}"
  }
  search 1 "$libs/s1" "$faces"
  search 4 "$libs/s4" "$faces"
  search 2 "$libs/s4" "$faces"
  search 1 "$libs/s4" "$faces"
  search 2 "$libs/w2" "$faces" 2
fi
