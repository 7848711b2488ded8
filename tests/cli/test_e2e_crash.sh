#!/usr/bin/env bash
# Crash safety of `index` (SPEC.md §3, issue 5): 20 trials, each on a fresh index of 8 small
# photos of one face each (crops of the samples, so that a run is short), kill `facesearch index` with SIGKILL after a random 50-800 ms; then `stats` works, the
# SQLite file passes PRAGMA integrity_check and holds no path twice, the next `index` completes
# without failures, and the index ends with exactly the files and faces of an uninterrupted run,
# every face findable by search (the vector file agrees with SQLite). FS_CRASH_TRIALS and
# FS_CRASH_SEED change the number of trials and the random sequence (printed on failure).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"
command -v sqlite3 >/dev/null || { echo "FAIL: the sqlite3 command is needed (scripts/setup.sh)" >&2; exit 1; }

lib=$tmp/lib
mkdir "$lib"
small_copy 1 480 "$tmp/s1.jpg"
small_copy 4 480 "$tmp/s4.jpg"
n=0
for box in "s1 74 58" "s1 177 75" "s1 334 25" "s4 216 16" "s4 37 20" "s4 134 0" "s4 285 9"; do
  set -- $box
  n=$((n + 1))
  vips crop "$tmp/$1.jpg" "$lib/face$n.jpg" "$2" "$3" 105 120
done
vips flip "$lib/face1.jpg" "$lib/face8.jpg" horizontal
cp "$tmp/s1.jpg" "$tmp/query.jpg"

# The uninterrupted run.
expect_exit 0 "$FACESEARCH" --db "$tmp/ref" index "$lib"
files=8
faces=$(sed -E 's/.*; ([0-9]+) faces in .*/\1/' <<<"$err")
check "reference run" "8 photos: 8 new, 0 changed, 0 unchanged, 0 moved, 0 removed, 0 failed; N faces" \
  "$(sed -E 's/ in [0-9.]+s$//; s/; [0-9]+ faces/; N faces/' <<<"$err")"

trials=${FS_CRASH_TRIALS:-20}
seed=${FS_CRASH_SEED:-$$}
RANDOM=$seed
before=$failures
for ((t = 1; t <= trials; t++)); do
  db=$tmp/db$t
  ms=$((50 + RANDOM % 751))
  "$FACESEARCH" --db "$db" index "$lib" >/dev/null 2>&1 &
  pid=$!
  # wait up to ms, less if the run ends first (it stays a zombie until `wait`: no pid reuse)
  for ((w = 0; w < ms; w += 10)); do
    [[ $(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
    sleep 0.01
  done
  kill -KILL $pid 2>/dev/null
  wait $pid 2>/dev/null
  if [[ -e $db/index.db ]]; then
    # killed before the schema was committed: there is no index yet, and stats says so
    if [[ -z $(sqlite3 "$db/index.db" "SELECT name FROM sqlite_master WHERE name = 'files'") ]]; then
      expect_exit 2 "$FACESEARCH" --db "$db" stats
      expect_err_is "facesearch: $db: no index here (run \`facesearch index\` first)"
    else
      expect_exit 0 "$FACESEARCH" --db "$db" stats
      check "trial $t: no path twice" "0" \
        "$(sqlite3 "$db/index.db" 'SELECT count(*) - count(DISTINCT path) FROM files' 2>&1)"
    fi
    check "trial $t (${ms} ms): integrity" "ok" "$(sqlite3 "$db/index.db" 'PRAGMA integrity_check' 2>&1)"
  fi
  expect_exit 0 "$FACESEARCH" --db "$db" index "$lib"
  check "trial $t (${ms} ms): resumed run" "yes" \
    "$(grep -qE '^8 photos: [0-8] new, 0 changed, [0-8] unchanged, 0 moved, 0 removed, 0 failed; [0-9]+ faces in' <<<"$err" && echo yes || echo "no: $err")"
  expect_exit 0 "$FACESEARCH" --db "$db" stats --json
  check "trial $t (${ms} ms): files and faces" "$files $faces" \
    "$(python3 -c 'import json,sys; s = json.load(sys.stdin); print(s["files"] - s["failed"], s["faces"])' <<<"$out")"
  check "trial $t: integrity after resuming" "ok" "$(sqlite3 "$db/index.db" 'PRAGMA integrity_check' 2>&1)"
  if ((t % 5 == 0)); then # every face is in the vector index
    expect_exit 0 "$FACESEARCH" --db "$db" search -q "$tmp/query.jpg" --threshold -1 --top 0 --csv
    check "trial $t: every face searchable" "$faces" "$(($(wc -l <<<"$out") - 1))"
  fi
  rm -rf "$db"
done
((failures == before)) || echo "crash trials used FS_CRASH_SEED=$seed" >&2

finish
