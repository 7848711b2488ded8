#!/usr/bin/env bash
# End to end, issue 11 item 7 (the smaller ones): an unknown option that looks like a file name
# (detect -dash.png) names that argument once; "1 photo" / "1 face" in summaries; boxes clamped
# to the image (no negative or -0 coordinates); non-UTF-8 names stay distinct in --json (\udcXX,
# Python's surrogateescape); control characters in names are escaped on a terminal (\xNN) and
# written as they are into a pipe. (Missing roots, remove on a missing --db and -o inside -t are
# in test_e2e_paths.sh and test_e2e_concurrency.sh.)
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

cd "$tmp"
small_copy 1 480 s1.jpg

# ---- unknown options ------------------------------------------------------------------------------
expect_exit 2 "$FACESEARCH" detect -dash.png
expect_err_is "facesearch: detect: -dash.png: unknown option"
expect_exit 2 "$FACESEARCH" detect s1.jpg -x
expect_err_is "facesearch: detect: -x: unknown option"
expect_exit 2 "$FACESEARCH" search -q s1.jpg -Z
expect_err_is "facesearch: search: -Z: unknown option"
expect_exit 2 "$FACESEARCH" index --bogus .
expect_err_is "facesearch: index: --bogus: unknown option"
# a file whose name starts with '-' is named after --
cp s1.jpg ./-dash.jpg
expect_exit 0 "$FACESEARCH" detect -- -dash.jpg
check "detect -- -dash.jpg" "-dash.jpg: 480x320, 3 faces" "$(head -1 <<<"$out")"

# ---- singular and plural ----------------------------------------------------------------------------
mkdir one
vips crop "$samples/sample1.jpg" one/face.jpg 774 373 312 337   # one face
expect_exit 0 "$FACESEARCH" index one
check "index summary, one photo and one face" "1 photo: 1 new, 0 changed, 0 unchanged, 0 moved, 0 removed, 0 failed; 1 face in" \
  "$(sed -E 's/ [0-9.]+s$//' <<<"$err")"
expect_exit 0 "$FACESEARCH" search -q one/face.jpg --no-index -t one
check "search summary, one photo and one face" "searched 1 photo (1 face)" "$(head -1 <<<"$err")"

# ---- boxes inside the image -----------------------------------------------------------------------
# sample1's face 2 spans x 824-1036: a crop starting at x 900 cuts it at the left border
vips crop "$samples/sample1.jpg" cut.jpg 900 300 500 500
expect_exit 0 "$FACESEARCH" detect --json cut.jpg
check "boxes clamped to the image" "ok" "$(python3 -c '
import json,sys
d=json.loads(sys.stdin.read()); bad=[f["box"] for f in d["faces"]
  if not (0 <= f["box"][0] < f["box"][2] <= d["width"] and 0 <= f["box"][1] < f["box"][3] <= d["height"])]
print("ok" if d["faces"] and not bad else "bad: %s" % (bad or "no face"))' <<<"$out")"
check "a face at the left border starts at 0" "yes" "$(grep -q '"box":\[0\.0,' <<<"$out" && echo yes || echo "no: $out")"
check "no -0" "" "$(grep -o -- '-0\.0' <<<"$out")"
expect_exit 0 "$FACESEARCH" detect cut.jpg
check "no negative coordinates in the table" "" "$(grep -E 'box -|,-' <<<"$out")"

# ---- names: non-UTF-8 in JSON, control characters on a terminal -----------------------------------
mkdir names
cp s1.jpg "names/caf"$'\xe9'".jpg"     # Latin-1
cp s1.jpg "names/café.jpg"               # UTF-8
expect_exit 0 "$FACESEARCH" detect --json names/*
check "two distinct names in JSON" "2" "$(python3 -c '
import json,sys; print(len({json.loads(l)["path"] for l in sys.stdin}))' <<<"$out")"
check "the Latin-1 byte as \\udce9, round trip to the bytes" "$(realpath names)/caf"$'\xe9'".jpg" \
  "$(python3 -c '
import json,os,sys
for l in sys.stdin:
    p=json.loads(l)["path"]
    if "\udce9" in p: sys.stdout.buffer.write(os.fsencode(p))' <<<"$out")"
cp s1.jpg "names/a"$'\n'"b"$'\033'"[31m.jpg"
expect_exit 0 "$FACESEARCH" detect "names/a"$'\n'"b"$'\033'"[31m.jpg"
check "into a pipe: the name as it is" "names/a" "$(head -1 <<<"$out")"
if command -v script >/dev/null; then
  tty_out=$(script -qec "\"$FACESEARCH\" detect names/a*" /dev/null | tr -d '\r' | head -1)
  check "on a terminal: control characters escaped" 'names/a\x0ab\x1b[31m.jpg: 480x320, 3 faces' "$tty_out"
fi

finish
