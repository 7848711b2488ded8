#!/usr/bin/env bash
# Crash campaign (issue 11, SPEC §3): one index run of a library of ~216 photos, killed with SIGKILL
# KILLS times (default 100) at random moments and resumed each time, until a run completes. After
# every kill: PRAGMA integrity_check, no file row twice, no face row twice, `stats` opens the index.
# At the end the index must hold exactly the files and faces of an uninterrupted run of the same
# library, and a search must return the same matches. Slow (minutes): a benchmark, not a test;
# tests/cli/test_e2e_crash.sh is its short form.
#   RESULT crash_campaign kills=K photos=N integrity_failures=.. duplicate_files=.. duplicate_faces=..
#          stats_failures=.. files_equal=1 faces_equal=1 search_equal=1 seed=S
#
#   bench/crash_campaign.sh [BUILD_DIR] [KILLS]      (FS_CRASH_SEED: the random sequence)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
kills=${2:-100}
fs=$build/facesearch
[[ -x $fs ]] || { echo "crash_campaign: build first (make build): $fs missing" >&2; exit 2; }
data=${FACESEARCH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/facesearch}
samples=$data/samples
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 216 photos: each sample at six sizes, each also mirrored and cropped to its left and right parts.
lib=$tmp/lib
mkdir "$lib"
for i in 1 2 3 4 5 6; do
  for w in 360 480 640 800 960 1200; do
    p=$lib/s${i}_$w
    vips thumbnail "$samples/sample$i.jpg" "$p.jpg[strip]" "$w"
    vips flip "$p.jpg" "${p}_m.jpg" horizontal
    h=$(vipsheader -f height "$p.jpg")
    vips crop "$p.jpg" "${p}_l.jpg" 0 0 $((w * 6 / 10)) "$h"
    vips crop "$p.jpg" "${p}_r.jpg" $((w * 4 / 10)) 0 $((w * 6 / 10)) "$h"
    vips flip "${p}_l.jpg" "${p}_lm.jpg" horizontal
    vips flip "${p}_r.jpg" "${p}_rm.jpg" horizontal
  done
done
photos=$(ls "$lib" | wc -l)

count() { sqlite3 "$1/index.db" "$2"; }
"$fs" --db "$tmp/ref" index "$lib" >/dev/null 2>&1
ref_files=$(count "$tmp/ref" 'SELECT count(*) FROM files')
ref_faces=$(count "$tmp/ref" 'SELECT count(*) FROM faces')
ref_search=$("$fs" --db "$tmp/ref" search -q "$samples/sample1.jpg" --top 0 --threshold -1 | sort)
start=$(date +%s.%N)
"$fs" --db "$tmp/timing" index "$lib" >/dev/null 2>&1
run_s=$(echo "$(date +%s.%N) - $start" | bc)

seed=${FS_CRASH_SEED:-$$}
RANDOM=$seed
db=$tmp/db
bad_integrity=0 dup_files=0 dup_faces=0 bad_stats=0 done_kills=0
while ((done_kills < kills)); do
  # a random moment within an uninterrupted run's time (resumed runs have less left to do)
  ms=$((RANDOM % ($(printf '%.0f' "$(echo "$run_s * 1000" | bc)") + 1)))
  "$fs" --db "$db" index "$lib" >/dev/null 2>&1 &
  pid=$!
  sleep "$(echo "scale=3; $ms / 1000" | bc)"
  if ! kill -KILL $pid 2>/dev/null; then
    wait $pid || true
    rm -rf "$db"       # the run ended before the kill: start the library again from nothing
    continue
  fi
  wait $pid 2>/dev/null || true
  done_kills=$((done_kills + 1))
  [[ -e $db/index.db ]] || continue
  [[ $(count "$db" 'PRAGMA integrity_check' 2>&1) == ok ]] || bad_integrity=$((bad_integrity + 1))
  if [[ -n $(count "$db" "SELECT name FROM sqlite_master WHERE name = 'files'") ]]; then
    (($(count "$db" 'SELECT count(*) - count(DISTINCT path) FROM files') == 0)) || dup_files=$((dup_files + 1))
    (($(count "$db" 'SELECT count(*) FROM (SELECT file_id, face_index FROM faces GROUP BY 1, 2 HAVING count(*) > 1)') == 0)) ||
      dup_faces=$((dup_faces + 1))
    "$fs" --db "$db" stats >/dev/null 2>&1 || bad_stats=$((bad_stats + 1))
  fi
done
"$fs" --db "$db" index "$lib" >/dev/null 2>&1 || true
files=$(count "$db" 'SELECT count(*) FROM files')
faces=$(count "$db" 'SELECT count(*) FROM faces')
found=$("$fs" --db "$db" search -q "$samples/sample1.jpg" --top 0 --threshold -1 | sort)
echo "RESULT crash_campaign kills=$done_kills photos=$photos integrity_failures=$bad_integrity" \
  "duplicate_files=$dup_files duplicate_faces=$dup_faces stats_failures=$bad_stats" \
  "files_equal=$((files == ref_files)) faces_equal=$((faces == ref_faces))" \
  "search_equal=$([[ $found == "$ref_search" ]] && echo 1 || echo 0) files=$files faces=$faces" \
  "run_s=$run_s seed=$seed"
