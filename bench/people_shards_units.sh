#!/usr/bin/env bash
# people_shards_units.sh — memory of `people update --shards` where the units dominate: a
# library of N synthetic faces (build/bench/serve_index) each of its own identity, so that no
# face joins a person and every face is a unit that rank 0 gathers and groups across the shards
# (S shards, S ranks bound to cores). The peer, in the same script and interleaved: `people
# update` of one index of the same faces. ROUNDS rounds of both (--rebuild), medians; peak RSS
# by /usr/bin/time (under mpirun: of the largest rank).
# Usage: bench/people_shards_units.sh [N [S [ROUNDS [BUILD_DIR]]]]   (default 100000, 2, 2)
# Prints:
#   RESULT people_shards_units n=N shards=S one_s=.. shards_s=.. one_rss_mb=.. shards_rss_mb=..
#          rss_ratio=.. people=..
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100000}
s=${2:-2}
rounds=${3:-2}
build=${4:-$here/build}
. "$here/bench/mpi_lib.sh"
mpi_bench_ready people_shards_units "$build"
mk=$build/bench/serve_index
[ -x "$mk" ] || { echo "people_shards_units: build $mk first (make build)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "people_shards_units: /usr/bin/time is needed (apt install time)" >&2; exit 2; }
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$mk" "$tmp/one" /bench/photos "$n" default 1 >/dev/null
for ((k = 0; k < s; k++)); do
  "$mk" "$tmp/lib" /bench/photos "$n" default 1 0 "$k/$s" >/dev/null
done

# run CMD...: "WALL_SECONDS,PEAK_RSS_KB" of CMD (its output dropped)
run() {
  /usr/bin/time -f "%e,%M" -o "$tmp/time" "$@" >/dev/null
  cat "$tmp/time"
}
one=() lib=()
for ((r = 0; r < rounds; r++)); do
  one+=("$(run "$fs" --db "$tmp/one" people update --rebuild)")
  lib+=("$(run mpirun -q --bind-to core --mca btl self,tcp -np "$s" "$fs" people update --rebuild \
    --shards "$tmp/lib")")
done
people=$("$fs" people list --shards "$tmp/lib" | tail -1 | awk '{ print $1 }')
python3 - "$n" "$s" "${one[*]}" "${lib[*]}" "$people" <<'PY'
import statistics, sys
n, s, one, lib, people = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split(), sys.argv[5]
med = lambda runs, k: statistics.median(float(x.split(",")[k]) for x in runs)
one_mb, lib_mb = med(one, 1) / 1024, med(lib, 1) / 1024
print("RESULT people_shards_units n=%s shards=%s one_s=%.2f shards_s=%.2f one_rss_mb=%.0f"
      " shards_rss_mb=%.0f rss_ratio=%.2f people=%s"
      % (n, s, med(one, 0), med(lib, 0), one_mb, lib_mb, lib_mb / one_mb, people))
PY
