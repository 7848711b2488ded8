#!/usr/bin/env python3
"""fetch_crowds.py — builds the crowd development set for eval_accuracy --crowds (not a test).

No annotated crowd photos (WIDER FACE train or the like) could be reached from here, so the set
is made of real, human-annotated face photos laid out as crowds:
  - the 201 photos with annotated face boxes (masked and unmasked faces, 240-512 px) of the public
    repository formatcom/tfm-mask-detect (dataset/, commit PINNED_COMMIT), copied from its git
    snapshot and verified by sha256 (one digest over every file's sha256 and path);
  - the five group photos of ../shared/data/bbt with their labelled boxes, verified by sha256.
Crowds: eight 1920 x 1440 mosaics, 12 x 9 cells of 160 px, each cell a photo shrunk (never enlarged) so
that its largest face is 10-100 px (log-uniform), cut to the cell around that face. The bbt photos
are kept whole and also shrunk to a half and a third. Every face box goes into crowd_labels.tsv:
  IMAGE <tab> x1 <tab> y1 <tab> x2 <tab> y2 <tab> visible|masked|ignore
(ignore: cut by a cell edge, or under 10 px: a detection there is neither a hit nor a false one).

  bench/fetch_crowds.py [--mirror GIT_DIR] [--bbt DIR] [--out DIR]

The data stays outside the repository (default /work/scratch-crowds/crowds). Never use LFW, WIDER
FACE's validation split, deepface's test set or dlib's examples/faces here.
"""
import argparse
import hashlib
import math
import os
import random
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

PINNED_COMMIT = "886e865161d6ef8a2a213ed8c747b8ae8a4faa12"
# sha256 of the lines "SHA256  PATH\n" of every file under dataset/, sorted by path
PINNED_DIGEST = "0517a4d5b1860b6b8a2a76461d11dfa6a304b5454184627c3dcbb81e1ae39bc1"
BBT_SHA256 = {
    "bbt1.jpg": "eb78baa072505a3c6232100b7f8a0577a77480eef2596f8aa468072dd3ee9910",
    "bbt2.jpg": "f5ff32a49bba1b7b6884184ba23b61af862a61689e7c391d66bcfdcc0102735f",
    "bbt3.jpg": "c8f33d868c23246c383ba3e558a6ea9d737b6abcf1f8b0cd24e4b439c7fe3e03",
    "bbt4.jpg": "69a2f5949b21ec0b0a96a588efabc24ac23cfc8efefe6aa7eb31271dc552c6cf",
    "bbt5.jpg": "c1656a168077717460e7a575bcd70c65315e43dd9265270a4468e664a779b16c",
    "group_labels.json": "26480c2b8c27f6ff18b9ce61aba0662251a881feb1c37728dcbc0bc179e0e50f",
}
MOSAICS = 8
CELL = 160
ACROSS, DOWN = 12, 9
MIN_FACE, MAX_FACE = 10.0, 100.0


def die(msg):
    print("fetch_crowds: " + msg, file=sys.stderr)
    sys.exit(2)


def git_files(mirror):
    out = subprocess.run(["git", "--git-dir", mirror, "ls-tree", "-r", "--name-only",
                          PINNED_COMMIT, "dataset/"], capture_output=True, text=True)
    if out.returncode:
        die(f"{mirror}: commit {PINNED_COMMIT} not found ({out.stderr.strip()}); "
            "fetch github:formatcom/tfm-mask-detect first")
    files = {}
    for path in sorted(out.stdout.split()):
        blob = subprocess.run(["git", "--git-dir", mirror, "show", f"{PINNED_COMMIT}:{path}"],
                              capture_output=True)
        if blob.returncode:
            die(f"{mirror}: cannot read {path}")
        files[path] = blob.stdout
    return files


