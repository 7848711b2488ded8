#!/usr/bin/env bash
# The insightface path (buffalo_l, buffalo_s, antelopev2 and pack folders without a manifest),
# tested without insightface's weights: tests/models/ holds small models with the same input/output
# names, shapes and output order, whose detections are known by hand (how: the header of
# tests/models/make_insightface_models.py), and the images that trigger them.
#   - the known packs are found by name in $INSIGHTFACE_HOME/models and their pinned sha256 refuse
#     our stand-ins: one line naming the file, exit 2;
#   - a pack folder with a manifest (unpinned files) and one without (roles found by signature)
#     verify, detect returns exactly the hand-computed boxes and keypoints through the letterbox and
#     back (scales 1, 2 and 1.5, landscape and portrait), compare and search give finite
#     similarities, the default threshold is 0.5;
#   - damaged, missing and wrong-signature model files are one clear line and exit 2, never a crash.
set -u
. "$(dirname "$0")/lib.sh"
: "${FS_SOURCE_DIR:?FS_SOURCE_DIR must name the source tree}"
command -v python3 >/dev/null || { echo "FAIL: python3 is needed for the JSON checks" >&2; exit 1; }

models=$FS_SOURCE_DIR/tests/models
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export FACESEARCH_DATA_DIR=$tmp/data FACESEARCH_DB=$tmp/db INSIGHTFACE_HOME=$tmp/insightface
ih=$INSIGHTFACE_HOME/models
mkdir -p "$tmp/data" "$ih" "$tmp/photos"
cp "$models"/*.png "$tmp/photos/"
hint="reinstall the pack with insightface to repair it"

one_line() { check "stderr is one line" 1 "$(printf '%s\n' "$err" | wc -l)"; }

# pack DIR DET REC [EXTRA...]: a pack folder holding our detector as DET and recognizer as REC,
# plus extra models given as SOURCE:NAME.
pack() {
  local dir=$1 det=$2 rec=$3; shift 3
  mkdir -p "$dir"
  cp "$models/det_scrfd.onnx" "$dir/$det"
  cp "$models/arcface_512.onnx" "$dir/$rec"
  for extra in "$@"; do cp "$models/${extra%%:*}" "$dir/${extra#*:}"; done
}

# ---- Known packs by name: found in $INSIGHTFACE_HOME/models, pinned sha256 refuse stand-ins ----
pack "$ih/buffalo_l" det_10g.onnx w600k_r50.onnx
pack "$ih/buffalo_s" det_500m.onnx w600k_mbf.onnx
pack "$ih/antelopev2" scrfd_10g_bnkps.onnx glintr100.onnx
for p in buffalo_l:det_10g.onnx buffalo_s:det_500m.onnx antelopev2:scrfd_10g_bnkps.onnx; do
  name=${p%%:*} det=${p#*:}
  expect_exit 2 "$FACESEARCH" --models "$name" models
  expect_out_has "* $name"
  expect_out_has "$ih/$name  FAILED"
  expect_err_has "facesearch: $ih/$name/$det: sha256 mismatch, the file is corrupted or not the one pack '$name' expects; $hint"
  expect_exit 2 "$FACESEARCH" --models "$name" detect "$tmp/photos/layout_640x480.png"
  expect_err_is "facesearch: $ih/$name/$det: sha256 mismatch, the file is corrupted or not the one pack '$name' expects; $hint"
done
rm "$ih/buffalo_l/w600k_r50.onnx"
cp "$models/det_scrfd.onnx" "$ih/buffalo_l/det_10g.onnx"
expect_exit 2 "$FACESEARCH" --models buffalo_l compare "$tmp/photos/layout_640x480.png" "$tmp/photos/plain_640x480.png"
expect_err_is "facesearch: $ih/buffalo_l/det_10g.onnx: sha256 mismatch, the file is corrupted or not the one pack 'buffalo_l' expects; $hint"
rm -rf "$ih/buffalo_l" "$ih/buffalo_s" "$ih/antelopev2"

# ---- A pack folder with a manifest like buffalo_l's, its hashes not pinned ----
mp=$tmp/packs/if_manifest
pack "$mp" det_10g.onnx w600k_r50.onnx genderage_like.onnx:genderage.onnx
cat >"$mp/manifest" <<'EOF'
name            if_manifest
detector        scrfd det_10g.onnx
recognizer      arcface w600k_r50.onnx
threshold       0.5
file det_10g.onnx   det_10g.onnx   -
file w600k_r50.onnx w600k_r50.onnx -
EOF
expect_exit 0 "$FACESEARCH" --models "$mp" models
expect_out_has "* if_manifest  $mp  ok, 2 files verified, threshold 0.50"

# The six faces of the layout images, in 640x640 input pixels (see make_insightface_models.py):
# centre (col*s, row*s); box (cx - d0*s, cy - d1*s, cx + d2*s, cy + d3*s) with d = (1.5, 2, 2.5, 3)
# for anchor 0 and (3, 2.5, 2, 2) for anchor 1; keypoints centre + offset*s. Photo pixels are these
# times the letterbox scale (photo height / resized height).
landscape='[
 [[68,64,100,104],    [[76,76],[92,76],[84,84],[77.6,92.8],[90.4,92.8]]],
 [[376,60,416,96],    [[388,72],[404,72],[396,80],[389.6,88],[402.4,88]]],
 [[56,208,120,288],   [[72,232],[104,232],[88,248],[75.2,265.6],[100.8,265.6]]],
 [[352,200,432,272],  [[376,224],[408,224],[392,240],[379.2,256],[404.8,256]]],
 [[112,288,240,448],  [[144,336],[208,336],[176,368],[150.4,403.2],[201.6,403.2]]],
 [[384,272,544,416],  [[432,320],[496,320],[464,352],[438.4,384],[489.6,384]]]]'
portrait='[
 [[28,24,60,64],      [[36,36],[52,36],[44,44],[37.6,52.8],[50.4,52.8]]],
 [[216,20,256,56],    [[228,32],[244,32],[236,40],[229.6,48],[242.4,48]]],
 [[24,160,88,240],    [[40,184],[72,184],[56,200],[43.2,217.6],[68.8,217.6]]],
 [[176,152,256,224],  [[200,176],[232,176],[216,192],[203.2,208],[228.8,208]]],
 [[16,320,144,480],   [[48,368],[112,368],[80,400],[54.4,435.2],[105.6,435.2]]],
 [[128,400,288,544],  [[176,448],[240,448],[208,480],[182.4,512],[233.6,512]]]]'
# score of a cell filled with its colour: sigmoid(8 * 127.5/128 - 4)
check_faces='
import json, sys
want, scale, w, h = json.loads(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
got = json.loads(sys.stdin.read())
problems = []
if (got["width"], got["height"]) != (w, h):
    problems.append("size %sx%s" % (got["width"], got["height"]))
faces = got["faces"]
if len(faces) != len(want):
    problems.append("%d faces, want %d" % (len(faces), len(want)))
for box, kps in want:
    box = [v * scale for v in box]
    kps = [[v * scale for v in p] for p in kps]
    near = [f for f in faces if max(abs(a - b) for a, b in zip(f["box"], box)) <= 1.0]
    if len(near) != 1:
        problems.append("box %s found %d times" % (box, len(near)))
        continue
    f = near[0]
    if max(abs(a - b) for p, q in zip(f["landmarks"], kps) for a, b in zip(p, q)) > 1.0:
        problems.append("landmarks of %s: %s, want %s" % (box, f["landmarks"], kps))
    if abs(f["score"] - 0.98145) > 0.001:
        problems.append("score %s" % f["score"])
print("; ".join(problems) or "ok")
'
detect_checks() { # PACK
  expect_exit 0 "$FACESEARCH" --models "$1" detect "$tmp/photos/layout_640x480.png" --json
  check "faces at scale 1" ok "$(python3 -c "$check_faces" "$landscape" 1 640 480 <<<"$out" 2>&1)"
  expect_exit 0 "$FACESEARCH" --models "$1" detect "$tmp/photos/layout_1280x960.png" --json
  check "faces at scale 2" ok "$(python3 -c "$check_faces" "$landscape" 2 1280 960 <<<"$out" 2>&1)"
  expect_exit 0 "$FACESEARCH" --models "$1" detect "$tmp/photos/layout_480x960.png" --json
  check "faces at scale 1.5, portrait" ok "$(python3 -c "$check_faces" "$portrait" 1.5 480 960 <<<"$out" 2>&1)"
  # a higher detector threshold than the cells' 0.98 keeps nothing
  expect_exit 0 "$FACESEARCH" --models "$1" detect "$tmp/photos/layout_640x480.png" --det-threshold 0.99
  expect_out_is "$tmp/photos/layout_640x480.png: 640x480, 0 faces"
}
detect_checks "$mp"

similarity_checks() { # PACK
  expect_exit 0 "$FACESEARCH" --models "$1" compare "$tmp/photos/layout_640x480.png" "$tmp/photos/layout_640x480.png" --json
  expect_out_is "{\"a\":\"$tmp/photos/layout_640x480.png\",\"b\":\"$tmp/photos/layout_640x480.png\",\"similarity\":1.0000,\"threshold\":0.5000,\"match\":true}"
  "$FACESEARCH" --models "$1" compare "$tmp/photos/layout_640x480.png" "$tmp/photos/plain_640x480.png" --json >"$tmp/cmp" 2>"$tmp/cmp.err"
  status=$?
  check "compare of two layouts: exit 0 or 1" 1 "$(( status == 0 || status == 1 ))"
  check "compare of two layouts: a finite similarity, threshold 0.5" ok "$(python3 -c '
import json, math, sys
r = json.load(sys.stdin)
s = r["similarity"]
ok = isinstance(s, float) and math.isfinite(s) and -1.0001 <= s <= 1.0001 and r["threshold"] == 0.5
print("ok" if ok and r["match"] == (s >= 0.5) else r)' <"$tmp/cmp" 2>&1)"
  expect_exit 0 "$FACESEARCH" --models "$1" search -q "$tmp/photos/layout_640x480.png" -t "$tmp/photos" --no-index --json
  check "search: every face of the photos, finite similarities, the query's own face first" ok "$(python3 -c '
import json, math, sys
rows = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
bad = [r for r in rows if not math.isfinite(r["similarity"]) or r["similarity"] < 0.5]
first = rows[0] if rows else {}
if len(rows) != 20 or bad or first.get("similarity") != 1.0 or not first.get("path", "").endswith("layout_640x480.png"):
    print(len(rows), bad, first)
else:
    print("ok")' <<<"$out" 2>&1)"
}
similarity_checks "$mp"

# ---- The same without a manifest: roles identified by signature among unrelated models ----
ip=$ih/buffalo_sc
pack "$ip" det_500m.onnx w600k_mbf.onnx genderage_like.onnx:genderage.onnx \
  landmark2d106_like.onnx:2d106det.onnx landmark3d68_like.onnx:1k3d68.onnx \
  arcface_128.onnx:a_small_recognizer.onnx
printf 'not a model\n' >"$ip/0_junk.onnx"
expect_exit 0 "$FACESEARCH" --models buffalo_sc models
expect_out_has "* buffalo_sc   $ip  ok, 2 files verified, threshold 0.50"
detect_checks buffalo_sc
similarity_checks buffalo_sc
# by path too
expect_exit 0 "$FACESEARCH" --models "$ip" compare "$tmp/photos/layout_1280x960.png" "$tmp/photos/layout_1280x960.png"
expect_out_is "similarity 1.0000  threshold 0.50  same person"

# No usable detector: a folder of recognizers and others; a truncated detector is named.
np=$tmp/packs/no_detector
mkdir -p "$np"
cp "$models/arcface_512.onnx" "$np/w600k_r50.onnx"
cp "$models/genderage_like.onnx" "$np/genderage.onnx"
expect_exit 2 "$FACESEARCH" --models "$np" detect "$tmp/photos/layout_640x480.png"
expect_err_is "facesearch: $np: no SCRFD face detector among its 2 .onnx files and no manifest (a detector has 6 or 9 outputs for strides 8, 16, 32; a recognizer takes 112x112 and gives 512 values)"
head -c 3000 "$models/det_scrfd.onnx" >"$np/det_10g.onnx"
expect_exit 2 "$FACESEARCH" --models "$np" models
expect_err_has "facesearch: $np: no SCRFD face detector among its 3 .onnx files and no manifest"
expect_err_has "; det_10g.onnx did not load: "
one_line
mkdir -p "$tmp/packs/empty"
expect_exit 2 "$FACESEARCH" --models "$tmp/packs/empty" models
expect_err_is "facesearch: $tmp/packs/empty: no SCRFD face detector and no face recognizer among its 0 .onnx files and no manifest (a detector has 6 or 9 outputs for strides 8, 16, 32; a recognizer takes 112x112 and gives 512 values)"

# ---- Damaged, missing and wrong files in a pack with a manifest ----
restore() { cp "$models/det_scrfd.onnx" "$mp/det_10g.onnx"; cp "$models/arcface_512.onnx" "$mp/w600k_r50.onnx"; }
for cmd in models "detect $tmp/photos/layout_640x480.png" "compare $tmp/photos/layout_640x480.png $tmp/photos/plain_640x480.png"; do
  # truncated detector
  restore; head -c 20000 "$models/det_scrfd.onnx" >"$mp/det_10g.onnx"
  expect_exit 2 "$FACESEARCH" --models "$mp" $cmd
  expect_err_has "facesearch: $mp/det_10g.onnx: "
  expect_err_has "; model pack 'if_manifest' cannot use it; $hint"
  one_line
  # empty recognizer
  restore; : >"$mp/w600k_r50.onnx"
  expect_exit 2 "$FACESEARCH" --models "$mp" $cmd
  expect_err_has "facesearch: $mp/w600k_r50.onnx: "
  one_line
  # not ONNX at all
  restore; printf 'PK\003\004 this is a zip, not a model' >"$mp/w600k_r50.onnx"
  expect_exit 2 "$FACESEARCH" --models "$mp" $cmd
  expect_err_has "facesearch: $mp/w600k_r50.onnx: "
  one_line
  # missing
  restore; rm "$mp/w600k_r50.onnx"
  expect_exit 2 "$FACESEARCH" --models "$mp" $cmd
  expect_err_is "facesearch: $mp/w600k_r50.onnx: missing from model pack 'if_manifest'; $hint"
  # a 128-d recognizer
  restore; cp "$models/arcface_128.onnx" "$mp/w600k_r50.onnx"
  expect_exit 2 "$FACESEARCH" --models "$mp" $cmd
  expect_err_is "facesearch: $mp/w600k_r50.onnx: not a face recognizer: its embedding has 128 values, expected 512; model pack 'if_manifest' cannot use it; $hint"
  # a recognizer where the detector should be, and an age/gender model
  restore; cp "$models/arcface_512.onnx" "$mp/det_10g.onnx"
  expect_exit 2 "$FACESEARCH" --models "$mp" $cmd
  expect_err_is "facesearch: $mp/det_10g.onnx: not an SCRFD face detector: it has the signature of a face recognizer; model pack 'if_manifest' cannot use it; $hint"
  restore; cp "$models/genderage_like.onnx" "$mp/det_10g.onnx"
  expect_exit 2 "$FACESEARCH" --models "$mp" $cmd
  expect_err_is "facesearch: $mp/det_10g.onnx: not an SCRFD face detector: input (0,3,96,96) with 1 output: neither a 112x112 recognizer nor an SCRFD detector (6 or 9 outputs); model pack 'if_manifest' cannot use it; $hint"
done
restore

# A detector without keypoints (6 outputs) is a detector, but this pack cannot align its faces.
cp "$models/det_scrfd_nokps.onnx" "$mp/det_10g.onnx"
expect_exit 0 "$FACESEARCH" --models "$mp" models
expect_exit 2 "$FACESEARCH" --models "$mp" detect "$tmp/photos/layout_640x480.png"
expect_err_is "facesearch: $tmp/photos/layout_640x480.png: model pack 'if_manifest': its detector gives no keypoints and it has no landmark model"
restore

finish
