#!/usr/bin/env bash
# The server's JSON API end to end (issue 14), with curl against `facesearch serve` on the sample
# photos: health, models, stats, an index run (progress by polling and by Server-Sent Events,
# results), search by an uploaded photo (raw body and multipart) and by an indexed face id with
# threshold, top and folder, photos and faces by id, the upright image, thumbnails (cached beside
# the index, replaced when the photo changes), face crops, the page itself, and every error status
# (400, 404, 405, 409, 413) as {"error": ..., "code": N} with one line in the server's log.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"
. "$(dirname "$0")/serve_lib.sh"

root=$tmp/photos
mkdir -p "$root/a" "$root/b"
for i in 1 2 3; do small_copy $i 640 "$root/a/s$i.jpg"; done
small_copy 4 640 "$root/b/s4.jpg"
q=$samples/sample1.jpg
start_server --db "$tmp/db" --root "$root" --workers 1

# ---- health, models, the page
req GET /api/v1/health
expect_status health 200
check "health: status" ok "$(jget 'd["status"]')"
check "health: json" "application/json" "$ctype"
req GET /api/v1/models
expect_status models 200
check "models: active pack" default "$(jget 'd["active"]["name"]')"
check "models: threshold" 0.34 "$(jget 'round(d["active"]["threshold"], 2)')"
check "models: files with sha256" True "$(jget 'all(len(f["sha256"]) == 64 for f in d["active"]["files"])')"
req GET /
expect_status page 200
contains "page is html" "$ctype" "text/html"
contains "page" "$body" "<title>facesearch"
req GET /app.js
expect_status "page script" 200
contains "script type" "$ctype" "javascript"

# ---- an empty index, then an index run with its progress
req GET /api/v1/stats
check "stats before: files" 0 "$(jget 'd["files"]')"
check "stats: roots" "['$root']" "$(jget 'd["roots"]')"
req GET /api/v1/index
check "no run yet" idle "$(jget 'd["state"]')"
curl -sN --max-time 60 "$base/api/v1/index/events" >"$tmp/events" &
events_pid=$!
sleep 0.3
req POST /api/v1/index -H 'Content-Type: application/json' -d "{\"folder\": \"$root/a\"}"
expect_status "start a run" 202
check "run state" running "$(jget 'd["state"]')"
check "run folder" "$root/a" "$(jget 'd["folder"]')"
wait_index_done
check "run done" done "$(jget 'd["state"]')"
check "run: 3 of 3 photos" "3 3 3" "$(jget '"%d %d %d" % (d["done"], d["total"], d["added"])')"
check "run: faces" 9 "$(jget 'd["faces"]')"
wait "$events_pid"
contains "SSE: progress events" "$(cat "$tmp/events")" "event: progress"
check "SSE: the last event is the finished run" done \
  "$(grep '^data: ' "$tmp/events" | tail -1 | cut -c7- | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
# the whole roots (no folder): b/ is added, a/ unchanged
req POST /api/v1/index
expect_status "index every root" 202
wait_index_done
check "second run: 1 new, 3 unchanged" "1 3" "$(jget '"%d %d" % (d["added"], d["unchanged"])')"
req GET /api/v1/stats
check "stats after: files faces folders" "4 13 2" "$(jget '"%d %d %d" % (d["files"], d["faces"], d["folders"])')"

