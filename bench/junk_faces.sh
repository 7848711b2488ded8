#!/usr/bin/env bash
# junk_faces.sh — junk detections on close-ups (issue 11 item 6): on tight portrait crops the
# detector used to report an eye or a glasses lens as a second face.
# Makes close-up crops with vips around every face of the sample photos (the faces `detect` finds
# in the full photos) and, given a development set laid out like shared/data/bbt, around every
# labelled face of its group photos; each face box padded by -10%, 0%, 10% and 30% of its size on
# every side (clamped to the photo), each crop also resized to 150 x 150 (the size of the set's
# face crops). The set's PERSON/*.png face crops are added as they are.
# Runs `facesearch detect --json` on all of them and sorts each detection:
#   real  — overlaps the face the crop was made around (IoU >= 0.3; a PERSON crop: the whole crop);
#   junk  — not the real one, at most half its area and at least 70% inside it (an eye, a lens);
#   other — anything else (a neighbour's face in a loose crop of a group photo).
# Usage: bench/junk_faces.sh [DATASET_DIR] [BUILD_DIR]   (build directory default: build)
# Prints, for each set of crops (samples, groups, persons) and for all of them:
#   RESULT junk set=S crops=N real_found=R junk=J crops_with_junk=C other=O max_junk_score=X
# a `# junk ...` line for each junk detection and a `# missed ...` line for each crop whose face
# was not found.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dataset=${1:-}
build=${2:-$here/build}
fs=$build/facesearch
[ -x "$fs" ] || { echo "junk_faces: build $fs first" >&2; exit 2; }
data=${FACESEARCH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/facesearch}
samples=$data/samples
[ -f "$samples/sample1.jpg" ] || { echo "junk_faces: $samples/sample1.jpg missing (make models)" >&2; exit 2; }
[ -z "$dataset" ] || [ -f "$dataset/group_labels.json" ] ||
  { echo "junk_faces: $dataset/group_labels.json missing" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$fs" --quiet detect --json "$samples"/sample*.jpg >"$tmp/samples.json"

python3 - "$tmp" "$samples" "$dataset" "$fs" <<'EOF'
import glob, json, os, subprocess, sys

tmp, samples, dataset, fs = sys.argv[1:5]
PADS = (-0.1, 0.0, 0.1, 0.3)
SMALL = 150

def size_of(path):
    out = subprocess.run(["vipsheader", "-f", "width", path], capture_output=True, text=True,
                         check=True).stdout
    w = int(out)
    h = int(subprocess.run(["vipsheader", "-f", "height", path], capture_output=True, text=True,
                           check=True).stdout)
    return w, h

# crops: (set, crop path, expected face box in crop pixels)
crops = []
def add_crops(set_name, photo, width, height, boxes):
    stem = os.path.splitext(os.path.basename(photo))[0]
    for k, b in enumerate(boxes):
        bw, bh = b[2] - b[0], b[3] - b[1]
        for pad in PADS:
            x1 = max(0, int(round(b[0] - pad * bw)))
            y1 = max(0, int(round(b[1] - pad * bh)))
            x2 = min(width, int(round(b[2] + pad * bw)))
            y2 = min(height, int(round(b[3] + pad * bh)))
            out = os.path.join(tmp, "%s_%s_f%d_p%+d.png" % (set_name, stem, k, round(pad * 100)))
            subprocess.run(["vips", "crop", photo, out, str(x1), str(y1), str(x2 - x1),
                            str(y2 - y1)], check=True)
            face = [b[0] - x1, b[1] - y1, b[2] - x1, b[3] - y1]
            crops.append((set_name, out, face))
            small = out.replace(".png", "_150.png")
            subprocess.run(["vips", "thumbnail", out, small, str(SMALL), "--size", "force"],
                           check=True)
            fx, fy = SMALL / (x2 - x1), SMALL / (y2 - y1)
            crops.append((set_name, small, [face[0] * fx, face[1] * fy, face[2] * fx,
                                            face[3] * fy]))

with open(os.path.join(tmp, "samples.json")) as f:
    for line in f:
        d = json.loads(line)
        add_crops("samples", d["path"], d["width"], d["height"], [x["box"] for x in d["faces"]])
if dataset:
    with open(os.path.join(dataset, "group_labels.json")) as f:
        labels = json.load(f)
    for name in sorted(labels):
        photo = os.path.join(dataset, name + ".jpg")
        w, h = size_of(photo)
        add_crops("groups", photo, w, h, [x["box"] for x in labels[name]])
    for path in sorted(glob.glob(os.path.join(dataset, "*", "*.png"))):
        w, h = size_of(path)
        crops.append(("persons", path, [0, 0, w, h]))

out = subprocess.run([fs, "--quiet", "detect", "--json"] + [c[1] for c in crops],
                     capture_output=True, text=True)
if out.returncode not in (0, 1):
    sys.exit("junk_faces: detect failed: " + out.stderr)
found = {}
for line in out.stdout.splitlines():
    d = json.loads(line)
    found[os.path.realpath(d["path"])] = d["faces"]

def shown(path):
    return os.path.relpath(path, tmp) if path.startswith(tmp) else path

def area(b):
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])

def inter(a, b):
    return area([max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])])

def iou(a, b):
    i = inter(a, b)
    return i / (area(a) + area(b) - i) if i > 0 else 0.0

totals = {}
for set_name, path, real in crops:
    t = totals.setdefault(set_name, dict(crops=0, real=0, junk=0, with_junk=0, other=0, score=0.0))
    t["crops"] += 1
    faces = found.get(os.path.realpath(path), [])
    best = max(range(len(faces)), key=lambda i: iou(faces[i]["box"], real), default=-1)
    if best >= 0 and iou(faces[best]["box"], real) >= 0.3:
        t["real"] += 1
    else:
        best = -1
        print("# missed %s (%d other faces)" % (shown(path), len(faces)))
    junk = 0
    for i, face in enumerate(faces):
        if i == best:
            continue
        b = face["box"]
        if area(b) <= 0.5 * area(real) and inter(b, real) >= 0.7 * area(b):
            junk += 1
            t["score"] = max(t["score"], face["score"])
            print("# junk %s box=[%.0f,%.0f,%.0f,%.0f] score=%.4f" % (shown(path), *b, face["score"]))
        else:
            t["other"] += 1
    t["junk"] += junk
    t["with_junk"] += junk > 0

all_sets = dict(crops=0, real=0, junk=0, with_junk=0, other=0, score=0.0)
for set_name, t in totals.items():
    for k in all_sets:
        all_sets[k] = max(all_sets[k], t[k]) if k == "score" else all_sets[k] + t[k]
for set_name, t in list(totals.items()) + [("all", all_sets)]:
    print("RESULT junk set=%s crops=%d real_found=%d junk=%d crops_with_junk=%d other=%d "
          "max_junk_score=%.4f" % (set_name, t["crops"], t["real"], t["junk"], t["with_junk"],
                                   t["other"], t["score"]))
EOF
