#!/usr/bin/env bash
# serve --shards on Open MPI (issue 16): `mpirun -np 3 facesearch serve --shards DIR` answers the
# searches by uploaded photo of the JSON API with exactly the matches (paths, similarities,
# boxes, landmarks, scores) that `serve` over one index of the same photos answers, also with one
# rank over the three shards. Photos and faces by id (library ids: unique across the shards) give
# what one index gives for the same photo and face: its JSON but the ids, the same thumbnail,
# image and crop bytes, the same search by face. People (after `people update` of the index and
# `people update --shards` of the library): every person's faces, without ids, as one index's
# person's (box, landmarks, score, quality, photo), and as many faces unsure and in no person;
# a name given through the API is the
# library's (`people list --shards` shows it; a name taken answers 400); no people yet is an
# empty list; POST /api/v1/people/update regroups every rank's shards into what one index's
# update gives (and fails, naming the rank, when one is stopped meanwhile, or the shard, when its
# writer lock is held). Moves, merges and rejects are the library's: a face moves with its unit,
# at once, and an update keeps the edit, also after the shard grouped the face anew. The
# unsure faces are those one index lists (one moved into a person leaves them, and an update
# keeps it there). The endpoints that need one index's writer or stats
# (stats, index runs) answer 501 naming the command to use, and an id of no photo 404. A rank stopped
# with SIGSTOP makes a search fail with 503 and one log line (with --shard-wait-ms 5000; no
# timing is asserted: curl's generous --max-time only tells a hang), the searches after it fail
# at once, before their photo is decoded, while the server goes on answering, and once the rank is continued searches answer
# again. SIGTERM to rank 0 stops every rank in order (mpirun exits 0); SIGINT to mpirun ends
# every rank; a stop with a rank still stopped ends the run with MPI_Abort instead of hanging. A
# rank killed (SIGKILL) ends the whole run, as mpirun does by default; under mpirun
# --enable-recovery the others go on, and searches fail with 503 as for a stopped rank.
# A build without MPI skips (77).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"
. "$(dirname "$0")/serve_lib.sh"
. "$(dirname "$0")/serve_shards_lib.sh"
command -v mpirun >/dev/null || { echo "FAIL: mpirun is needed (scripts/setup.sh: openmpi-bin)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "FAIL: the sqlite3 command is needed (scripts/setup.sh)" >&2; exit 1; }
unset FACESEARCH_DB
if "$FACESEARCH" serve --shards "$tmp/none" --root "$tmp" 2>&1 | grep -q "needs facesearch built with MPI"; then
  echo "SKIP: facesearch is built without MPI (libopenmpi-dev)"
  exit 77
fi
mpi() { mpirun -q --oversubscribe --mca btl self,tcp -np "$@"; }

lib=$tmp/photos
shards_library "$lib"
ref=$tmp/ref
shards=$tmp/shards
expect_exit 0 "$FACESEARCH" --db "$ref" index "$lib"
expect_exit 0 mpi 3 "$FACESEARCH" index --shards "$shards" "$lib"
expect_exit 0 "$FACESEARCH" --db "$ref" people update --json
want_update="$(python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["faces"], d["unsure"], d["people"], 0)' <<<"$out")"
expect_exit 0 mpi 3 "$FACESEARCH" people update --shards "$shards"
# wait_people_done: polls GET /api/v1/people/update until the run is not running (its last
# answer in $body)
wait_people_done() {
  local i
  for i in $(seq 1 600); do
    req GET /api/v1/people/update
    [[ $(jget 'd["state"]') != running ]] && return
    sleep 0.1
  done
}

# the searches compared: sample N with query-string fields; "matches" without the ids (each
# shard numbers its own)
searches=("1 threshold=-1&top=0" "4 top=5" "2 face=2&threshold=-1&top=7" "6 min_size=60&threshold=0.1"
          "3 threshold=-1&top=0&folder=$lib/b")
matches() { jget 'json.dumps([{k: v for k, v in m.items() if k not in ("photo_id", "face_id")} for m in d["matches"]])'; }
# run_searches: one line per search, its status and matches
run_searches() {
  local s
  for s in "${searches[@]}"; do
    req POST "/api/v1/search?${s#* }" --data-binary "@$samples/sample${s%% *}.jpg"
    echo "$code $(matches)"
  done
}
# by_id: for the matches of one search (sample 1, every face), what the endpoints by id give:
# the photo's JSON and the face's, without ids; the thumbnail's, image's and crop's bytes (md5);
# the search by the face (matches without ids); then the ids of every match, which must all
# differ (a library's ids are unique across its shards)
noids() {
  python3 -c 'import json, sys
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in ("id", "photo_id", "face_id")}
    return [strip(x) for x in v] if isinstance(v, list) else v
print(json.dumps(strip(json.loads(sys.stdin.read())), sort_keys=True))' <<<"$body" 2>&1
}
by_id() {
  local ids p f
  req POST "/api/v1/search?threshold=-1&top=0" --data-binary "@$samples/sample1.jpg"
  ids=$(jget '"\n".join("%d %d" % (m["photo_id"], m["face_id"]) for m in d["matches"])')
  while read -r p f; do
    req GET "/api/v1/photos/$p"
    echo "photo $code $(noids)"
    req GET "/api/v1/faces/$f"
    echo "face $code $(noids)"
    echo "thumbnail $(curl -s "$base/api/v1/photos/$p/thumbnail?size=200" | md5sum)"
    echo "image $(curl -s "$base/api/v1/photos/$p/image" | md5sum)"
    echo "crop $(curl -s "$base/api/v1/faces/$f/crop?size=96" | md5sum)"
    req GET "/api/v1/faces/$f/search?threshold=0.3&top=5"
    echo "search $code $(noids)"
  done < <(head -4 <<<"$ids")
  echo "unique ids: $(cut -d' ' -f2 <<<"$ids" | sort | uniq -d | wc -l) repeated of $(wc -l <<<"$ids")"
}
# person_sets: the counts of faces in no person (unsure, seen once, not seen), then every person as
# the sorted list of its faces without ids (nor unit_faces: 1 on one index), one person a line,
# sorted
person_sets() {
  local id
  req GET /api/v1/people
  echo "people $code $(jget 'd["count"]')"
  echo "faces in no person: $(jget 'd["unsure"], d["ungrouped"], d["unseen"]')"
  for id in $(jget '" ".join(str(p["id"]) for p in d["people"])'); do
    req GET "/api/v1/people/$id"
    echo "$code $(jget 'json.dumps(sorted(json.dumps({k: v for k, v in f.items() if k not in ("face_id", "photo_id", "unit_faces")}, sort_keys=True) for f in d["faces"]))')"
  done | sort
}
start_server --db "$ref" --root "$lib"
want=$(run_searches)
want_by_id=$(by_id)
want_people=$(person_sets)
req GET /api/v1/people/unsure
want_unsure=$(noids)
stop_server
check "one index: people to compare with" "people 200 $("$FACESEARCH" --db "$ref" people list --json | grep -c .)" "$(head -1 <<<"$want_people")"
check "one index: photos and faces by id answer" "0" "$(grep -E '^(photo|face|search) ' <<<"$want_by_id" | grep -vc '^[a-z]* 200 ')"
check "one index: every search answers" "0" "$(grep -vc '^200 ' <<<"$want")"
check "one index: every search finds matches" "0" "$(grep -c ' \[\]$' <<<"$want")"
check "one index: unsure faces to compare with" "True" \
  "$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["count"] > 1)' <<<"$want_unsure")"

