#!/usr/bin/env bash
# The server's security (issue 14: it serves a person's private photos): only photos the index
# holds under the roots, by id; no path from a request reaches the file system (.., %2e%2e,
# encoded slashes, absolute paths, a symlink out of a root, a photo replaced by a link after it
# was indexed); index runs only under a root; 127.0.0.1 by default and a token for any other
# address; a missing or wrong token is 401 (header, bearer, cookie from the login); upload limits
# (bytes, pixels, decode time) are 413; oversized headers are refused; a burst of heavy requests gets 503
# beyond the queue; a client that disconnects mid-upload leaves the server serving.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"
. "$(dirname "$0")/serve_lib.sh"

root=$tmp/photos
outside=$tmp/outside
mkdir -p "$root/in" "$outside"
small_copy 1 480 "$root/in/s1.jpg"
small_copy 2 480 "$root/in/s2.jpg"
small_copy 4 480 "$outside/secret.jpg"
ln -s "$outside/secret.jpg" "$root/in/link.jpg"   # a link out of the root
ln -s "$outside" "$root/outdir"                    # a folder link out of the root
echo 'secret text' >"$outside/secret.txt"

# ---- refusing to start
expect_exit 2 "$FACESEARCH" serve --db "$tmp/db" --port 0
expect_err_has "--root"
expect_exit 2 "$FACESEARCH" serve --db "$tmp/db" --root "$tmp/nope" --port 0
expect_err_has "must be an existing folder"
expect_exit 2 "$FACESEARCH" serve --db "$tmp/db" --root "$root" --host 0.0.0.0 --port 0
expect_err_is "facesearch: --host 0.0.0.0: listening beyond this machine needs --token (or FACESEARCH_TOKEN)"
expect_exit 2 "$FACESEARCH" serve --db "$tmp/db" --root "$root" --host example --port 0
expect_err_has "not an IPv4 or IPv6 address"
expect_exit 2 "$FACESEARCH" serve --db "$tmp/db" --root "$root" --token short --port 0
expect_err_has "at least 8 characters"

start_server --db "$tmp/db" --root "$root" --workers 1 --max-upload 200000 --max-pixels 2000000 \
  --max-decode-ms 250
contains "listens on 127.0.0.1 by default" "$base" "http://127.0.0.1:"
req POST /api/v1/index
wait_index_done
check "indexed: s1, s2 and the link's target" "3 0" "$(jget '"%d %d" % (d["total"], d["failed"])')"

# ---- only photos under the roots, by id
secret_id=$(sqlite3 "$tmp/db/index.db" "SELECT id FROM files WHERE CAST(path AS TEXT) = '$outside/secret.jpg'")
s1_id=$(sqlite3 "$tmp/db/index.db" "SELECT id FROM files WHERE CAST(path AS TEXT) = '$root/in/s1.jpg'")
secret_face=$(sqlite3 "$tmp/db/index.db" "SELECT id FROM faces WHERE file_id = $secret_id LIMIT 1")
check "the link's target is indexed by its real path" 1 "$([[ -n "$secret_id" ]] && echo 1)"
for what in "" /image /thumbnail; do
  req GET "/api/v1/photos/$secret_id$what"
  expect_error "photo outside the roots$what" 404
done
req GET "/api/v1/faces/$secret_face/crop"
expect_error "face crop outside the roots" 404
req GET "/api/v1/faces/$secret_face/search"
expect_error "search by a face outside the roots" 404
small_copy 4 480 "$tmp/q4.jpg"
req POST "/api/v1/search?threshold=-1&top=0" --data-binary @"$tmp/q4.jpg"
check "search never shows a photo outside the roots" "0" "$(jget 'sum(1 for m in d["matches"] if not m["path"].startswith("'"$root"'/"))')"
# paths in the request never reach the file system
for path in "/api/v1/photos/..%2f..%2fetc%2fpasswd" "/api/v1/photos/%2e%2e" "/api/v1/photos/%2E%2E/image" \
            "/api/v1/../../etc/passwd" "/../../../etc/passwd" "/api/v1/photos/%2fetc%2fpasswd" \
            "/%2e%2e/%2e%2e/etc/passwd" "/api/v1/photos/$s1_id%00/image"; do
  req GET "$path"
  expect_error "traversal $path" 400
done
for path in "/etc/passwd" "//etc/passwd" "/api/v1/photos//etc/passwd" "/api/v1/photos/-1" \
            "/api/v1/photos/0$s1_id" "/api/v1/photos/1e3" "/secret.txt"; do
  req GET "$path"
  expect_error "not a photo id: $path" 404
done
req GET "/api/v1/photos/$s1_id/image?path=$outside/secret.jpg"
expect_status "a path parameter is ignored" 200
check "the photo of the id, not of the path" "480" "$(vipsheader -f width "$tmp/body")"
# folders of searches and runs: under a root only
for folder in "$outside" "$root/../outside" "$root/outdir" "in" "/" "$root/in/%2e%2e/%2e%2e"; do
  req POST /api/v1/index -d "{\"folder\": \"$folder\"}"
  expect_error "index run of $folder" 400
  req GET "/api/v1/faces/$secret_face/search?folder=$folder"
  check "search folder $folder: refused" 400 "$code"
done
# a photo replaced by a link after it was indexed is not followed
mv "$root/in/s2.jpg" "$tmp/s2.jpg"
ln -s "$outside/secret.jpg" "$root/in/s2.jpg"
s2_id=$(sqlite3 "$tmp/db/index.db" "SELECT id FROM files WHERE CAST(path AS TEXT) = '$root/in/s2.jpg'")
req GET "/api/v1/photos/$s2_id/image"
expect_error "a photo that became a link" 404
rm "$root/in/s2.jpg"
mv "$tmp/s2.jpg" "$root/in/s2.jpg"

