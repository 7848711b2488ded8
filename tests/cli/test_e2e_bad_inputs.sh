#!/usr/bin/env bash
# End to end, bad files inside an indexed folder (issues 4 and 5): a zero-byte .jpg, a truncated
# JPEG, a text file named .jpg, 64 MB of zeros named .jpg, a PNG header claiming 100000x100000, an
# unreadable file (mode 000; as root the runs drop to user nobody with setpriv so that the mode
# counts), and a photo deleted during the run (after the walk, while the big file is hashed) are
# each reported exactly once as "facesearch: PATH: reason", counted as failed, and the run
# completes with exit 2; a 1x1 image and a photo with a non-UTF-8 name are indexed (the 1x1 image
# has no face); the good photo is found. search --no-index reports the same files once each.
# Issue 11 item 4: a file that failed is reported and counted (exit 2) on every later run until it
# changes or goes; a JPEG missing only its end marker is decoded, with a warning.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

# Runs as nobody when we are root, with a private copy of the default pack it can read.
as_user=()
if [[ $(id -u) -eq 0 ]]; then
  setpriv --reuid=65534 --regid=65534 --clear-groups true ||
    { echo "FAIL: running as root and cannot drop privileges with setpriv" >&2; exit 1; }
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  mkdir -p "$tmp/data/models"
  cp -r "$(data_dir)/models/default" "$tmp/data/models/"
  export FACESEARCH_DATA_DIR=$tmp/data
  chmod -R a+rX "$tmp"
  mkdir "$tmp/db" && chown 65534:65534 "$tmp/db"
fi
fs() { "${as_user[@]}" "$FACESEARCH" "$@"; }

lib=$tmp/lib
mkdir "$lib"
small_copy 1 480 "$lib/good.jpg"
cp "$samples/sample1.jpg" "$tmp/query.jpg"
small_copy 2 480 "$lib/"$'\xff'".jpg"
: >"$lib/zero.jpg"
head -c 3000 "$lib/good.jpg" >"$lib/trunc.jpg"
echo "not a photo" >"$lib/text.jpg"
truncate -s 256M "$lib/a_zeros.jpg"
vips black "$lib/one.png" 1 1
python3 - "$lib/huge.png" <<'EOF'
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
ihdr = struct.pack('>IIBBBBB', 100000, 100000, 8, 2, 0, 0, 0)
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) +
                              chunk(b'IDAT', zlib.compress(b'\0' * 100)) + chunk(b'IEND', b''))
EOF
small_copy 3 480 "$lib/noperm.jpg"
chmod 000 "$lib/noperm.jpg"
small_copy 4 480 "$lib/b_gone.jpg"
chmod -R a+rX "$lib" && chmod 000 "$lib/noperm.jpg"

# (libvips's ImageMagick loader claims a file of zeros; no image signature: "not an image")
problems="facesearch: $lib/a_zeros.jpg: not an image
facesearch: $lib/b_gone.jpg: No such file or directory
facesearch: $lib/huge.png: image too large (100000 x 100000 pixels, limit 100000000)
facesearch: $lib/noperm.jpg: Permission denied
facesearch: $lib/text.jpg: not an image
facesearch: $lib/trunc.jpg: truncated or corrupt image (jpeg: Premature end of JPEG file)
facesearch: $lib/zero.jpg: empty file"

# Delete b_gone.jpg once the run reads a_zeros.jpg: the walk is over, and with one worker,
# which takes the photos in path order and reads each once, b_gone.jpg comes next.
"${as_user[@]}" "$FACESEARCH" --threads 1 index "$lib" >"$tmp/out" 2>"$tmp/err" &
pid=$!   # setpriv execs: this is facesearch itself
while kill -0 $pid 2>/dev/null; do
  if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q a_zeros.jpg; then rm "$lib/b_gone.jpg"; break; fi
  sleep 0.002
done
wait $pid
status=$?
out=$(cat "$tmp/out"); err=$(without_progress <"$tmp/err")
check "deleted during the run" "gone" "$([[ -e $lib/b_gone.jpg ]] && echo there || echo gone)"
check "index exit status" "2" "$status"
expect_out_is ""
check "each problem once" "$problems" "$(grep -v ' photos: ' <<<"$err" | sort)"
check "summary" "10 photos: 3 new, 0 changed, 0 unchanged, 0 moved, 0 removed, 7 failed; 6 faces" \
  "$(tail -1 <<<"$err" | sed -E 's/ in [0-9.]+s$//')"