trap serve_cleanup_mpi EXIT

# ---- the same answers as one index --------------------------------------------------------
start_sharded 3 --shard-wait-ms 5000 --workers 5 # long enough for a loaded machine: a 503 here is a stopped rank
check "3 ranks: the searches of one index" "$want" "$(run_searches)"
# the same searches at once (the server's request threads share the front)
curls=()
for k in "${!searches[@]}"; do
  s=${searches[$k]}
  curl -s --max-time 60 -o "$tmp/at-once.$k" -w '%{http_code}' -X POST \
    --data-binary "@$samples/sample${s%% *}.jpg" "$base/api/v1/search?${s#* }" >"$tmp/at-once-code.$k" &
  curls+=($!)
done
wait "${curls[@]}"
at_once=$(for k in "${!searches[@]}"; do
  body=$(cat "$tmp/at-once.$k")
  echo "$(cat "$tmp/at-once-code.$k") $(matches)"
done)
check "3 ranks, searches at once: the searches of one index" "$want" "$at_once"
req GET /api/v1/health
expect_status "health" 200
check "health: sharded" "True" "$(jget 'd["sharded"]')"
for path in /api/v1/stats /api/v1/index; do
  req GET "$path"
  expect_error "$path on a sharded library" 501
done
contains "501: says why" "$body" "not available on a sharded library"
req GET /api/v1/people/unsure
expect_status "unsure faces on a sharded library" 200
check "unsure faces on a sharded library: one index's, best first" "$want_unsure" "$(noids)"