def digest(files):
    lines = "".join(f"{hashlib.sha256(files[p]).hexdigest()}  {p}\n" for p in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


def parse_voc(data):
    root = ET.fromstring(data)
    faces = []
    for obj in root.iter("object"):
        b = obj.find("bndbox")
        box = [float(b.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")]
        faces.append((box, "masked" if obj.find("name").text == "with_mask" else "visible"))
    return faces


def vips(*args):
    r = subprocess.run(["vips", *args], capture_output=True, text=True)
    if r.returncode:
        die("vips " + " ".join(args) + ": " + r.stderr.strip())


def size_of(path):
    r = subprocess.run(["vipsheader", "-f", "width", path], capture_output=True, text=True)
    w = int(r.stdout)
    r = subprocess.run(["vipsheader", "-f", "height", path], capture_output=True, text=True)
    return w, int(r.stdout)


def clip_face(box, tag, x0, y0, w, h, scale):
    """A face box of the source in tile pixels: (box, tag), tagged ignore when cut or tiny."""
    b = [box[0] * scale - x0, box[1] * scale - y0, box[2] * scale - x0, box[3] * scale - y0]
    area = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    c = [max(0.0, b[0]), max(0.0, b[1]), min(float(w), b[2]), min(float(h), b[3])]
    inside = max(0.0, c[2] - c[0]) * max(0.0, c[3] - c[1])
    if inside <= 0:
        return None
    if inside < 0.8 * area or max(c[2] - c[0], c[3] - c[1]) < MIN_FACE:
        tag = "ignore"
    return c, tag


def build(args):
    files = git_files(args.mirror)
    got = digest(files)
    if args.print_digest:
        print(got)
        return
    if got != PINNED_DIGEST:
        die(f"{args.mirror}: dataset digest {got} differs from the pinned {PINNED_DIGEST}")
    for name, want in BBT_SHA256.items():
        with open(os.path.join(args.bbt, name), "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != want:
                die(f"{args.bbt}/{name}: sha256 mismatch")
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=args.out)
    photos = []
    for path in sorted(files):
        if not path.startswith("dataset/annotations/"):
            continue
        faces = parse_voc(files[path])
        stem = os.path.splitext(os.path.basename(path))[0]
        image = next((p for p in files if p.startswith("dataset/images/" + stem + ".")), None)
        if not faces or image is None:
            continue
        local = os.path.join(tmp, os.path.basename(image))
        with open(local, "wb") as f:
            f.write(files[image])
        photos.append((local, faces))
    labels = []
    rng = random.Random(13)
    order = []
    for m in range(MOSAICS):
        tiles = []
        for cell in range(ACROSS * DOWN):
            if not order:
                order = list(range(len(photos)))
                rng.shuffle(order)
            src, faces = photos[order.pop()]
            largest = max(faces, key=lambda f: max(f[0][2] - f[0][0], f[0][3] - f[0][1]))
            side = max(largest[0][2] - largest[0][0], largest[0][3] - largest[0][1])
            want = math.exp(rng.uniform(math.log(MIN_FACE), math.log(MAX_FACE)))
            scale = min(1.0, want / side)
            tile = os.path.join(tmp, f"m{m}_{cell}.v")
            vips("resize", src, tile + ".full.v", str(scale))
            w, h = size_of(tile + ".full.v")
            cw, ch = min(w, CELL), min(h, CELL)
            cx = (largest[0][0] + largest[0][2]) / 2 * scale
            cy = (largest[0][1] + largest[0][3]) / 2 * scale
            x0 = int(min(max(0, cx - cw / 2), w - cw))
            y0 = int(min(max(0, cy - ch / 2), h - ch))
            vips("extract_area", tile + ".full.v", tile + ".cut.v", str(x0), str(y0), str(cw),
                 str(ch))
            # grey, grey + alpha and RGBA sources all become 3-band sRGB
            vips("colourspace", tile + ".cut.v", tile + ".rgb.v", "srgb")
            vips("extract_band", tile + ".rgb.v", tile, "0", "--n", "3")
            tiles.append(tile)
            ox, oy = (cell % ACROSS) * CELL, (cell // ACROSS) * CELL
            for box, tag in faces:
                c = clip_face(box, tag, x0, y0, cw, ch, scale)
                if c:
                    labels.append((f"mosaic{m:02d}.jpg", c[0][0] + ox, c[0][1] + oy,
                                   c[0][2] + ox, c[0][3] + oy, c[1]))
        vips("arrayjoin", " ".join(tiles), os.path.join(args.out, f"mosaic{m:02d}.jpg[Q=90]"),
             "--across", str(ACROSS), "--hspacing", str(CELL), "--vspacing", str(CELL),
             "--background", "128")
    import json
    with open(os.path.join(args.bbt, "group_labels.json")) as f:
        groups = json.load(f)
    for name, faces in sorted(groups.items()):
        for shrink in (1, 2, 3):
            out_name = f"{name}_{shrink}.jpg"
            vips("resize", os.path.join(args.bbt, name + ".jpg"),
                 os.path.join(args.out, out_name + "[Q=90]"), str(1.0 / shrink))
            w, h = size_of(os.path.join(args.out, out_name))
            for face in faces:
                c = clip_face(face["box"], "visible", 0, 0, w, h, 1.0 / shrink)
                if c:
                    labels.append((out_name, *c[0], c[1]))
    with open(os.path.join(args.out, "crowd_labels.tsv"), "w") as f:
        for row in labels:
            f.write("%s\t%.1f\t%.1f\t%.1f\t%.1f\t%s\n" % row)
    subprocess.run(["rm", "-rf", tmp], check=True)
    counts = {}
    for row in labels:
        counts[row[5]] = counts.get(row[5], 0) + 1
    print(f"fetch_crowds: {args.out}: {MOSAICS} mosaics + {3 * len(groups)} group photos, "
          f"faces {counts}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mirror", default="/work/.mirror/formatcom+tfm-mask-detect/repo")
    p.add_argument("--bbt", default=os.path.join(here, "..", "..", "shared", "data", "bbt"))
    p.add_argument("--out", default="/work/scratch-crowds/crowds")
    p.add_argument("--print-digest", action="store_true", help=argparse.SUPPRESS)
    build(p.parse_args())


if __name__ == "__main__":
    main()
