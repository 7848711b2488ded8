#!/usr/bin/env python3
"""calibrate-fusion.py -- chooses the fused pack's weight and threshold on development data.

Reads the pair scores bench/eval_accuracy writes with --scores for the same crops under two packs
(the first recognizer's, the second's: same detector, so the same pairs in the same order), and
for each weight W of the first recognizer (the fused similarity is W * s1 + (1 - W) * s2) measures
the AUC of the hard pairs (impostors of the same group); the W with the best hard AUC is kept, and
the threshold (on a 0.01 grid) with the best balanced accuracy on the hard pairs (the mean of the
genuine pairs' and the impostors' accuracy). The same threshold rule is printed for each recognizer alone.

    calibrate-fusion.py SCORES_FIRST SCORES_SECOND

Run it on the calibration half of scripts/fetch-devdata.sh, never on evaluation data.
"""
import sys

import numpy as np


def load(path):
    a = np.loadtxt(path, ndmin=2)
    return a[:, 0].astype(bool), a[:, 1].astype(bool), a[:, 2]


def auc(gen, imp):
    imp = np.sort(imp)
    below = np.searchsorted(imp, gen, side="left")
    upto = np.searchsorted(imp, gen, side="right")
    return float(np.mean(below + 0.5 * (upto - below)) / len(imp))


def best_threshold(gen, imp):
    """The threshold, on a 0.01 grid (as the tool prints it), with the best balanced accuracy."""
    cands = np.round(np.arange(-1.0, 1.0001, 0.01), 2)
    best = (0.0, 0.0)
    for t in cands:
        acc = 0.5 * (np.mean(gen >= t) + np.mean(imp < t))
        if acc > best[0]:
            best = (acc, t)
    return best


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-3], file=sys.stderr)
        return 2
    same, hard, s1 = load(argv[1])
    same2, hard2, s2 = load(argv[2])
    if len(s1) != len(s2) or (same != same2).any() or (hard != hard2).any():
        print("calibrate-fusion: the two score files do not hold the same pairs", file=sys.stderr)
        return 1
    for name, s in (("first", s1), ("second", s2)):
        acc, t = best_threshold(s[same], s[hard])
        print(f"{name}: hard_auc={auc(s[same], s[hard]):.4f} threshold={t:.3f} "
              f"balanced_acc={acc:.4f}")
    results = []
    for w in np.arange(0.05, 0.951, 0.05):
        f = w * s1 + (1 - w) * s2
        results.append((auc(f[same], f[hard]), w))
        print(f"w={w:.2f} hard_auc={results[-1][0]:.4f} all_auc={auc(f[same], f[~same]):.4f}")
    a, w = max(results)
    f = w * s1 + (1 - w) * s2
    acc, t = best_threshold(f[same], f[hard])
    print(f"chosen: fusion={w:.2f} threshold={t:.3f} hard_auc={a:.4f} balanced_acc={acc:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
