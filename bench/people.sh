#!/usr/bin/env bash
# people.sh — grouping faces into persons (issue 15): quality on a labelled development set, and
# scale on synthetic face-like embeddings, for both algorithms (graph: threshold graph + Chinese
# whispers; linkage: average linkage), each at its default threshold.
# Usage: bench/people.sh [DATASET_DIR] [BUILD_DIR]
#   DATASET_DIR: laid out like shared/data/bbt (PERSON/*.png crops, group photos with
#   group_labels.json); skipped when not given. FS_PEOPLE_SIZES (default "100000") lists the
#   synthetic library sizes (e.g. "100000 1000000"), FS_PEOPLE_NEW (default 1000) the faces added
#   for the incremental update, FS_PEOPLE_STORE_MAX (default 100000) the largest size also run
#   through a real index (SQLite; the vector file's graph is built as an index run would).
# Prints:
#   RESULT people set=bbt algorithm=A threshold=T pairs=.. precision=.. recall=.. bcubed_f=..
#          mixed=.. people=.. faces=..          (one per algorithm, plus a threshold sweep)
#   RESULT people_quality set=bbt threshold=T min_quality=0 ... below=N below_mistakes=M
#          above=N above_mistakes=M   (every face grouped, the quality gate off: how many of the
#          faces below the default cut-off, 0.5, and above it are grouped wrongly; the same
#          sweep with the gate on is the `people` lines above)
#   RESULT people n=N ... algorithm=A seconds=.. knn_s=.. extra_mb=.. precision=.. recall=..
#   RESULT people_store n=N algorithm=A full_s=.. incremental_faces=M incremental_s=.. ...
# (see bench/people_scale.c). Run on a quiet machine: timings are wall-clock, 2 threads.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dataset=${1:-}
build=${2:-$here/build}
fs=$build/facesearch
[ -x "$fs" ] && [ -x "$build/bench/people_scale" ] || { echo "people: build first (make build)" >&2; exit 2; }
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "$dataset" ]; then
  [ -f "$dataset/group_labels.json" ] || { echo "people: $dataset/group_labels.json missing" >&2; exit 2; }
  "$fs" --db "$tmp/db" --quiet index "$dataset" 2>/dev/null || true
  for algo in graph linkage; do
    "$fs" --db "$tmp/db" --quiet people update --rebuild --algorithm "$algo"
    echo "RESULT people set=$(basename "$dataset") algorithm=$algo threshold=default" \
      "$(python3 "$here/bench/people_eval.py" "$dataset" "$tmp/db")"
  done
  for t in 0.38 0.42 0.46 0.50; do
    "$fs" --db "$tmp/db" --quiet people update --rebuild --threshold "$t" --min-quality 0
    echo "RESULT people_quality set=$(basename "$dataset") threshold=$t min_quality=0" \
      "$(python3 "$here/bench/people_eval.py" "$dataset" "$tmp/db" --quality-cut 0.5)"
  done
  for t in 0.34 0.38 0.42 0.46 0.50 0.54 0.58; do
    for algo in graph linkage; do
      "$fs" --db "$tmp/db" --quiet people update --rebuild --algorithm "$algo" --threshold "$t"
      echo "RESULT people set=$(basename "$dataset") algorithm=$algo threshold=$t" \
        "$(python3 "$here/bench/people_eval.py" "$dataset" "$tmp/db")"
    done
  done
fi

for n in ${FS_PEOPLE_SIZES:-100000}; do
  for algo in graph linkage; do
    store=()
    [ "$n" -le "${FS_PEOPLE_STORE_MAX:-100000}" ] && store=(--store "${FS_PEOPLE_NEW:-1000}")
    nice "$build/bench/people_scale" "$n" --subspace 64 --algorithm "$algo" "${store[@]}"
  done
done
