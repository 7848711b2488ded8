#!/usr/bin/env bash
# The People API of `facesearch serve` (issue 15, the web UI part) with curl, on the small library
# of test_people_commands.sh (sample1: three people; p2 mirrored, twin: p1 and p2 side by side,
# tiny: faces too small to group): list, one person with its photos, the grouping run (in the
# background, its progress polled), rename, merge, move (to a person and to a new one), reject,
# the one-writer rule (409 while an index run writes, and while a grouping of a larger synthetic
# library runs: another grouping, an index run, a rename) and each endpoint's errors as
# {"error": ..., "code": N}; a token guards them like the rest.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"
. "$(dirname "$0")/serve_lib.sh"

root=$tmp/photos
mkdir -p "$root/lib"
lib=$root/lib
small_copy 1 640 "$lib/p1.jpg"
vips flip "$lib/p1.jpg" "$lib/p2.jpg" horizontal
small_copy 1 560 "$lib/p3.jpg"
vips arrayjoin "$lib/p1.jpg $lib/p2.jpg" "$lib/twin.jpg"
small_copy 4 200 "$lib/tiny.jpg"
expect_exit 0 "$FACESEARCH" --db "$tmp/db" index "$root"
start_server --db "$tmp/db" --root "$root" --workers 1
json() { curl -s -H 'Content-Type: application/json' "$@"; }

# wait_people_done: polls GET /api/v1/people/update until the grouping is not running; its last
# answer in $body, the stages seen in $stages.
wait_people_done() {
  local i
  stages=""
  for i in $(seq 1 1200); do
    req GET /api/v1/people/update
    [[ "$(jget 'd["state"]')" != running ]] && return 0
    stages+=" $(jget 'd["stage"]')"
    sleep 0.1
  done
}

# ---- before any grouping: nobody, every face unseen
req GET /api/v1/people
expect_status "people before update" 200
check "people before update: none, 16 unseen" "0 16" "$(jget '"%d %d" % (d["count"], d["unseen"])')"

# ---- the grouping run
req POST /api/v1/people/update -H 'Content-Type: application/json' -d '{"rebuild": 2}'
expect_error "update: bad rebuild" 400
req POST /api/v1/people/update -d '{"rebuild"'
expect_error "update: bad JSON" 400
req GET /api/v1/people/update
expect_status "update status before any" 200
check "update status before any: idle" "idle None" "$(jget '"%s %s" % (d["state"], d["stage"])')"
req PUT /api/v1/people/update
expect_error "update: PUT" 405
req POST /api/v1/people/update
expect_status "update started" 202
check "update started: running or already done" "True" \
  "$(jget 'd["state"] in ("running", "done") and d["rebuild"] is False')"
wait_people_done
check "update done: faces grouped unsure people new" "done 16 12 1 3 3" \
  "$(jget '" ".join(str(d[k]) for k in ("state", "faces", "grouped", "unsure", "people", "new_people"))')"
check "update done: no error, no stage" "'' None" "$(jget 'repr(d["error"]) + " " + str(d["stage"])')"

req GET /api/v1/people
expect_status "people" 200
check "people: three of four faces in four photos" "3 4 4|4 4|4 4" \
  "$(jget '"%d " % d["count"] + "|".join("%(faces)d %(photos)d" % p for p in d["people"])')"
check "people: unnamed, each with a representative face" "True" \
  "$(jget 'all(p["name"] is None and p["face_id"] > 0 for p in d["people"])')"
check "people: the unsure face" 1 "$(jget 'd["unsure"]')"
ids=($(jget '" ".join(str(p["id"]) for p in d["people"])'))
rep=$(jget 'd["people"][0]["face_id"]')
a=${ids[0]} b=${ids[1]} c=${ids[2]}
# the same people as the tool sees
check "people: as the tool lists them" "$(jget '" ".join(str(p["id"]) for p in d["people"])')" \
  "$("$FACESEARCH" --db "$tmp/db" people list --json | python3 -c \
     'import json,sys; print(" ".join(str(json.loads(l)["id"]) for l in sys.stdin if l.strip()))')"
req GET "/api/v1/faces/$rep/crop?size=96"
expect_status "representative face crop" 200
check "representative face crop: JPEG" image/jpeg "$ctype"

# ---- one person: its faces and their photos
req GET "/api/v1/people/$a"
expect_status "person" 200
check "person: id, faces" "$a 4 4" \
  "$(jget '"%d %d %d" % (d["person"]["id"], d["person"]["faces"], d["count"])')"
