#!/usr/bin/env bash
# serve.sh — load on `facesearch serve` (issue 14): wrk (Debian) against the server on 127.0.0.1
# with an index of N synthetic face-like embeddings (bench/serve_index.c, cached in WORK between
# runs), search by face id (random ids, top 10) at 1, 8 and 32 concurrent clients, GET /health at
# the same concurrency as the floor the HTTP layer costs (vs_health_p50 = search p50 / health
# p50), cached thumbnail throughput of the sample photos, the people list and a person's page
# (after a grouping through the API), and a mixed run (one request in ten an
# upload of a bad image) with the server's RSS at its start, middle and end (RssAnon too: the
# heap, without the pages of the mapped vector file, which grow as searches touch them). Targets:
# search-by-id p99 < 20 ms at 8 clients on 2 cores; zero unexpected errors and flat RSS in the
# mixed run.
# Usage: bench/serve.sh [BUILD_DIR] [N] [SECONDS] [WORK] [MIXED_SECONDS]
#        (defaults: build 100000 10 /tmp/fs-serve-bench, mixed 6 x SECONDS)
# Prints: RESULT serve clients=C mode=search_by_id p50_ms=.. p99_ms=.. rps=.. errors=.. vs_health_p50=..
#         RESULT serve clients=8 mode=thumbnail_cached p50_ms=.. p99_ms=.. rps=.. errors=..
#         RESULT serve clients=1 mode=people_list people=.. p50_ms=.. p99_ms=.. rps=.. errors=..
#         RESULT serve clients=8 mode=person people=.. p50_ms=.. p99_ms=.. rps=.. errors=..
#         RESULT serve clients=8 mode=mixed_bad_uploads seconds=S requests=.. bad=.. non2xx=..
#                unexpected=.. rss_start_kb=.. rss_mid_kb=.. rss_end_kb=.. anon_start_kb=.. anon_mid_kb=.. anon_end_kb=..
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
n=${2:-100000}
secs=${3:-10}
work=${4:-/tmp/fs-serve-bench}
mixed_secs=${5:-$(( secs * 6 ))}
command -v wrk >/dev/null || { echo "serve.sh: needs wrk (apt-get install wrk)" >&2; exit 2; }
data=${FACESEARCH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/facesearch}
mkdir -p "$work/root/real"
db=$work/db-$n
if [[ ! -f $db/ready ]]; then
  rm -rf "$db"
  echo "serve.sh: making an index of $n faces in $db (minutes)" >&2
  "$build/bench/serve_index" "$db" "$work/root" "$n" >/dev/null
  touch "$db/ready"
fi
cp -n "$data"/samples/sample*.jpg "$work/root/real/" 2>/dev/null || true

log=$(mktemp)
"$build/facesearch" serve --db "$db" --root "$work/root" --port 0 --workers 2 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log" "$work"/*.lua' EXIT
for _ in $(seq 1 600); do
  base=$(grep -oE 'http://[^ ]+/' "$log" | head -1 || true)
  [[ -n $base ]] && break
  sleep 0.1
done
base=${base%/}
[[ -n $base ]] || { cat "$log" >&2; exit 2; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }
anon() { awk '/^RssAnon/ { print $2 }' "/proc/$pid/status"; }

# wrk's report as one line: p50_ms p99_ms rps errors (non-2xx and socket errors)
cat >"$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.status + summary.errors.timeout
  io.write(string.format("REPORT %.3f %.3f %.1f %d\n", latency:percentile(50) / 1000,
           latency:percentile(99) / 1000, summary.requests / (summary.duration / 1e6), errors))
end
LUA
cat >"$work/search.lua" <<LUA
math.randomseed(7)
request = function()
  return wrk.format("GET", "/api/v1/faces/" .. math.random(1, $n) .. "/search?top=10")
end
$(cat "$work/report.lua")
LUA
load() { # CLIENTS SCRIPT PATH -> "p50 p99 rps errors"
  local t=$(( $1 < 2 ? 1 : 2 ))
  wrk -t "$t" -c "$1" -d "${secs}s" --timeout 5s -s "$2" "$base$3" | awk '/^REPORT/ { print $2, $3, $4, $5 }'
}

# warm: the first search loads the vectors
curl -s -o /dev/null "$base/api/v1/faces/1/search?top=10"
for c in 1 8 32; do
  read -r hp50 _ _ _ < <(load "$c" "$work/report.lua" /api/v1/health)
  read -r p50 p99 rps errors < <(load "$c" "$work/search.lua" /)
  echo "RESULT serve n=$n clients=$c mode=search_by_id p50_ms=$p50 p99_ms=$p99 rps=$rps errors=$errors health_p50_ms=$hp50 vs_health_p50=$(awk -v a="$p50" -v b="$hp50" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')"