# ---- search by an uploaded photo: raw body, then multipart with fields
req POST "/api/v1/search?face=2" --data-binary @"$q" -H 'Content-Type: image/jpeg'
expect_status "search by photo" 200
check "query: 3 faces, face 2 used" "3 2" "$(jget '"%d %d" % (len(d["query"]["faces"]), d["query"]["face"])')"
check "query size" "1920 1280" "$(jget '"%d %d" % (d["query"]["width"], d["query"]["height"])')"
check "threshold: the pack's" 0.34 "$(jget 'round(d["threshold"], 2)')"
check "matches: s1 then s4" "$root/a/s1.jpg $root/b/s4.jpg" "$(jget '" ".join(m["path"] for m in d["matches"])')"
check "count" 2 "$(jget 'd["count"]')"
check "best first" True "$(jget 'all(a["similarity"] >= b["similarity"] for a, b in zip(d["matches"], d["matches"][1:]))')"
check "a match has every field" "True" "$(jget 'all(set(m) >= {"photo_id","face_id","face","similarity","path","box","landmarks","score"} and len(m["landmarks"]) == 5 for m in d["matches"])')"
# the box is in pixels of the upright photo, the same as the index holds (the copies are 640 wide)
check "box within the photo" True "$(jget 'all(0 <= m["box"][0] < m["box"][2] <= 640 for m in d["matches"])')"
face_id=$(jget 'd["matches"][0]["face_id"]')
photo_id=$(jget 'd["matches"][0]["photo_id"]')
box=$(jget 'd["matches"][0]["box"]')
req POST /api/v1/search -F "photo=@$q" -F face=2 -F top=1
expect_status "multipart search" 200
check "multipart: top 1" "$root/a/s1.jpg" "$(jget '" ".join(m["path"] for m in d["matches"])')"
req POST "/api/v1/search?face=2&folder=$root/b" --data-binary @"$q"
check "folder filter" "$root/b/s4.jpg" "$(jget '" ".join(m["path"] for m in d["matches"])')"
req POST "/api/v1/search?face=2&threshold=0.9" --data-binary @"$q"
check "threshold 0.9" 1 "$(jget 'd["count"]')"
req POST "/api/v1/search?threshold=-1&top=0" --data-binary @"$q"
check "threshold -1, top 0: every face under the roots" 13 "$(jget 'd["count"]')"
# a photo with no face: an empty answer, not an error
vips black "$tmp/black.png" 200 200
req POST /api/v1/search --data-binary @"$tmp/black.png"
expect_status "no face" 200
check "no face: no query face, no match" "0 0" "$(jget '"%d %d" % (len(d["query"]["faces"]), d["count"])')"

# ---- search by an indexed face
req GET "/api/v1/faces/$face_id/search?top=5"
expect_status "search by face" 200
check "by face: itself first" "$face_id 1.0" "$(jget '"%d %.1f" % (d["matches"][0]["face_id"], d["matches"][0]["similarity"])')"
check "by face: then s4" "$root/b/s4.jpg" "$(jget 'd["matches"][1]["path"]')"
check "by face: the query" "$face_id $photo_id" "$(jget '"%d %d" % (d["query"]["face_id"], d["query"]["photo_id"])')"
req GET "/api/v1/faces/$face_id/search?top=1"
check "by face: top 1" 1 "$(jget 'd["count"]')"

# ---- photos and faces by id
req GET "/api/v1/photos/$photo_id"
expect_status photo 200
check "photo: path, size" "$root/a/s1.jpg 640 427" "$(jget '"%s %d %d" % (d["path"], d["width"], d["height"])')"
check "photo: its faces" 3 "$(jget 'len(d["faces"])')"
check "photo: the matched face's box" "$box" "$(jget '[f["box"] for f in d["faces"] if f["face_id"] == '"$face_id"'][0]')"
req GET "/api/v1/faces/$face_id"
expect_status face 200
check "face: photo and box" "$photo_id $box" "$(jget '"%d %s" % (d["photo_id"], d["box"])')"
req GET "/api/v1/photos/$photo_id/image"
expect_status image 200
check "image: jpeg" image/jpeg "$ctype"
check "image: upright full size" "640 427" "$(vipsheader -f width "$tmp/body") $(vipsheader -f height "$tmp/body")"
req GET "/api/v1/photos/$photo_id/thumbnail?size=100"
expect_status thumbnail 200
check "thumbnail: 100 wide" "100 67" "$(vipsheader -f width "$tmp/body") $(vipsheader -f height "$tmp/body")"
check "thumbnail cached beside the index" 1 "$(ls "$tmp/db/thumbnails/$photo_id" | wc -l)"
req GET "/api/v1/photos/$photo_id/thumbnail"
check "default thumbnail: 320 wide" 320 "$(vipsheader -f width "$tmp/body")"
req GET "/api/v1/faces/$face_id/crop?size=64"
expect_status crop 200
check "crop: 64 on its longer side" 64 "$(python3 -c "import sys; print(max(int(x) for x in sys.argv[1:]))" $(vipsheader -f width "$tmp/body") $(vipsheader -f height "$tmp/body"))"
# a changed photo gets a new thumbnail (the cached one is dropped)
cached=$(ls "$tmp/db/thumbnails/$photo_id" | grep '^100-')
small_copy 2 300 "$tmp/other.jpg"
cp "$tmp/other.jpg" "$root/a/s1.jpg"
touch -d '2020-01-01' "$root/a/s1.jpg"
req GET "/api/v1/photos/$photo_id/thumbnail?size=100"
expect_status "changed photo's thumbnail" 200
check "changed photo: the new picture" "100 71" "$(vipsheader -f width "$tmp/body") $(vipsheader -f height "$tmp/body")"
check "changed photo: old thumbnail dropped" "" "$(ls "$tmp/db/thumbnails/$photo_id" | grep -x "$cached")"
small_copy 1 640 "$root/a/s1.jpg"