check "person: four distinct photos, each a photo id with a box" "4 True" \
  "$(jget '"%d %s" % (len({f["photo_id"] for f in d["faces"]}),
                      all(f["photo_id"] > 0 and len(f["box"]) == 4 for f in d["faces"]))')"
check "person: the photos" "p1.jpg p2.jpg p3.jpg twin.jpg" \
  "$(jget '" ".join(sorted(f["path"].rsplit("/", 1)[1] for f in d["faces"]))')"
p3_face=$(jget '[f["face_id"] for f in d["faces"] if f["path"].endswith("/p3.jpg")][0]')
p1_face=$(jget '[f["face_id"] for f in d["faces"] if f["path"].endswith("/p1.jpg")][0]')
photo=$(jget '[f["photo_id"] for f in d["faces"] if f["path"].endswith("/p1.jpg")][0]')
geometry=$(jget '[json.dumps([f[k] for k in ("box", "landmarks", "score", "quality")]) for f in d["faces"] if f["path"].endswith("/p1.jpg")][0]')
req GET "/api/v1/faces/$p1_face"
check "a person's face: its geometry as the face's own" "$geometry" \
  "$(jget 'json.dumps([d[k] for k in ("box", "landmarks", "score", "quality")])')"
req GET "/api/v1/photos/$photo"
expect_status "a person's photo" 200
req GET /api/v1/people/999999
expect_error "no such person" 404
req GET /api/v1/people/abc
expect_error "person: not an id" 404
req DELETE "/api/v1/people/$a"
expect_error "person: DELETE" 405

# ---- rename
req POST "/api/v1/people/$a/name" -d '{"name": "Alice"}'
expect_status "name" 200
check "name: answered" Alice "$(jget 'd["person"]["name"]')"
req GET /api/v1/people
check "name: listed" Alice "$(jget '[p["name"] for p in d["people"] if p["id"] == '"$a"'][0]')"
check "name: the tool sees it" Alice \
  "$("$FACESEARCH" --db "$tmp/db" people list --json | python3 -c \
     'import json,sys; print([r["name"] for r in map(json.loads, sys.stdin)
                              if r["id"] == '"$a"'][0])')"
req POST "/api/v1/people/$b/name" -d '{"name": "Alice"}'
expect_error "name: taken by another person" 400
req POST "/api/v1/people/$b/name" -d '{"nom": "Bob"}'
expect_error "name: missing" 400
req POST "/api/v1/people/$b/name" -d "{\"name\": \"$(printf 'x%.0s' $(seq 1 201))\"}"
expect_error "name: too long" 400
req POST "/api/v1/people/$b/name" -d 'not json'
expect_error "name: not JSON" 400
req POST /api/v1/people/999999/name -d '{"name": "Zed"}'
expect_error "name: no such person" 404
req POST "/api/v1/people/$b/name" -d '{"name": "Bob"}'
req POST "/api/v1/people/$b/name" -d '{"name": ""}'
expect_status "name: removed" 200
check "name: removed" None "$(jget 'd["person"]["name"]')"

# ---- merge: refused while both hold faces of one photo
req POST "/api/v1/people/$a/merge" -d "{\"from\": $b}"
expect_error "merge: two people of one photo" 400
req POST "/api/v1/people/$a/merge" -d "{\"from\": $a}"
expect_error "merge: with itself" 400
req POST "/api/v1/people/$a/merge" -d '{}'
expect_error "merge: no from" 400
req POST "/api/v1/people/$a/merge" -d '{"from": "x"}'
expect_error "merge: from not an id" 400
req POST "/api/v1/people/$a/merge" -d '{"from": 999999}'
expect_error "merge: no such person" 404

# ---- move: to a new person, then merge that person back
req POST "/api/v1/faces/$p3_face/move" -d '{"to": "new"}'
expect_status "move to a new person" 200
new=$(jget 'd["person"]["id"]')
check "move: the new person holds the face" "1 $p3_face" \
  "$(jget '"%d %d" % (d["count"], d["faces"][0]["face_id"])')"
check "move: the face is pinned" True "$(jget 'd["faces"][0]["pinned"]')"
req GET "/api/v1/people/$a"
check "move: Alice lost the face" 3 "$(jget 'd["count"]')"
req POST "/api/v1/people/$a/merge" -d "{\"from\": $new}"
expect_status "merge" 200
check "merge: Alice has four faces again" "Alice 4" \
  "$(jget '"%s %d" % (d["person"]["name"], d["count"])')"
