#!/usr/bin/env bash
# End to end, `detect` and `compare` on the real sample photos and the default pack (issue 4):
# table and --json formats (boxes inside the image, best score first), --draw writes a copy,
# --min-size filters; EXIF-rotated copies (orientations 3, 5, 6, 8) give the boxes of the upright
# photo, a mirrored copy gives mirrored boxes, a close-up crop gives one tight box, a downscale with
# 20-30 px faces finds every face. compare: same photo ~1 and exit 0, two people exit 1, --json,
# a photo without a face exit 2 with its one-line error; --precision bf16 where it cannot run says so.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

cd "$tmp"
small_copy 1 480 s1.jpg
small_copy 4 480 s4.jpg

# ---- table and JSON --------------------------------------------------------------------------
expect_exit 0 "$FACESEARCH" detect s1.jpg s4.jpg
check "detect table header 1" "s1.jpg: 480x320, 3 faces" "$(sed -n 1p <<<"$out")"
check "detect table header 2" "s4.jpg: 480x362, 4 faces" "$(sed -n 5p <<<"$out")"
check "detect table rows" "7" \
  "$(grep -cE '^  [1-4]  box [0-9]+,[0-9]+ [0-9]+,[0-9]+  \([0-9]+x[0-9]+\)  score (0\.[0-9]{3}|1\.000)  quality [01]\.[0-9]{2}$' <<<"$out")"
expect_err_is ""

expect_exit 0 "$FACESEARCH" detect --json s1.jpg s4.jpg
jcheck "detect --json structure" detect 2
check "detect --json paths: canonical, as search prints them" "\"$(realpath s1.jpg)\" \"$(realpath s4.jpg)\"" "$(python3 -c '
import json,sys; print(" ".join(json.dumps(json.loads(l)["path"]) for l in sys.stdin))' <<<"$out")"

# --draw writes a copy of the same size; --min-size drops the faces narrower than 50 px.
expect_exit 0 "$FACESEARCH" detect --draw drawn.png s1.jpg
check "--draw output" "480 320" "$(vipsheader -f width drawn.png) $(vipsheader -f height drawn.png)"
expect_exit 0 "$FACESEARCH" detect --min-size 50 --json s1.jpg
jcheck "--min-size 50" sizes 50 1000 2

# ---- EXIF orientation, mirror -----------------------------------------------------------------
"$FACESEARCH" detect --json s1.jpg >upright.json
vips rot s1.jpg r180.jpg d180 && with_orientation r180.jpg o3.jpg 3
vips rot s1.jpg r270.jpg d270 && with_orientation r270.jpg o6.jpg 6
vips rot s1.jpg r90.jpg d90 && with_orientation r90.jpg o8.jpg 8
vips flip r90.jpg t.jpg horizontal && with_orientation t.jpg o5.jpg 5   # transposed
for o in 3 5 6 8; do
  expect_exit 0 "$FACESEARCH" detect --json o$o.jpg
  jcheck "orientation $o: upright boxes" same-boxes upright.json 4
done
vips flip s1.jpg mirror.jpg horizontal
expect_exit 0 "$FACESEARCH" detect --json mirror.jpg
jcheck "mirrored copy: mirrored boxes" same-boxes upright.json 5 mirror

# ---- close-up and small faces -----------------------------------------------------------------
# sample1's face 2 is at about (824,423)-(1036,660) in the full photo; crop 50 px around it, and
# exactly to it (the face fills the frame).
vips crop "$samples/sample1.jpg" close.jpg 774 373 312 337
expect_exit 0 "$FACESEARCH" detect --json close.jpg
jcheck "close-up: one tight box" one-face-iou 50 50 262 287 0.6
vips crop "$samples/sample1.jpg" full.jpg 824 423 212 237
expect_exit 0 "$FACESEARCH" detect --json full.jpg
jcheck "face filling the frame: one tight box" one-face-iou 0 0 212 237 0.6
# 256 px copies: the faces are 21-34 px, all at or above the default --min-size of 20
small_copy 1 256 tiny1.jpg
expect_exit 0 "$FACESEARCH" detect --json tiny1.jpg
jcheck "20-30 px faces (sample1)" sizes 18 34 3
small_copy 4 256 tiny4.jpg
expect_exit 0 "$FACESEARCH" detect --json tiny4.jpg
jcheck "20-30 px faces (sample4)" sizes 18 36 4

# a large photo full of small faces: 35 tiles of the 256 px copy of sample4 (4 faces of 21-34 px
# each) in a 1792 x 965 mosaic; the fine pass must find nearly all 140 (measured: 133)
vips arrayjoin "$(for i in $(seq 35); do printf 'tiny4.jpg '; done)" mosaic.jpg --across 7
expect_exit 0 "$FACESEARCH" detect mosaic.jpg
n=$(sed -nE '1s/^mosaic\.jpg: 1792x965, ([0-9]+) faces$/\1/p' <<<"$out")
check "small faces in a large photo (>= 126 of 140)" "yes" "$( ((${n:-0} >= 126 && ${n:-0} <= 140)) && echo yes || echo "no: $n")"

# --verbose adds one timing line per image on stderr
expect_exit 0 "$FACESEARCH" --verbose detect s1.jpg
check "--verbose timings" "1" "$(grep -cE '^s1\.jpg: decode [0-9.]+ ms, detect [0-9.]+ ms, landmarks [0-9.]+ ms$' <<<"$err")"

# ---- compare ----------------------------------------------------------------------------------
expect_exit 0 "$FACESEARCH" compare s1.jpg s1.jpg
expect_out_is "similarity 1.0000  threshold 0.34  same person"
expect_err_is ""
# bf16 asked for below AVX-512 (capped here, so on any CPU): fp32 runs, and the user is told
# (not with --quiet); in fp32 asked for, nothing is said
ONEDNN_MAX_CPU_ISA=AVX2 expect_exit 0 "$FACESEARCH" --precision bf16 compare s1.jpg s1.jpg
expect_out_is "similarity 1.0000  threshold 0.34  same person"
expect_err_is "facesearch: note: bf16 needs a CPU with AVX-512; running in fp32"
ONEDNN_MAX_CPU_ISA=AVX2 expect_exit 0 "$FACESEARCH" --quiet --precision bf16 compare s1.jpg s1.jpg
expect_err_is ""
ONEDNN_MAX_CPU_ISA=AVX2 expect_exit 0 "$FACESEARCH" --precision fp32 compare s1.jpg s1.jpg
expect_err_is ""
# the close-up of sample1's face 2 against a crop of sample1's face 1: two people
vips crop "$samples/sample1.jpg" other.jpg 367 303 280 342
expect_exit 1 "$FACESEARCH" compare close.jpg other.jpg
check "two people" "1" "$(grep -cE '^similarity (-?0\.[0-2][0-9]{3})  threshold 0\.34  different people$' <<<"$out")"
expect_exit 0 "$FACESEARCH" compare --json close.jpg full.jpg
jcheck "compare --json" compare close.jpg full.jpg true
expect_exit 1 "$FACESEARCH" compare --json close.jpg other.jpg
jcheck "compare --json, no match" compare close.jpg other.jpg false
# no face: a patch of background
vips crop "$samples/sample1.jpg" wall.jpg 0 1000 300 280
expect_exit 2 "$FACESEARCH" compare s1.jpg wall.jpg
expect_err_is "facesearch: wall.jpg: no face found"
expect_out_is ""
expect_exit 2 "$FACESEARCH" compare wall.jpg s1.jpg
expect_err_is "facesearch: wall.jpg: no face found"

finish