# ---- errors: JSON, the right status, one log line each
log_lines() { grep -c ' -> ' "$server_log"; }
before=$(log_lines)
req GET /api/v1/photos/999999
expect_error "unknown photo" 404
req GET /api/v1/faces/999999
expect_error "unknown face" 404
req GET /api/v1/faces/999999/search
expect_error "search by an unknown face" 404
req GET /api/v1/photos/abc
expect_error "not an id" 404
req GET /api/v1/nothing
expect_error "unknown endpoint" 404
req GET /nothing.html
expect_error "unknown page" 404
req DELETE /api/v1/stats
expect_error "wrong method" 405
req GET "/api/v1/photos/$photo_id/thumbnail?size=5"
expect_error "thumbnail too small" 400
req GET "/api/v1/photos/$photo_id/thumbnail?size=big"
expect_error "thumbnail size not a number" 400
req GET "/api/v1/faces/$face_id/search?threshold=2"
expect_error "threshold out of range" 400
req GET "/api/v1/faces/$face_id/search?top=-1"
expect_error "negative top" 400
req POST /api/v1/search
expect_error "no photo" 400
req POST /api/v1/search --data-binary 'not a photo at all'
expect_error "not an image" 400
req POST /api/v1/search -H 'Content-Type: multipart/form-data; boundary=xyz' --data-binary 'junk'
expect_error "bad multipart" 400
req POST /api/v1/search -F "other=@$q"
expect_error "multipart without a photo" 400
req POST "/api/v1/search?face=9" --data-binary @"$q"
expect_error "no such query face" 400
req POST /api/v1/index -d '{"folder": '
expect_error "bad JSON" 400
req GET "/api/v1/photos/$photo_id?x=%zz"
expect_error "bad escape in the query" 400
req DELETE /api/v1/index
expect_error "cancel without a run" 409
after=$(log_lines)
check "one log line per error" 19 "$((after - before))"
contains "log line: method, path, status, message" "$(grep 'photos/999999 -> 404' "$server_log")" \
  "facesearch serve: GET /api/v1/photos/999999 -> 404 photo 999999: not in the index"

# ---- 409: a run while one is active; cancel keeps what is done
mkdir "$root/many"
# 40 distinct photos (no two alike: none is a copy of another), one worker: seconds of work
for i in $(seq 1 40); do small_copy $((i % 6 + 1)) $((1600 + i)) "$root/many/p$i.jpg"; done
req POST /api/v1/index -d "{\"folder\": \"$root/many\"}"
expect_status "long run" 202
req POST /api/v1/index
expect_error "a second run" 409
req GET "/api/v1/faces/$face_id/search?top=5"
expect_status "searching while the run writes" 200
check "searching while the run writes: the face itself first" "$face_id" "$(jget 'd["matches"][0]["face_id"]')"
req DELETE /api/v1/index
expect_status "cancel" 200
wait_index_done
check "cancelled" cancelled "$(jget 'd["state"]')"
# the tool indexing: the server's run is refused at once
"$FACESEARCH" --db "$tmp/db" index "$root/many" 2>/dev/null &
cli_pid=$!
for i in $(seq 1 100); do
  req POST /api/v1/index
  [[ $code == 409 || $code == 202 ]] && break
done
if [[ $code == 202 ]]; then wait_index_done; fi
wait "$cli_pid"
# whichever came first, both finish and the index holds every photo once
wait_index_done
req GET /api/v1/stats
check "every photo indexed once" 44 "$(jget 'd["files"]')"

# ---- stop: clean exit status
stop_server
check "server exit status after SIGTERM" 0 "$server_status"
finish