# ---- people -------------------------------------------------------------------------------
check "3 ranks: every person's faces as one index's" "$want_people" "$(person_sets)"
req GET /api/v1/people
top=$(jget 'd["people"][0]["id"]')
second=$(jget 'd["people"][1]["id"]')
req GET "/api/v1/faces/$(jget 'd["people"][0]["face_id"]')/crop?size=96"
expect_status "a person's face: its crop (library face id)" 200
req POST "/api/v1/people/$top/name" -H 'Content-Type: application/json' --data '{"name": "Ann"}'
expect_status "naming a person" 200
check "naming a person: answers the named person" "Ann $top" "$(jget 'd["person"]["name"], d["person"]["id"]' | tr -d "(),'")"
check "naming a person: with its faces" "True" "$(jget 'd["count"] == d["person"]["faces"] > 0')"
person_face=$(jget 'json.dumps([d["faces"][0][k] for k in ("box", "landmarks", "score", "quality")])')
req GET "/api/v1/faces/$(jget 'd["faces"][0]["face_id"]')"
check "a person's face: its geometry as the face's own" "$person_face" \
  "$(jget 'json.dumps([d[k] for k in ("box", "landmarks", "score", "quality")])')"
expect_exit 0 "$FACESEARCH" people list --shards "$shards" --json
check "the name is the library's (people list --shards)" "Ann" \
  "$(python3 -c 'import json,sys; [print(d["name"]) for d in map(json.loads, sys.stdin) if d["id"] == '"$top"']' <<<"$out")"
req POST "/api/v1/people/$second/name" -H 'Content-Type: application/json' --data '{"name": "Ann"}'
expect_error "a name taken" 400
req POST "/api/v1/people/$top/name" -H 'Content-Type: application/json' --data '{"name": ""}'
check "a name removed" "None" "$(jget 'd["person"]["name"]')"
req GET /api/v1/people/999999
expect_error "an id of no person" 404
req POST /api/v1/people/999999/name -H 'Content-Type: application/json' --data '{"name": "Bo"}'
expect_error "naming no person" 404
mv "$shards/people.db" "$tmp/people.db.saved"
req GET /api/v1/people
expect_status "no people yet" 200
check "no people yet: an empty list" "0 []" "$(jget 'd["count"], d["people"]' | tr -d "(),")"
req GET "/api/v1/people/$top"
expect_error "no people yet: a person" 404
mv "$tmp/people.db.saved" "$shards/people.db"
# grouping from the server: every rank its shards, rank 0 joins them; regrouping every face gives
# what one index's update gave, and the same persons
req POST /api/v1/people/update -H 'Content-Type: application/json' --data '{"rebuild": 1}'
expect_status "grouping people" 202
wait_people_done
check "grouping people: done" "done" "$(jget 'd["state"]')"
check "grouping people: faces, unsure and people as one index's update" "$want_update" \
  "$(jget 'd["faces"], d["unsure"], d["people"], d["new_people"]' | tr -d "(),")"