req GET "/api/v1/people/$new"
expect_error "merge: the merged person is gone" 404
req POST "/api/v1/faces/$p1_face/move" -d "{\"to\": $b}"
expect_error "move: the person has a face of that photo" 400
req POST "/api/v1/faces/$p1_face/move" -d '{"to": 999999}'
expect_error "move: no such person" 404
req POST "/api/v1/faces/999999/move" -d "{\"to\": $b}"
expect_error "move: no such face" 404
req POST "/api/v1/faces/$p1_face/move" -d '{}'
expect_error "move: no to" 400
req POST "/api/v1/faces/$p1_face/move" -d '{"to": "elsewhere"}'
expect_error "move: to not an id" 400

# ---- reject: out of the person for good
req POST "/api/v1/faces/$p1_face/reject" -d "{\"from\": $a}"
expect_status "reject" 200
check "reject: Alice has three faces" "3 False" \
  "$(jget '"%d %s" % (d["count"], any(f["face_id"] == '"$p1_face"' for f in d["faces"]))')"
req POST "/api/v1/faces/$p1_face/reject" -d "{\"from\": $a}"
expect_error "reject: not in the person" 400
req POST "/api/v1/faces/$p1_face/reject" -d '{}'
expect_error "reject: no from" 400
req POST /api/v1/faces/999999/reject -d "{\"from\": $a}"
expect_error "reject: no such face" 404
req GET "/api/v1/faces/$p1_face/reject"
expect_error "reject: GET" 405
req POST /api/v1/people/update
expect_status "update after the fixes" 202
wait_people_done
check "update after the fixes: done" "done" "$(jget 'd["state"]')"
req GET "/api/v1/people/$a"
check "reject: never put back by a grouping" "False" \
  "$(jget 'any(f["face_id"] == '"$p1_face"' for f in d["faces"])')"

# ---- one writer: 409 while an index run writes
mkdir "$root/many"
for i in $(seq 1 40); do small_copy $((i % 6 + 1)) $((1600 + i)) "$root/many/p$i.jpg"; done
req POST /api/v1/index -d "{\"folder\": \"$root/many\"}"
expect_status "long run" 202
req POST /api/v1/people/update
expect_error "update while an index run writes" 409
req POST "/api/v1/people/$b/name" -d '{"name": "Bob"}'
expect_error "name while an index run writes" 409
req GET /api/v1/people
expect_status "people while an index run writes" 200
req DELETE /api/v1/index
wait_index_done
req POST "/api/v1/people/$b/name" -d '{"name": "Bob"}'
expect_status "name after the run" 200
stop_server
check "server exit status" 0 "$server_status"

# ---- one writer while a grouping runs: a synthetic library of 20,000 faces (build/bench's
# serve_index: face-like embeddings, recorded for the default pack) takes seconds to regroup
serve_index=$(dirname "$FACESEARCH")/bench/serve_index
[[ -x "$serve_index" ]] || { echo "FAIL: $serve_index is not built" >&2; exit 1; }
expect_exit 0 "$serve_index" "$tmp/big" "$root/synthetic" 20000
start_server --db "$tmp/big" --root "$root" --workers 1
req POST /api/v1/people/update -d '{"rebuild": 1}'
expect_status "big update started" 202
req POST /api/v1/people/update
expect_error "update while another runs" 409
check "update while another runs: said so" "True" "$(jget '"people update" in d["error"]')"
req POST /api/v1/index
expect_error "index run while a grouping runs" 409
req POST /api/v1/people/1/name -d '{"name": "Bob"}'
expect_error "name while a grouping runs" 409
req GET /api/v1/people/update
check "big update: running, with a stage and the rebuild flag" "running True True" \
  "$(jget '"%s %s %s" % (d["state"], d["stage"] in ("loading", "neighbours", "grouping", "writing"), d["rebuild"])')"
wait_people_done
check "big update: done, every face looked at" "done 20000" "$(jget '"%s %d" % (d["state"], d["faces"])')"
check "big update: progress seen while it ran" "True" "$([[ -n "$stages" ]] && echo True || echo False)"
req POST /api/v1/index
expect_status "index run after the grouping" 202
wait_index_done
stop_server
check "server exit status after the big update" 0 "$server_status"

# ---- a token guards the people API like the rest
token=correct-horse-battery
start_server --db "$tmp/db" --root "$root" --workers 1 --token "$token"
req GET /api/v1/people
expect_error "people without the token" 401
req POST /api/v1/people/update
expect_error "update without the token" 401
req GET /api/v1/people -H "X-Facesearch-Token: $token"
expect_status "people with the token" 200
stop_server
finish