done

# thumbnails of the real photos (indexed first), cached after the first request of each
curl -s -o /dev/null -X POST -d "{\"folder\": \"$work/root/real\"}" "$base/api/v1/index"
for _ in $(seq 1 600); do
  curl -s "$base/api/v1/index" | grep -q '"state":"running"' || break
  sleep 0.2
done
ids=$(sqlite3 "$db/index.db" "SELECT group_concat(id) FROM files WHERE CAST(path AS TEXT) LIKE '%/real/%'")
cat >"$work/thumb.lua" <<LUA
local ids = { $ids }
math.randomseed(11)
request = function()
  return wrk.format("GET", "/api/v1/photos/" .. ids[math.random(#ids)] .. "/thumbnail?size=320")
end
$(cat "$work/report.lua")
LUA
for id in ${ids//,/ }; do curl -s -o /dev/null "$base/api/v1/photos/$id/thumbnail?size=320"; done
read -r p50 p99 rps errors < <(load 8 "$work/thumb.lua" /)
echo "RESULT serve n=$n clients=8 mode=thumbnail_cached p50_ms=$p50 p99_ms=$p99 rps=$rps errors=$errors"

# people: grouped through the API (once: the index is kept between runs), then the whole list
# (GET /api/v1/people, the People tab) at 1 client and a person's page (GET
# /api/v1/people/{id}, random persons) at 8
curl -s -o /dev/null -X POST "$base/api/v1/people/update"
for _ in $(seq 1 3000); do
  curl -s "$base/api/v1/people/update" | grep -q '"state":"running"' || break
  sleep 0.2
done
people=$(curl -s "$base/api/v1/people" | python3 -c 'import json, sys; print(json.load(sys.stdin)["count"])')
cat >"$work/person.lua" <<LUA
math.randomseed(17)
request = function()
  return wrk.format("GET", "/api/v1/people/" .. math.random(1, $people))
end
$(cat "$work/report.lua")
LUA
read -r p50 p99 rps errors < <(load 1 "$work/report.lua" /api/v1/people)
echo "RESULT serve n=$n clients=1 mode=people_list people=$people p50_ms=$p50 p99_ms=$p99 rps=$rps errors=$errors"
read -r p50 p99 rps errors < <(load 8 "$work/person.lua" /)
echo "RESULT serve n=$n clients=8 mode=person people=$people p50_ms=$p50 p99_ms=$p99 rps=$rps errors=$errors"

# mixed: searches by id and, one request in ten, an upload that is not an image (400 expected)
cat >"$work/mixed.lua" <<LUA
math.randomseed(13)
local bad = 0
local junk = string.rep("\255\216\255 not really a jpeg ", 2000)

request = function()
  if math.random(10) == 1 then
    bad = bad + 1
    return wrk.format("POST", "/api/v1/search", { ["Content-Type"] = "image/jpeg" }, junk)
  end
  return wrk.format("GET", "/api/v1/faces/" .. math.random(1, $n) .. "/search?top=10")
end
LUA
rss0=$(rss)
anon0=$(anon)
wrk -t 2 -c 8 -d "${mixed_secs}s" --timeout 5s -s "$work/mixed.lua" "$base/" --latency \
  >"$work/mixed.out" &
wrk_pid=$!
sleep $(( mixed_secs / 2 ))
rss_mid=$(rss)
anon_mid=$(anon)
wait "$wrk_pid"
out=$(cat "$work/mixed.out")
rss1=$(rss)
anon1=$(anon)
non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out"); non2xx=${non2xx:-0}
total=$(awk '/requests in/ { print $1 }' <<<"$out")
sockerr=$(awk '/Socket errors/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }' <<<"$out"); sockerr=${sockerr:-0}
# the server logs every error: the bad uploads' 400s, and anything else, which is unexpected
bad=$(grep -c 'POST /api/v1/search -> 400' "$log" || true)
other=$(grep ' -> ' "$log" | grep -vc 'POST /api/v1/search -> 400' || true)
echo "RESULT serve n=$n clients=8 mode=mixed_bad_uploads seconds=$mixed_secs requests=$total bad=$bad non2xx=$non2xx unexpected=$(( other + sockerr )) rss_start_kb=$rss0 rss_mid_kb=$rss_mid rss_end_kb=$rss1 anon_start_kb=$anon0 anon_mid_kb=$anon_mid anon_end_kb=$anon1"