check "grouping people: every person's faces as one index's" "$want_people" "$(person_sets)"
# a shard whose writer lock is held (as by an index run) fails the grouping, naming the shard;
# the library's people stay as they were
flock -o "$shards/shard-001/writer.lock" sleep 60 & # -o: the lock is flock's alone, gone with it
holder=$!
for i in $(seq 1 50); do flock -n "$shards/shard-001/writer.lock" true || break; sleep 0.1; done
req POST /api/v1/people/update
expect_status "grouping people, a shard's writer busy" 202
wait_people_done
check "grouping people, a shard's writer busy: failed" "failed" "$(jget 'd["state"]')"
contains "grouping people, a shard's writer busy: names the shard" "$(jget 'd["error"]')" \
  "$shards/shard-001: another index run is active"
kill $(ps -o pid= --ppid "$holder") "$holder" # its sleep, then flock (the lock goes with it)
wait "$holder" 2>/dev/null
check "grouping people, a shard's writer busy: the people as they were" "$want_people" "$(person_sets)"
# edits of the library's people through the API: a face moves with its unit (the faces its shard
# grouped with it), at once and for good (an update keeps them); the file is put back after
cp "$shards/people.db" "$tmp/people.db.before-edits"
json=(-H 'Content-Type: application/json')
req GET "/api/v1/people/$top"
top_faces=$(jget 'd["count"]')
face=$(jget 'd["faces"][-1]["face_id"]')
unit_faces=$(jget 'd["faces"][-1]["unit_faces"]')
# (faces that say n come n by n, one unit each; the top person has a unit of several faces)
check "a person's faces: each says how many faces its unit holds" "True True" \
  "$(jget 'all(sum(g["unit_faces"] == n for g in d["faces"]) % n == 0 for n in {f["unit_faces"] for f in d["faces"]}), max(f["unit_faces"] for f in d["faces"]) > 1' | tr -d "(),")"
req POST "/api/v1/faces/$face/move" "${json[@]}" --data '{"to": "new"}'
expect_error "moving a face without from: only an unsure face" 404
contains "moving a face without from: says so" "$body" "face $face is not an unsure face: give from, the person it is in"
req POST "/api/v1/faces/$face/move" "${json[@]}" --data "{\"to\": \"new\", \"from\": $second}"
expect_error "moving a face from a person that has it not" 404
contains "moving a face from a person that has it not: says so" "$body" "is not one of this person's"
req POST "/api/v1/faces/$face/move" "${json[@]}" --data "{\"to\": \"new\", \"from\": $top}"
expect_status "moving a face to a new person" 200
new=$(jget 'd["person"]["id"]')
moved=$(jget 'd["count"]')
check "moving a face: the new person holds it" "True" "$(jget "any(f['face_id'] == $face for f in d['faces'])")"
check "moving a face: as many faces moved as its unit_faces said" "$unit_faces" "$moved"
req GET "/api/v1/people/$top"
check "moving a face: the person keeps the rest" "$top_faces" "$(($(jget 'd["count"]') + moved))"
req POST "/api/v1/people/$top/merge" "${json[@]}" --data "{\"from\": $top}"
expect_error "merging a person into itself" 400
req POST "/api/v1/people/$top/merge" "${json[@]}" --data "{\"from\": $new}"
expect_status "merging the new person back" 200
check "merging: every face back" "$top_faces" "$(jget 'd["count"]')"
req GET "/api/v1/people/$new"
expect_error "merging: the person merged in is gone" 404
req POST "/api/v1/faces/$face/reject" "${json[@]}" --data "{\"from\": $top}"
expect_status "rejecting a face" 200
check "rejecting a face: it leaves with its unit" "$((top_faces - moved))" "$(jget 'd["count"]')"
req GET /api/v1/people
check "rejecting a face: its unit's faces are in no person" \
  "$(($(grep -oE '[0-9]+, [0-9]+' <<<"$want_people" | head -1 | cut -d' ' -f2) + moved))" "$(jget 'd["ungrouped"]')"
