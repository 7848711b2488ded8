"""people_eval.py — quality of a grouping of faces into persons against labels, for
bench/people.sh.

Usage: python3 people_eval.py DATASET INDEX_DIR [--quality-cut Q]
DATASET is laid out like shared/data/bbt: PERSON/*.png crops (label: the folder) and group photos
NAME.jpg labelled in group_labels.json (a face takes the label whose box it overlaps with IoU >=
0.5; `unknown` and unlabelled faces are each a person of their own). Every face of the index in
INDEX_DIR (its index.db, read with Python's sqlite3: faces, files, face_people) is scored; a face
in no person is a group of one.

Prints one line: pairs=P precision=.. recall=.. bcubed_f=.. mixed=M people=N faces=F where
precision and recall are over pairs of faces (same group vs same label), BCubed F averages each
face's precision and recall, and mixed counts the groups holding two labelled identities.
With --quality-cut Q (on a grouping made with `people update --min-quality 0`, every face
grouped) it also prints where the mistakes are, by the faces' stored quality (faces.quality):
  below=N below_mistakes=M above=N above_mistakes=M
a mistake being a labelled face outside the group holding most of its identity's faces (split
off, or left alone), or in a group most of whose faces are another identity; or a face of
nobody labelled (`unknown`) put in a group with others.
"""
import json
import os
import sqlite3
import sys
from collections import Counter, defaultdict


def iou(a, b):
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    if x2 <= x1 or y2 <= y1:
        return 0.0
    inter = (x2 - x1) * (y2 - y1)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def label_of(dataset, groups, face, n):
    path = face["path"]
    rel = os.path.relpath(path, dataset)
    parts = rel.split(os.sep)
    if len(parts) == 2:
        return parts[0]
    name = os.path.splitext(parts[0])[0]
    best, best_iou = None, 0.5
    for lab in groups.get(name, []):
        v = iou(lab["box"], face["box"])
        if v >= best_iou:
            best, best_iou = lab["person"], v
    if best is None or best == "unknown":
        return "#%d" % n  # a person of its own
    return best


def scores(labels, groups):
    """Pairwise precision, recall and BCubed F of groups (one id per face) against labels."""
    n = len(labels)
    by_group = defaultdict(list)
    by_label = Counter(labels)
    for i, g in enumerate(groups):
        by_group[g].append(i)
    tp = fp = 0
    for members in by_group.values():
        c = Counter(labels[i] for i in members)
        same = sum(k * (k - 1) // 2 for k in c.values())
        total = len(members) * (len(members) - 1) // 2
        tp += same
        fp += total - same
    true_pairs = sum(k * (k - 1) // 2 for k in by_label.values())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    bp = br = 0.0
    for members in by_group.values():
        c = Counter(labels[i] for i in members)
        for i in members:
            bp += c[labels[i]] / len(members)
            br += c[labels[i]] / by_label[labels[i]]
    bp, br = bp / n, br / n
    f = 2 * bp * br / (bp + br) if bp + br else 0.0
    mixed = sum(1 for members in by_group.values()
                if len({labels[i] for i in members if not labels[i].startswith("#")}) > 1)
    return tp + fp, precision, recall, f, mixed


def main():
    dataset, index_dir = sys.argv[1], sys.argv[2]
    with open(os.path.join(dataset, "group_labels.json")) as f:
        groups = json.load(f)
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(index_dir, "index.db"), uri=True)
    cols = [c[1] for c in db.execute("PRAGMA table_info(faces)")]
    quality = "faces.quality" if "quality" in cols else "NULL"
    rows = db.execute("SELECT files.path, x1, y1, x2, y2, face_people.person_id, " + quality +
                      " FROM faces"
                      " JOIN files ON files.id = faces.file_id"
                      " LEFT JOIN face_people ON face_people.face_id = faces.id"
                      " ORDER BY faces.id").fetchall()
    labels, assigned, qualities = [], [], []
    for n, (path, x1, y1, x2, y2, person, q) in enumerate(rows):
        qualities.append(q)
        path = path.decode() if isinstance(path, bytes) else path
        face = {"path": path, "box": [x1, y1, x2, y2]}
        labels.append(label_of(dataset, groups, face, n))
        assigned.append("p%s" % person if person is not None else "#%d" % n)
    pairs, p, r, f, mixed = scores(labels, assigned)
    people = len({a for a in assigned if not a.startswith("#")})
    line = ("pairs=%d precision=%.4f recall=%.4f bcubed_f=%.4f mixed=%d people=%d faces=%d"
            % (pairs, p, r, f, mixed, people, len(labels)))
    if "--quality-cut" in sys.argv:
        cut = float(sys.argv[sys.argv.index("--quality-cut") + 1])
        wrong = mistakes(labels, assigned)
        n = {True: [0, 0], False: [0, 0]}
        for q, w in zip(qualities, wrong):
            if q is not None and w is not None:
                n[q < cut][0] += 1
                n[q < cut][1] += w
        line += " below=%d below_mistakes=%d above=%d above_mistakes=%d" % (
            n[True][0], n[True][1], n[False][0], n[False][1])
    print(line)


def mistakes(labels, groups):
    """Per face: True when it is grouped wrongly (see the module's comment)."""
    main_group = {}
    for lab, cnt in Counter(zip(labels, groups)).most_common():
        main_group.setdefault(lab[0], lab[1])
    majority = {}
    for g in set(groups):
        c = Counter(labels[i] for i, h in enumerate(groups) if h == g and not labels[i].startswith("#"))
        majority[g] = c.most_common(1)[0][0] if c else None
    size = Counter(groups)
    out = []
    for lab, g in zip(labels, groups):
        if lab.startswith("#"):  # a face of nobody labelled: wrong in any group
            out.append(size[g] > 1)
        else:
            out.append(g != main_group[lab] or (majority[g] is not None and majority[g] != lab))
    return out


if __name__ == "__main__":
    main()
