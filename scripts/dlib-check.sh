#!/usr/bin/env bash
# Checks the converted dlib recognizer against dlib's own inference (development only; nothing of
# dlib is used at run time): builds scripts/dlib-check/dlib_ref.cpp against Debian's libdlib-dev
# (installed here if missing), cuts the 150 x 150 chip of every face the dlib pack finds in the
# sample photos (build/bench/dlib_chips), runs dlib's network on each chip and compares the two
# normalised embeddings. Prints one RESULT line and fails above 1e-4.
#
#   scripts/dlib-check.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$here/build}
data=${FACESEARCH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/facesearch}
dat=$data/models/dlib/dlib_resnet.dat
[[ -x $build/bench/dlib_chips ]] || { echo "dlib-check: build first (make build)" >&2; exit 2; }
[[ -f $dat ]] || { echo "dlib-check: $dat missing (make models)" >&2; exit 2; }
[[ -f /usr/include/dlib/dnn.h ]] || apt-get install -y libdlib-dev >/dev/null

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
g++ -O2 -std=c++14 -o "$tmp/dlib_ref" "$here/scripts/dlib-check/dlib_ref.cpp" -ldlib
"$build/bench/dlib_chips" "$tmp" "$data"/samples/*.jpg >"$tmp/ours.txt"
n=$(wc -l <"$tmp/ours.txt")
((n > 0)) || { echo "dlib-check: no faces in the samples" >&2; exit 1; }
"$tmp/dlib_ref" "$dat" $(seq -f "$tmp/%g.rgb" 0 $((n - 1))) >"$tmp/dlib.txt"
/usr/bin/python3 - "$tmp/ours.txt" "$tmp/dlib.txt" <<'PY'
import sys
import numpy as np
ours = np.array([line.split()[2:] for line in open(sys.argv[1])], float)
ref = np.loadtxt(sys.argv[2], ndmin=2)
ref /= np.linalg.norm(ref, axis=1, keepdims=True)
worst = float(np.abs(ours - ref).max())
print(f"RESULT dlib_check faces={len(ours)} max_abs_diff={worst:.3g} tolerance=1e-4")
sys.exit(0 if worst <= 1e-4 else 1)
PY