req POST /api/v1/people/update
wait_people_done
check "an update after the edits: done" "done" "$(jget 'd["state"]')"
req GET "/api/v1/people/$top"
check "an update after the edits: the face stays out" "$((top_faces - moved)) False" \
  "$(jget "d['count'], any(f['face_id'] == $face for f in d['faces'])" | tr -d "(),")"
# an unsure face moved into a person (no from: it is in none) leaves the unsure faces, and an
# update keeps it in the person
req GET /api/v1/people/unsure
unsure_n=$(jget 'd["count"]')
uface=$(jget 'd["faces"][0]["face_id"]')
req POST "/api/v1/faces/$uface/move" "${json[@]}" --data "{\"to\": $top}"
expect_status "moving an unsure face into a person" 200
check "moving an unsure face: the person holds it" "True" \
  "$(jget "any(f['face_id'] == $uface for f in d['faces'])")"
req GET /api/v1/people/unsure
check "moving an unsure face: no longer unsure" "$((unsure_n - 1)) False" \
  "$(jget "d['count'], any(f['face_id'] == $uface for f in d['faces'])" | tr -d "(),")"
req POST "/api/v1/faces/$uface/move" "${json[@]}" --data '{"to": "new"}'
expect_error "moving it again without from" 404
contains "moving it again without from: says so" "$body" \
  "face $uface is not an unsure face: give from, the person it is in"
req POST /api/v1/people/update
wait_people_done
check "an update after the unsure face's move: done" "done" "$(jget 'd["state"]')"
req GET "/api/v1/people/$top"
check "an update keeps the unsure face in the person" "True" \
  "$(jget "any(f['face_id'] == $uface for f in d['faces'])")"
mv "$tmp/people.db.before-edits" "$shards/people.db"
check "the edits undone: the people as they were" "$want_people" "$(person_sets)"
check "3 ranks: photos and faces by library id as one index's by its ids" "$want_by_id" "$(by_id)"
req GET /api/v1/photos/999999
expect_error "an id of no photo" 404
contains "404: says so" "$body" "not in the library"
req GET /api/v1/faces/999999/crop
expect_error "an id of no face" 404
req GET /
expect_status "the page" 200

# ---- a stopped rank -------------------------------------------------------------------------
kill -STOP "${ranks[1]}"
lines_before=$(grep -c -- '-> 503' "$server_log")
req POST "/api/v1/search?threshold=-1" --data-binary "@$samples/sample1.jpg" --max-time 30
expect_error "a rank stopped" 503
contains "503: names the rank" "$body" "rank 1 of the sharded library did not answer within 5000 ms"
check "503: one log line" "$((lines_before + 1))" "$(grep -c -- '-> 503' "$server_log")"
req POST "/api/v1/search" --data-binary "@$samples/sample4.jpg" --max-time 30
expect_error "while the rank is down" 503
contains "503 at once: says until when" "$body" "searches fail until it answers again"
printf 'not a photo at all' >"$tmp/not-a-photo"
req POST "/api/v1/search" --data-binary "@$tmp/not-a-photo" --max-time 30
expect_error "while the rank is down, an upload is not even decoded" 503
req GET /api/v1/health --max-time 30
expect_status "the server answers meanwhile" 200
req GET "/api/v1/people/$top" --max-time 30
expect_error "a person, while the rank is down" 503
req GET /api/v1/people --max-time 30
expect_status "the people list (rank 0's people.db) meanwhile" 200
kill -CONT "${ranks[1]}"
for i in $(seq 1 100); do # the rank answers what it owes, then searches again
  req POST "/api/v1/search?threshold=-1&top=0" --data-binary "@$samples/sample1.jpg" --max-time 30
  [[ $code == 200 ]] && break
  sleep 0.1
