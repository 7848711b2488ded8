"""e2e_json.py — checks of facesearch's JSON output for the end-to-end tests (test_e2e_*.sh).

Usage: python3 e2e_json.py CHECK ARGS... < output
Prints "ok" when the check holds, else one line saying what is wrong (the test compares it to "ok").
  detect N_IMAGES          every line is a detect object (SPEC.md §2): path, width, height, faces with
                           box [x1,y1,x2,y2] inside the image, score in (0,1], 5 landmarks
  same-boxes FILE TOL [mirror]
                           the single image on stdin has the same boxes (within TOL px, any order) as
                           the detect JSON in FILE, or their mirror images (x -> width - x)
  one-face-iou X1 Y1 X2 Y2 MIN
                           exactly one face, whose box overlaps the given box with IoU >= MIN
  sizes LO HI N            N faces, each box width and height in [LO, HI]
  search                   every line is a search match (path, similarity, box, landmarks, score,
                           face), sorted best first
  compare A B MATCH        one compare object for A and B, match MATCH (true/false)
"""
import json
import sys


def fail(msg):
    print(msg)
    sys.exit(0)


def lines():
    text = sys.stdin.read()
    rows = []
    for i, line in enumerate(text.splitlines()):
        try:
            rows.append(json.loads(line))
        except ValueError as e:
            fail("line %d is not JSON (%s): %r" % (i + 1, e, line))
    return rows


def check_face(f, w, h, where):
    if sorted(f) != ["box", "landmarks", "quality", "score"] and sorted(f) != [
            "box", "face", "landmarks", "path", "quality", "score", "similarity"]:
        fail("%s: unexpected keys %s" % (where, sorted(f)))
    b = f["box"]
    if len(b) != 4 or not all(isinstance(v, (int, float)) for v in b):
        fail("%s: box %r" % (where, b))
    if not (0 <= b[0] < b[2] <= w and 0 <= b[1] < b[3] <= h):
        fail("%s: box %r not inside the %dx%d image" % (where, b, w, h))
    if not (0 < f["score"] <= 1):
        fail("%s: score %r" % (where, f["score"]))
    if not (0 <= f["quality"] <= 1):
        fail("%s: quality %r" % (where, f["quality"]))
    lm = f["landmarks"]
    if len(lm) != 5 or any(len(p) != 2 for p in lm):
        fail("%s: landmarks %r" % (where, lm))
    bw, bh = b[2] - b[0], b[3] - b[1]
    for x, y in lm:  # points inside the box, give or take a quarter of its size
        if not (b[0] - bw / 4 <= x <= b[2] + bw / 4 and b[1] - bh / 4 <= y <= b[3] + bh / 4):
            fail("%s: landmark (%r,%r) far outside box %r" % (where, x, y, b))


def detect(n):
    rows = lines()
    if len(rows) != int(n):
        fail("%d objects, want %s" % (len(rows), n))
    for r in rows:
        if list(r) != ["path", "width", "height", "faces"]:
            fail("keys %s, want path, width, height, faces in that order" % list(r))
        for i, f in enumerate(r["faces"]):
            check_face(f, r["width"], r["height"], "%s face %d" % (r["path"], i + 1))
        scores = [f["score"] for f in r["faces"]]
        if scores != sorted(scores, reverse=True):
            fail("faces not best score first: %r" % scores)
    print("ok")


def same_boxes(path, tol, mirror=None):
    got = lines()[0]
    with open(path) as fh:
        want = json.loads(fh.readline())
    if (got["width"], got["height"]) != (want["width"], want["height"]):
        fail("size %dx%d, want %dx%d" % (got["width"], got["height"], want["width"], want["height"]))
    w = want["width"]
    boxes = [f["box"] for f in want["faces"]]
    if mirror:
        boxes = [[w - b[2], b[1], w - b[0], b[3]] for b in boxes]
    have = [f["box"] for f in got["faces"]]
    if len(have) != len(boxes):
        fail("%d faces, want %d" % (len(have), len(boxes)))
    for b in boxes:
        d = min(max(abs(x - y) for x, y in zip(b, h)) for h in have)
        if d > float(tol):
            fail("no box within %s px of %r (nearest is %.1f px off): %r" % (tol, b, d, have))
    print("ok")


def one_face_iou(x1, y1, x2, y2, least):
    r = lines()[0]
    if len(r["faces"]) != 1:
        fail("%d faces, want 1" % len(r["faces"]))
    a = r["faces"][0]["box"]
    b = [float(x1), float(y1), float(x2), float(y2)]
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    if inter / union < float(least):
        fail("box %r overlaps %r with IoU %.2f < %s" % (a, b, inter / union, least))
    print("ok")


def sizes(lo, hi, n):
    r = lines()[0]
    if len(r["faces"]) != int(n):
        fail("%d faces, want %s" % (len(r["faces"]), n))
    for f in r["faces"]:
        b = f["box"]
        w, h = b[2] - b[0], b[3] - b[1]
        if not (float(lo) <= w <= float(hi) and float(lo) <= h <= float(hi)):
            fail("face %r is %.0fx%.0f, not within %s..%s" % (b, w, h, lo, hi))
    print("ok")


def search():
    rows = lines()
    sims = []
    for r in rows:
        if list(r) != ["path", "similarity", "box", "landmarks", "score", "quality", "face"]:
            fail("keys %s" % list(r))
        check_face(r, 1e9, 1e9, "%s face %s" % (r["path"], r["face"]))
        if not (-1 <= r["similarity"] <= 1.0001) or not isinstance(r["face"], int) or r["face"] < 1:
            fail("bad similarity or face number: %r" % r)
        sims.append(r["similarity"])
    if sims != sorted(sims, reverse=True):
        fail("not best first: %r" % sims)
    print("ok")


def compare(a, b, match):
    rows = lines()
    if len(rows) != 1:
        fail("%d objects, want 1" % len(rows))
    r = rows[0]
    if list(r) != ["a", "b", "similarity", "threshold", "match"]:
        fail("keys %s" % list(r))
    if r["a"] != a or r["b"] != b or r["match"] != (match == "true"):
        fail("unexpected %r" % r)
    if (r["similarity"] >= r["threshold"]) != r["match"]:
        fail("match disagrees with similarity and threshold: %r" % r)
    print("ok")


if __name__ == "__main__":
    checks = {"detect": detect, "same-boxes": same_boxes, "one-face-iou": one_face_iou,
              "sizes": sizes, "search": search, "compare": compare}
    checks[sys.argv[1]](*sys.argv[2:])
