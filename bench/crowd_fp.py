#!/usr/bin/env python3
"""crowd_fp.py — the crowd development set's detections, looked at closely (not a test).

Reads the labels of bench/fetch_crowds.py (DIR/crowd_labels.tsv) and the detections that
`eval_accuracy --crowds DIR --dump-dets FILE` wrote, and prints, as eval_accuracy does, the recall
of visible faces by size band (the smaller side: 10-20, 20-30, 30-60, 60+ px) and the false
positives per photo, at IoU 0.5 and at IoU 0.3 (the labels come from a mask-detection set whose
boxes are often tighter or taller than a face detector's: a face found but boxed otherwise is a
miss and a false positive at 0.5, a hit at 0.3). Each false positive is then one of:
  - on_face: its centre lies in a labelled box (a face, boxed otherwise than its label),
  - no_face: its centre lies in no labelled box (not a face, or an unlabelled one).

  bench/crowd_fp.py DIR DETS [--min-score S] [--band-min S20 S30 S60] [--crops OUT]

--min-score drops detections under S (as a higher detector threshold would: greedy NMS keeps the
same boxes above any threshold); --band-min gives a threshold per size band of the detection
(20-30, 30-60, 60+ px). --crops writes each false positive at IoU 0.5, with some context, as
OUT/PHOTO-x1-y1-x2-y2-SCORE.jpg (libvips' `vips` tool), to look at.
"""
import argparse
import os
import subprocess
import sys
from collections import defaultdict

BANDS = (10, 20, 30, 60)
BAND_NAMES = ("10_20", "20_30", "30_60", "60_up")


def band_of(b):
    side = min(b[2] - b[0], b[3] - b[1])
    k = -1
    for i, low in enumerate(BANDS):
        if side >= low:
            k = i
    return k


def iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def load_labels(path):
    labels = defaultdict(list)
    with open(path) as f:
        for line in f:
            name, x1, y1, x2, y2, tag = line.split()
            labels[name].append(([float(x1), float(y1), float(x2), float(y2)], tag[0]))
    return labels


def load_dets(path):
    dets = defaultdict(list)
    with open(path) as f:
        for line in f:
            name, x1, y1, x2, y2, score = line.split()
            dets[name].append(([float(x1), float(y1), float(x2), float(y2)], float(score)))
    return dets


def evaluate(labels, dets, min_iou, keep):
    """Greedy matching as eval_accuracy: detections best score first, each takes the free label it
    overlaps most at IoU >= min_iou. Returns (found, total) per band of visible faces, the false
    positives [(photo, box, score, on_face)] of 20+ px, and the photo count."""
    total, found = [0] * 4, [0] * 4
    fps = []
    for name, faces in labels.items():
        ds = sorted((d for d in dets.get(name, []) if keep(d)), key=lambda d: -d[1])
        used = [False] * len(faces)
        for box, score in ds:
            best, best_iou = -1, min_iou
            for k, (g, _) in enumerate(faces):
                v = 0.0 if used[k] else iou(g, box)
                if v >= best_iou:
                    best, best_iou = k, v
            if best >= 0:
                used[best] = True
            elif band_of(box) >= 0:
                cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                on_face = any(g[0] <= cx <= g[2] and g[1] <= cy <= g[3] for g, _ in faces)
                fps.append((name, box, score, on_face))
        for k, (g, tag) in enumerate(faces):
            b = band_of(g)
            if tag == "v" and b >= 0:
                total[b] += 1
                found[b] += used[k]
    return found, total, fps, len(labels)


def report(title, labels, dets, keep):
    for min_iou in (0.5, 0.3):
        found, total, fps, photos = evaluate(labels, dets, min_iou, keep)
        bands = " ".join(f"r_{BAND_NAMES[b]}={found[b] / max(total[b], 1):.3f}({found[b]}/{total[b]})"
                         for b in range(4))
        f20, t20 = sum(found[1:]), sum(total[1:])
        on = sum(1 for fp in fps if fp[3])
        print(f"RESULT crowd_fp {title} iou={min_iou} {bands} recall_20_up={f20 / max(t20, 1):.4f} "
              f"fp_per_photo={len(fps) / photos:.2f} on_face={on / photos:.2f} "
              f"no_face={(len(fps) - on) / photos:.2f} photos={photos}")
    return evaluate(labels, dets, 0.5, keep)[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("dets")
    ap.add_argument("--min-score", type=float, default=0.0)
    ap.add_argument("--band-min", type=float, nargs=3, metavar=("S20", "S30", "S60"))
    ap.add_argument("--crops")
    a = ap.parse_args()
    try:
        labels = load_labels(os.path.join(a.dir, "crowd_labels.tsv"))
        dets = load_dets(a.dets)
    except (OSError, ValueError) as e:
        print(f"crowd_fp: {e}", file=sys.stderr)
        sys.exit(2)
    per_band = a.band_min or (0.0, 0.0, 0.0)

    def keep(d):
        b = band_of(d[0])
        return d[1] >= a.min_score and (b < 1 or d[1] >= per_band[b - 1])

    title = f"min_score={a.min_score:.2f} band_min={','.join(f'{v:.2f}' for v in per_band)}"
    fps = report(title, labels, dets, keep)
    for name, box, score, on_face in fps:
        print(f"# false positive {name} [{box[0]:.0f},{box[1]:.0f},{box[2]:.0f},{box[3]:.0f}] "
              f"score {score:.3f} {'on_face' if on_face else 'no_face'}")
        if a.crops:
            os.makedirs(a.crops, exist_ok=True)
            pad = max(box[2] - box[0], box[3] - box[1])
            x, y = max(0, int(box[0] - pad)), max(0, int(box[1] - pad))
            w, h = int(box[2] - box[0] + 2 * pad), int(box[3] - box[1] + 2 * pad)
            out = os.path.join(a.crops, f"{os.path.splitext(name)[0]}-{box[0]:.0f}-{box[1]:.0f}-"
                                        f"{box[2]:.0f}-{box[3]:.0f}-{score:.3f}.jpg")
            src = os.path.join(a.dir, name)
            # vips clips nothing itself: keep the window inside the photo
            info = subprocess.run(["vipsheader", "-f", "width", src], capture_output=True,
                                  text=True)
            info_h = subprocess.run(["vipsheader", "-f", "height", src], capture_output=True,
                                    text=True)
            if info.returncode or info_h.returncode:
                print(f"crowd_fp: {src}: cannot read", file=sys.stderr)
                continue
            w = min(w, int(info.stdout) - x)
            h = min(h, int(info_h.stdout) - y)
            tmp = out + ".v"
            subprocess.run(["vips", "crop", src, out + "[Q=92]", str(x), str(y), str(w), str(h)],
                           check=True)
            # enlarged 4x (nearest), so a 25 px face can be seen
            subprocess.run(["vips", "resize", out, tmp + ".jpg", "4", "--kernel", "nearest"],
                           check=True)
            os.replace(tmp + ".jpg", out)


if __name__ == "__main__":
    main()