done
expect_status "the rank continued: searches answer again" 200
check "3 ranks after the stop: the searches of one index" "$want" "$(run_searches)"
# a rank stopped while the people are grouped: the update fails once the rank has been silent for
# --shard-wait-ms plus 2 s, saying so, with one log line; a second update meanwhile is refused,
# and so is the move of an unsure face (the ranks listed their units before it)
kill -STOP "${ranks[2]}"
req POST /api/v1/people/update
expect_status "grouping people, a rank stopped" 202
req POST /api/v1/people/update
expect_error "a second grouping meanwhile" 409
req POST "/api/v1/faces/$uface/move" "${json[@]}" --data "{\"to\": $top}" # (unsure again)
expect_error "an unsure face moved meanwhile" 409
contains "an unsure face moved meanwhile: says why" "$body" \
  "a people update is running (see GET /api/v1/people/update): move an unsure face once it is done"
wait_people_done
check "grouping people, a rank stopped: failed" "failed" "$(jget 'd["state"]')"
contains "grouping people, a rank stopped: names the rank" "$(jget 'd["error"]')" \
  "rank 2 of the sharded library stopped answering while grouping people"
check "grouping people, a rank stopped: one log line" "1" "$(grep -c 'people update failed: rank 2' "$server_log")"
kill -CONT "${ranks[2]}"
for i in $(seq 1 100); do # the rank answers the grouping it owes, then searches again
  req POST "/api/v1/search?threshold=-1&top=0" --data-binary "@$samples/sample1.jpg" --max-time 30
  [[ $code == 200 ]] && break
  sleep 0.1
done
expect_status "the rank continued: searches answer again" 200
req POST /api/v1/people/update
wait_people_done
check "the rank continued: people are grouped again" "done" "$(jget 'd["state"]')"
check "the rank continued: every person's faces as one index's" "$want_people" "$(person_sets)"

# ---- stops --------------------------------------------------------------------------------
kill -TERM "${ranks[0]}"
wait "$mpirun_pid"
check "SIGTERM to rank 0: mpirun exits 0" "0" "$?"
mpirun_pid=""
check "SIGTERM to rank 0: every rank exits" "yes" "$(ranks_gone)"
contains "SIGTERM to rank 0: the server says it stops" "$(cat "$server_log")" "facesearch serve: stopping"
check "server log: no sanitizer report" "" "$(grep -E 'Sanitizer|runtime error' "$server_log")"

start_sharded 1 # one rank searches the three shards
check "1 rank: the searches of one index" "$want" "$(run_searches)"
check "1 rank: photos and faces by library id as one index's by its ids" "$want_by_id" "$(by_id)"
check "1 rank: every person's faces as one index's" "$want_people" "$(person_sets)"
kill -INT "$mpirun_pid"
wait "$mpirun_pid"
mpirun_pid=""
check "SIGINT to mpirun, 1 rank: every rank exits" "yes" "$(ranks_gone)"

start_sharded 3
# the library's edits follow the units the shards change: a face alone in its shard moved into
# the top person stays there, with the person's own faces, after its shard grouped it (here the
# user makes it a person of the shard, as the shard's own update does when another photo comes;
# last, as the shard is changed for good)
IFS='|' read -r k f p <<<"$(sqlite3 "$shards/people.db" "SELECT shard, face_id, person FROM member WHERE person_id = 0 AND person != $top ORDER BY shard DESC, face_id LIMIT 1")"
check "a person with a face alone in its shard" "yes" "$([[ -n $f ]] && echo yes)"
lface=$((f * 3 + k))
face_list='"\n".join(str(f["face_id"]) for f in d["faces"])'
req GET "/api/v1/people/$top"
want_faces=$( (jget "$face_list"; echo "$lface") | sort)
req POST "/api/v1/faces/$lface/move" "${json[@]}" --data "{\"to\": $top, \"from\": $p}"
expect_status "moving a face alone in its shard into a person" 200
expect_exit 0 "$FACESEARCH" --db "$shards/shard-00$k" people move "$f" --to new
req POST /api/v1/people/update
wait_people_done
check "an update after the shard grouped the face: done" "done" "$(jget 'd["state"]')"
req GET "/api/v1/people/$top"
check "an update after the shard grouped the face: the face and the person's own stay" \
  "$want_faces" "$(jget "$face_list" | sort)"
