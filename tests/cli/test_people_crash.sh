#!/usr/bin/env bash
# Crash safety of `people update` (issue 15): kill -9 at a random moment of the run leaves an index
# that passes PRAGMA integrity_check and foreign_key_check, in which the update either did not
# happen or happened whole (every face judged, or none), the user's decisions intact; the next
# update completes and gives the grouping of an uninterrupted run. Odd trials kill a first update,
# even ones a --rebuild after a person was named. FS_CRASH_TRIALS and FS_CRASH_SEED change the
# number of trials and the random sequence (printed on failure).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"
command -v sqlite3 >/dev/null || { echo "FAIL: the sqlite3 command is needed (scripts/setup.sh)" >&2; exit 1; }

lib=$tmp/lib
mkdir "$lib"
for i in 1 4 5 6; do small_copy $i 700 "$lib/a$i.jpg"; done
for i in 1 4 5 6; do vips flip "$lib/a$i.jpg" "$lib/b$i.jpg" horizontal; done
"$FACESEARCH" --db "$tmp/base" index "$lib" >/dev/null 2>&1 || { echo "FAIL: index" >&2; exit 1; }
faces=$(sqlite3 "$tmp/base/index.db" 'SELECT count(*) FROM faces')

# people: "faces photos" of every person, sorted (what a grouping looks like, ids aside)
shape() { sqlite3 "$1/index.db" "SELECT count(*) || ' ' || count(DISTINCT file_id) FROM face_people
  JOIN faces ON faces.id = face_id WHERE person_id IS NOT NULL GROUP BY person_id" | sort | tr '\n' ';'; }

cp -r "$tmp/base" "$tmp/ref"
start=$(date +%s%N)
expect_exit 0 "$FACESEARCH" --db "$tmp/ref" people update
ms=$((($(date +%s%N) - start) / 1000000))
want=$(shape "$tmp/ref")
check "the reference run groups faces" "yes" "$([[ -n $want ]] && echo yes || echo no)"

trials=${FS_CRASH_TRIALS:-12}
seed=${FS_CRASH_SEED:-$$}
RANDOM=$seed
before=$failures
for ((t = 1; t <= trials; t++)); do
  db=$tmp/db$t
  cp -r "$tmp/base" "$db"
  args=(people update)
  if ((t % 2 == 0)); then
    "$FACESEARCH" --db "$db" people update >/dev/null
    "$FACESEARCH" --db "$db" people name 1 "Named One" >/dev/null
    pins=$(sqlite3 "$db/index.db" 'SELECT count(*) FROM people_decisions')
    args=(people update --rebuild)
  fi
  wait_ms=$((RANDOM % (ms + 20)))
  "$FACESEARCH" --db "$db" "${args[@]}" >/dev/null 2>&1 &
  pid=$!
  for ((w = 0; w < wait_ms; w += 5)); do
    [[ $(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
    sleep 0.005
  done
  kill -KILL $pid 2>/dev/null
  wait $pid 2>/dev/null
  check "trial $t (${wait_ms} ms): integrity" "ok" "$(sqlite3 "$db/index.db" 'PRAGMA integrity_check' 2>&1)"
  check "trial $t: foreign keys" "" "$(sqlite3 "$db/index.db" 'PRAGMA foreign_key_check' 2>&1)"
  judged=$(sqlite3 "$db/index.db" 'SELECT count(*) FROM face_people')
  check "trial $t: the update is all or nothing" "yes" \
    "$([[ $judged == 0 || $judged == "$faces" ]] && echo yes || echo "no: $judged of $faces")"
  if ((t % 2 == 0)); then
    check "trial $t: the name and pins survive" "Named One $pins" \
      "$(sqlite3 "$db/index.db" "SELECT name FROM people WHERE id = 1") $(sqlite3 "$db/index.db" 'SELECT count(*) FROM people_decisions')"
  fi
  expect_exit 0 "$FACESEARCH" --db "$db" people update
  check "trial $t: resumed grouping" "$want" "$(shape "$db")"
  rm -rf "$db"
done
((failures == before)) || echo "crash trials used FS_CRASH_SEED=$seed" >&2

finish