# ---- limits
head -c 300000 /dev/urandom >"$tmp/big.bin"
req POST /api/v1/search --data-binary @"$tmp/big.bin"
expect_error "body over --max-upload" 413
req POST /api/v1/search -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/big.bin"
expect_error "chunked body over --max-upload" 413
vips black "$tmp/wide.jpg" 2000 1500   # 3 megapixels, 20 kB
req POST /api/v1/search --data-binary @"$tmp/wide.jpg"
expect_error "photo over --max-pixels" 413
# a progressive JPEG under both limits (180 kB, 2 megapixels) whose 14,000 scans each cost a pass
# over every block: seconds of decoding, stopped at --max-decode-ms; the worker is free again
python3 "$(dirname "$0")/slow_jpeg.py" "$tmp/slow.jpg" 1400 1400 14000
check "the slow JPEG is under --max-upload" 1 "$(( $(stat -c %s "$tmp/slow.jpg") < 200000 ))"
check "the slow JPEG is a JPEG of 1400 x 1400" "1400 1400" \
  "$(vipsheader -f width "$tmp/slow.jpg") $(vipsheader -f height "$tmp/slow.jpg")"
req POST /api/v1/search --data-binary @"$tmp/slow.jpg"
expect_error "photo slower to decode than --max-decode-ms" 413
check "the slow photo's message" "uploaded photo: takes too long to decode (over 250 ms)" \
  "$(jget 'd["error"]')"
contains "the slow photo's log line" "$(cat "$server_log")" \
  "POST /api/v1/search -> 413 uploaded photo: takes too long to decode (over 250 ms)"
req POST /api/v1/search --data-binary @"$root/in/s1.jpg"
expect_status "an upload after the slow one (the one worker is free)" 200
req GET /api/v1/health -H "X-Long: $(head -c 100000 /dev/zero | tr '\0' a)"
check "oversized header refused" 1 "$([[ $code == 413 || $code == 431 || $code == 400 || $code == 000 ]] && echo 1)"
req GET /api/v1/health
expect_status "still serving after the limits" 200
# a client that goes away mid-upload: the server frees it and goes on
python3 - "$base" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
for _ in range(20):
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(b"POST /api/v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 150000\r\n\r\n" + b"\xff" * 50000)
    s.close()
PY
req GET /api/v1/health
expect_status "still serving after clients left mid-upload" 200
req POST /api/v1/login -d '{"token": "whatever-token"}'
expect_error "login on a server without a token" 400
stop_server

# ---- a burst of searches by photo: one worker, a short queue, the rest 503 at once
start_server --db "$tmp/db" --root "$root" --workers 1
burst=$(python3 - "$base" "$samples/sample3.jpg" <<'PY'
import sys, threading, urllib.request, urllib.error
base, photo = sys.argv[1], open(sys.argv[2], "rb").read()
codes, go = [], threading.Event()
def one():
    go.wait()
    try:
        with urllib.request.urlopen(urllib.request.Request(base + "/api/v1/search", data=photo)) as r:
            codes.append(r.status)
    except urllib.error.HTTPError as e:
        codes.append(e.code)
threads = [threading.Thread(target=one) for _ in range(24)]
for t in threads: t.start()
go.set()
for t in threads: t.join()
print(" ".join(sorted(set(str(c) for c in codes))), codes.count(200))
PY
)
check "a burst: some served, the rest 503" "200 503" "${burst% *}"
check "a burst: at least the worker and its queue served" 1 "$(( ${burst##* } >= 5 ))"
req GET /api/v1/health
expect_status "serving after the burst" 200
stop_server

# ---- the token
token=correct-horse-battery
start_server --db "$tmp/db" --root "$root" --token "$token"
req GET /api/v1/stats
expect_error "no token" 401
req GET /api/v1/stats -H 'X-Facesearch-Token: wrong-horse-battery'
expect_error "wrong token" 401
req GET /api/v1/stats -H "X-Facesearch-Token: ${token}x"
expect_error "token with a byte more" 401
req GET /api/v1/stats -H "X-Facesearch-Token: ${token%?}"
expect_error "token with a byte less" 401
req GET "/api/v1/photos/$s1_id/image"
expect_error "a photo without the token" 401
req POST /api/v1/search --data-binary @"$samples/sample1.jpg"
expect_error "an upload without the token" 401
req GET /api/v1/stats -H "X-Facesearch-Token: $token"
expect_status "token in the header" 200
req GET /api/v1/stats -H "Authorization: Bearer $token"
expect_status "bearer token" 200
req GET /api/v1/stats -H "Cookie: facesearch_token=wrong"
expect_error "wrong cookie" 401
req POST /api/v1/login -d '{"token": "nope-nope-nope"}'
expect_error "login with a wrong token" 401
req POST /api/v1/login -d "{\"token\": \"$token\"}" -c "$tmp/cookies"
expect_status "login" 200
contains "login sets an HttpOnly cookie" "$(cat "$tmp/cookies")" "#HttpOnly_127.0.0.1"
req GET /api/v1/stats -b "$tmp/cookies"
expect_status "the login's cookie" 200
req GET /
expect_status "the page itself needs no token (it asks for one)" 200
stop_server
FACESEARCH_TOKEN=$token start_server --db "$tmp/db" --root "$root" --host 0.0.0.0
req GET /api/v1/stats
expect_error "0.0.0.0 with the token from the environment: no token" 401
req GET /api/v1/stats -H "X-Facesearch-Token: $token"
expect_status "0.0.0.0 with the token" 200
stop_server
check "log: one line per error, never the token" "" "$(grep -F "$token" "$server_log")"
finish