expect_exit 0 fs stats
check "stats" "files    10 (7 failed)
faces    6" "$(head -2 <<<"$out")"
expect_exit 0 fs search -q "$tmp/query.jpg" --face 2 --threshold -1 --json
# (the name's byte 0xff, not UTF-8, comes as \udcff: os.fsencode gives the byte back)
check "good photos searchable" "$lib/good.jpg 3|$lib/"$'\xff'".jpg 3" "$(python3 -c '
import collections, json, os, sys
n = collections.Counter(json.loads(l)["path"] for l in sys.stdin)
sys.stdout.buffer.write(b"|".join(b"%s %d" % (os.fsencode(p), c) for p, c in sorted(n.items())))' <<<"$out")"

# The next run: the vanished file goes; the photos that were read but could not be decoded are
# not decoded again, but reported and counted again (exit 2); the unreadable one is tried again.
still=$(grep -v b_gone <<<"$problems")
expect_exit 2 fs index "$lib"
check "second run: every failed file reported again" "$still" "$(grep '^facesearch: ' <<<"$err" | sort)"
check "second run: summary" "9 photos: 0 new, 0 changed, 3 unchanged, 0 moved, 1 removed, 6 failed; 0 faces" \
  "$(grep ' photos: ' <<<"$err" | sed -E 's/ in [0-9.]+s$//')"
expect_exit 2 fs index "$lib"
check "third run: the same" "$still" "$(grep '^facesearch: ' <<<"$err" | sort)"
# Made readable (chmod leaves size and mtime as they were): indexed on the next run.
chmod 644 "$lib/noperm.jpg"
expect_exit 2 fs index "$lib"
check "readable again" "9 photos: 0 new, 1 changed, 3 unchanged, 0 moved, 0 removed, 5 failed; 3 faces" \
  "$(grep ' photos: ' <<<"$err" | sed -E 's/ in [0-9.]+s$//')"
# A fixed file is processed again, and no longer reported; removed files are no longer reported.
small_copy 5 480 "$lib/trunc.jpg"
chmod a+r "$lib/trunc.jpg"
# --no-index: the same problems, once each; the good photo still matches; exit 2.
expect_exit 2 fs search --no-index -q "$tmp/query.jpg" --face 2 -t "$lib"
check "--no-index match" "1" "$(grep -c "  $lib/good.jpg$" <<<"$out")"
check "--no-index problems" "$(grep -v -e b_gone -e trunc -e noperm <<<"$problems")
searched 5 photos (14 faces); some photos could not be read
1 match" "$(sort <<<"$(grep '^facesearch: ' <<<"$err")"; grep -v '^facesearch: ' <<<"$err")"

rm "$lib/text.jpg" "$lib/zero.jpg"
expect_exit 2 fs index "$lib"
check "fixed and removed files" "$(grep -e a_zeros -e huge <<<"$problems")
7 photos: 0 new, 1 changed, 4 unchanged, 0 moved, 2 removed, 2 failed; 5 faces" \
  "$(sed -E 's/ in [0-9.]+s$//' <<<"$err")"
rm "$lib/a_zeros.jpg" "$lib/huge.png"
expect_exit 0 fs index "$lib"
check "clean at last" "5 photos: 0 new, 0 changed, 5 unchanged, 0 moved, 2 removed, 0 failed; 0 faces" \
  "$(sed -E 's/ in [0-9.]+s$//' <<<"$err")"

# A JPEG missing only its 2-byte end marker: decoded, with a warning, the same faces as the
# whole file; missing one more byte (scan data): truncated.
small_copy 4 480 "$tmp/whole.jpg"
head -c -2 "$tmp/whole.jpg" >"$lib/no_end.jpg"
head -c -3 "$tmp/whole.jpg" >"$lib/no_end3.jpg"
expect_exit 0 "$FACESEARCH" detect --json "$lib/no_end.jpg"
expect_err_is "facesearch: $lib/no_end.jpg: warning: JPEG end marker missing, decoded what is present"
check "no end marker: the faces of the whole file" \
  "$("$FACESEARCH" detect --json "$tmp/whole.jpg" | sed 's/"path":"[^"]*"//')" "$(sed 's/"path":"[^"]*"//' <<<"$out")"
expect_exit 2 "$FACESEARCH" detect "$lib/no_end3.jpg"
expect_err_is "facesearch: $lib/no_end3.jpg: truncated or corrupt image (jpeg: Premature end of JPEG file)"
chmod -R a+rX "$lib"
expect_exit 2 fs index "$lib"
check "index: warning for the first, failure for the second" \
  "7 photos: 1 new, 0 changed, 5 unchanged, 0 moved, 0 removed, 1 failed; 4 faces
facesearch: $lib/no_end.jpg: warning: JPEG end marker missing, decoded what is present
facesearch: $lib/no_end3.jpg: truncated or corrupt image (jpeg: Premature end of JPEG file)" \
  "$(sed -E 's/ in [0-9.]+s$//' <<<"$err" | sort)"
rm "$lib/no_end.jpg" "$lib/no_end3.jpg"
expect_exit 0 fs index "$lib"

finish
