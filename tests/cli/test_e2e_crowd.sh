#!/usr/bin/env bash
# End to end, faces in crowds (issue 13): a crowd made of 80 copies of sample1 shrunk to 220 px
# wide (an 8 x 10 grid, 1760 x 1470), so that its 240 faces are 20-25 px, at the default floor
# of 20. The fine pass alone sees faces that small at the smallest prior and finds about half of
# them; the tiles pass runs the detector at full resolution where the fine pass saw small faces.
# Checks: at least 9 in 10 of the faces are found, every face found lies on one of the three
# faces of its copy (no false positive), no face is found twice; the same copy alone (no tiles:
# too small for a fine pass) finds its three faces; and a plain grey photo of the same size finds
# nothing.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

w=220
vips thumbnail "$samples/sample1.jpg" "$tmp/one.png" $w
h=$(vipsheader -f height "$tmp/one.png")
copies=$(for i in $(seq 80); do printf '%s ' "$tmp/one.png"; done)
vips arrayjoin "$copies" "$tmp/crowd.png" --across 8 --hspacing $w --vspacing $h
check "crowd size" "1760x$((10 * h))" "$(vipsheader -f width "$tmp/crowd.png")x$(vipsheader -f height "$tmp/crowd.png")"

# where the faces are: sample1's three faces, found in the full-size photo, scaled to the copy
expect_exit 0 "$FACESEARCH" detect --json "$samples/sample1.jpg"
full=$out
check "sample1 has three faces" "3" "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["faces"]))' <<<"$full")"

expect_exit 0 "$FACESEARCH" detect --json "$tmp/crowd.png"
printf '%s' "$out" >"$tmp/crowd.json"
verdict=$(python3 - "$full" "$w" "$h" "$tmp/crowd.json" <<'EOF'
import json, sys
full = json.loads(sys.argv[1]); w = int(sys.argv[2]); h = int(sys.argv[3])
scale = w / full["width"]
faces = [[v * scale for v in f["box"]] for f in full["faces"]]
found = json.load(open(sys.argv[4]))["faces"]
seen, stray = set(), 0
for f in found:
    b = f["box"]
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    col, row = int(cx // w), int(cy // h)
    x, y = cx - col * w, cy - row * h
    hits = [k for k, g in enumerate(faces) if g[0] <= x <= g[2] and g[1] <= y <= g[3]]
    if len(hits) != 1 or (col, row, hits[0]) in seen:
        stray += 1
    else:
        seen.add((col, row, hits[0]))
print("found %s stray %d" % ("enough" if len(seen) >= 216 else "only %d" % len(seen), stray))
EOF
)
check "crowd: 9 in 10 of the 240 faces, each once, nothing else" "found enough stray 0" "$verdict"

expect_exit 0 "$FACESEARCH" detect "$tmp/one.png"
check "one copy alone" "$tmp/one.png: ${w}x$h, 3 faces" "$(head -1 <<<"$out")"

vips black "$tmp/grey.png" 1760 $((10 * h)) --bands 3
vips linear "$tmp/grey.png" "$tmp/grey2.png" 1 128 --uchar
expect_exit 0 "$FACESEARCH" detect "$tmp/grey2.png"
check "grey: no face" "$tmp/grey2.png: 1760x$((10 * h)), 0 faces" "$(head -1 <<<"$out")"

finish
