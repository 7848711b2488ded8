#!/usr/bin/env bash
# serve_shards.sh — search latency through `serve --shards` (issue 16) against plain `serve`, on
# this machine: the six sample photos indexed into one index and into a 3-shard library
# (mpirun -np 3 index --shards), then for each setup a server on 127.0.0.1 and N uploads (POST
# /api/v1/search, the samples in turn, threshold -1, top 50), one at a time with curl, whole
# request timed (upload, detection and embedding of the query on rank 0, the search, the JSON).
# Setups: plain (one index, no MPI), np=1 (one rank searching the 3 shards), np=3 (rank 0 and
# two answering ranks, a shard each). Also the time a search takes to fail with a rank stopped
# (SIGSTOP) under np=3 and --shard-wait-ms WAIT, and the time of the searches after it. People,
# on the samples and a copy of each (so that people have faces in several shards), in each
# setup: a grouping of every face through the server (POST /api/v1/people/update
# {"rebuild": 1}, polled every 20 ms until done; 5 runs: the sharded ones open an engine of the
# pack on every rank for it), and N requests of GET /api/v1/people/{id}, the people in turn
# (a sharded library's from every rank).
# Usage: bench/serve_shards.sh [BUILD_DIR] [N] [WAIT_MS]   (defaults: build, 60, 3000)
# Prints: RESULT serve_shards setup=plain|np=1|np=3 n=N p50_ms=.. p90_ms=.. max_ms=..
#         RESULT serve_shards_stopped wait_ms=W first_503_ms=.. later_503_p50_ms=.. codes=..
#         RESULT serve_shards_people setup=.. people=.. update_p50_ms=.. person_p50_ms=.. ...
# Ranks talk over TCP on loopback (--mca btl self,tcp), as the tests do.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
n=${2:-60}
wait_ms=${3:-3000}
. "$here/bench/mpi_lib.sh"
mpi_bench_ready serve_shards "$build"
command -v curl >/dev/null || { echo "serve_shards: curl is needed (scripts/setup.sh)" >&2; exit 2; }
unset FACESEARCH_DB
work=$(mktemp -d /tmp/fs-serve-shards.XXXXXX)
launcher=""
cleanup() { [[ -n $launcher ]] && kill "$launcher" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir "$work/photos"
for i in 1 2 3 4 5 6; do cp "$samples/sample$i.jpg" "$work/photos/"; done
"$fs" --db "$work/one" index "$work/photos" 2>/dev/null
mpirun -q --oversubscribe --mca btl self,tcp -np 3 "$fs" index --shards "$work/shards" "$work/photos" 2>/dev/null

# start CMD...: the server in the background, showing $root; sets base and launcher
root=$work/photos
start() {
  : >"$work/log"
  "$@" --root "$root" --port 0 2>"$work/log" &
  launcher=$!
  base=""
  for _ in $(seq 1 300); do
    base=$(grep -oE 'http://[^ ]+/' "$work/log" | head -1 || true)
    [[ -n $base ]] && return 0
    sleep 0.1
  done
  echo "serve_shards: the server did not start: $(cat "$work/log")" >&2
  exit 1
}
stop() { kill -TERM "$1"; wait "$launcher" 2>/dev/null || true; launcher=""; }
# times COUNT: COUNT uploads, "code ms" a line
times() {
  local k
  for ((k = 0; k < $1; k++)); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -X POST \
      --data-binary "@$samples/sample$((k % 6 + 1)).jpg" "${base}api/v1/search?threshold=-1&top=50" |
      awk '{ printf "%s %.1f\n", $1, $2 * 1000 }'
  done
}
stats() { # "code ms" lines -> p50_ms p90_ms max_ms
  awk '{ print $2 }' | sort -n | awk '{ a[NR] = $1 } END {
    printf "p50_ms=%.1f p90_ms=%.1f max_ms=%.1f", a[int((NR + 1) / 2)], a[int(NR * 0.9 + 0.5)], a[NR] }'
}
report() { # SETUP: n timed uploads after 3 untimed
  times 3 >/dev/null
  local out
  out=$(times "$n")
  local bad
  bad=$(awk '$1 != 200' <<<"$out" | wc -l)
  echo "RESULT serve_shards setup=$1 n=$n $(stats <<<"$out") non200=$bad"
}

# people SETUP: groupings, then person requests
people() {
  local k t0 ups="" ids out
  for k in 1 2 3 4 5; do
    t0=$(date +%s%N)
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data '{"rebuild": 1}' \
      "${base}api/v1/people/update"
    while curl -s "${base}api/v1/people/update" | grep -q '"state":"running"'; do sleep 0.02; done
    ups+="$(( ($(date +%s%N) - t0) / 1000000 ))"$'\n'
  done
  curl -s "${base}api/v1/people/update" | grep -q '"state":"done"' ||
    { echo "serve_shards: the people update failed: $(curl -s "${base}api/v1/people/update")" >&2; exit 1; }
  ids=($(curl -s "${base}api/v1/people" | python3 -c 'import json,sys; print(" ".join(str(p["id"]) for p in json.load(sys.stdin)["people"]))'))
  out=$(for ((k = 0; k < n; k++)); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "${base}api/v1/people/${ids[k % ${#ids[@]}]}" |
      awk '{ printf "%s %.1f\n", $1, $2 * 1000 }'
  done)
  echo "RESULT serve_shards_people setup=$1 people=${#ids[@]}" \
    "update_p50_ms=$(sort -n <<<"${ups%$'\n'}" | sed -n 3p)" \
    "person_$(stats <<<"$out" | sed 's/ / person_/g') non200=$(awk '$1 != 200' <<<"$out" | wc -l)"
}

start "$fs" --db "$work/one" serve
report plain
stop "$launcher"
for np in 1 3; do
  start mpirun -q --oversubscribe --mca btl self,tcp -np "$np" "$fs" serve --shards "$work/shards" \
    --shard-wait-ms "$wait_ms"
  report "np=$np"
  if [[ $np == 3 ]]; then
    ranks=($(ps -o pid= --ppid "$launcher"))
    kill -STOP "${ranks[1]}"
    first=$(times 1)
    later=$(times 10)
    kill -CONT "${ranks[1]}"
    echo "RESULT serve_shards_stopped wait_ms=$wait_ms first_503_ms=$(awk '{ print $2 }' <<<"$first")" \
      "later_503_p50_ms=$(stats <<<"$later" | sed -E 's/p50_ms=([0-9.]+).*/\1/')" \
      "codes=$(cat <<<"$first"$'\n'"$later" | awk '{ print $1 }' | sort | uniq -c | awk '{ printf "%s:%s,", $2, $1 }')"
  fi
  stop "$launcher"
done

root=$work/people
mkdir -p "$root/a" "$root/b"
for i in 1 2 3 4 5 6; do
  cp "$samples/sample$i.jpg" "$root/a/"
  cp "$samples/sample$i.jpg" "$root/b/copy$i.jpg"
done
"$fs" --db "$work/people-one" index "$root" 2>/dev/null
mpirun -q --oversubscribe --mca btl self,tcp -np 3 "$fs" index --shards "$work/people-shards" "$root" 2>/dev/null
start "$fs" --db "$work/people-one" serve
people plain
stop "$launcher"
for np in 1 3; do
  start mpirun -q --oversubscribe --mca btl self,tcp -np "$np" "$fs" serve --shards "$work/people-shards" \
    --shard-wait-ms "$wait_ms"
  people "np=$np"
  stop "$launcher"
done