kill -INT "$mpirun_pid"
wait "$mpirun_pid"
mpirun_pid=""
check "SIGINT to mpirun: every rank exits" "yes" "$(ranks_gone)"
contains "SIGINT to mpirun: the server stops" "$(cat "$server_log")" "facesearch serve: stopping"

start_sharded 3 --shard-wait-ms 500
kill -STOP "${ranks[2]}"
req POST "/api/v1/search" --data-binary "@$samples/sample2.jpg" --max-time 30
expect_error "rank 2 stopped" 503
kill -TERM "${ranks[0]}"
wait "$mpirun_pid"
check "stop with a rank stopped: the run is aborted" "yes" "$([[ $? != 0 ]] && echo yes || echo no)"
mpirun_pid=""
check "stop with a rank stopped: every rank exits" "yes" "$(ranks_gone)"
contains "stop with a rank stopped: says so" "$(cat "$server_log")" \
  "facesearch serve: rank 2 is not answering: ending every rank"

# a rank that leaves (a signal) while the people are grouped fails the grouping, naming it: the
# rank is stopped before the grouping is asked, so that it sees its SIGTERM before the request
start_sharded 3
kill -STOP "${ranks[2]}"
req POST /api/v1/people/update
expect_status "grouping people, a rank about to leave" 202
kill -TERM "${ranks[2]}"
kill -CONT "${ranks[2]}"
wait_people_done
check "grouping people, a rank left: failed" "failed" "$(jget 'd["state"]')"
contains "grouping people, a rank left: says so" "$(jget 'd["error"]')" \
  "rank 2 of the sharded library left while grouping people"
kill -TERM "${ranks[0]}"
wait "$mpirun_pid"
mpirun_pid=""
check "grouping people, a rank left, stopped: every rank exits" "yes" "$(ranks_gone)"

# ---- a killed rank --------------------------------------------------------------------------
# by default mpirun ends the whole run when a rank dies: the server goes with it, nothing hangs
start_sharded 3
kill -KILL "${ranks[1]}"
wait "$mpirun_pid"
mpirun_pid=""
check "a rank killed: every rank exits" "yes" "$(ranks_gone)"
# with --enable-recovery the others go on: searches fail (503), the server answers
recovery=1 start_sharded 3 --shard-wait-ms 500
kill -KILL "${ranks[1]}"
req POST "/api/v1/search" --data-binary "@$samples/sample2.jpg" --max-time 30
expect_error "a rank killed, --enable-recovery" 503
req POST "/api/v1/search" --data-binary "@$samples/sample2.jpg" --max-time 30
expect_error "a rank killed, --enable-recovery, later" 503
req GET /api/v1/health --max-time 30
expect_status "a rank killed, --enable-recovery: the server answers" 200
kill -TERM "${ranks[0]}"
wait "$mpirun_pid"
mpirun_pid=""
check "a rank killed, --enable-recovery, stopped: every rank exits" "yes" "$(ranks_gone)"
contains "a rank killed, --enable-recovery, stopped: says so" "$(cat "$server_log")" \
  "facesearch serve: rank 1 is not answering: ending every rank"

# ---- errors ---------------------------------------------------------------------------------
expect_exit 2 mpi 2 "$FACESEARCH" serve --shards "$lib" --root "$lib" --port 0
expect_err_has "facesearch: $lib: not a sharded library (no $lib/manifest)"
expect_exit 2 mpi 3 "$FACESEARCH" serve --shards "$shards" --port 0 # the server cannot start: every rank ends
expect_err_has "facesearch: serve: give the folders it may index and show with --root DIR"
expect_exit 2 "$FACESEARCH" serve --root "$lib" --shard-wait-ms 100
expect_err_is "facesearch: serve: --shard-wait-ms goes with --shards DIR"
expect_exit 2 "$FACESEARCH" serve --root "$lib" --shards "$shards" --shard-wait-ms 0
expect_err_has "--shard-wait-ms"

finish
