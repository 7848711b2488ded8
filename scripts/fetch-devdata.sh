#!/usr/bin/env bash
# Lays out the development face set of bench/devdata/glint24.list (for bench/eval_accuracy and
# scripts/calibrate-fusion.py; never used by the tests) from a local git copy of the public
# repository the list names, checking every file's sha256:
#
#   scripts/fetch-devdata.sh GIT_DIR DEST [LIST]
#
# LIST: glint24.list (the default: 15 crops a person) or glint24x40.list (the same 24 people, up
# to 40 crops each: more and harder genuine pairs, what the pack thresholds are calibrated on).
# GIT_DIR: a clone (or bare mirror) of that repository holding the list's commit. DEST receives two
# halves in eval_accuracy's layout, split by person so that what is calibrated on one half is
# measured on the other: DEST/calib/PERSON/*.png and DEST/report/PERSON/*.png (alternate people of
# each gender, in name order), each with people.txt ("PERSON GENDER" lines: the hard-pair groups).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "fetch-devdata: $*" >&2; exit 1; }
(($# == 2 || $# == 3)) || die "usage: fetch-devdata.sh GIT_DIR DEST [glint24.list|glint24x40.list]"
git_dir=$1 dest=$2 list=$here/bench/devdata/${3:-glint24.list}
[[ -f "$list" ]] || die "$list: no such list"
[[ "$(basename "$list")" == glint24*.list ]] || die "$list: not a list of bench/devdata"

commit=$(grep -o 'commit [0-9a-f]\{40\}' "$list" | cut -d' ' -f2)
git --git-dir="$git_dir" cat-file -e "$commit^{commit}" 2>/dev/null ||
  git -C "$git_dir" cat-file -e "$commit^{commit}" 2>/dev/null ||
  die "$git_dir: not a git copy holding commit $commit"
show() { git --git-dir="$git_dir" show "$1" 2>/dev/null || git -C "$git_dir" show "$1"; }

rm -f "$dest"/calib/people.txt.new "$dest"/report/people.txt.new
declare -A half
n_f=0 n_m=0 count=0
while read -r sha path gender; do
  [[ -z "$sha" || "$sha" == \#* ]] && continue
  person=${path%%/*} file=${path#*/}
  if [[ -z "${half[$person]:-}" ]]; then
    if [[ $gender == F ]]; then k=$n_f; n_f=$((n_f + 1)); else k=$n_m; n_m=$((n_m + 1)); fi
    half[$person]=$([[ $((k % 2)) == 0 ]] && echo calib || echo report)
    mkdir -p "$dest/${half[$person]}/$person"
    echo "$person $gender" >> "$dest/${half[$person]}/people.txt.new"
  fi
  out="$dest/${half[$person]}/$path"
  if [[ ! -f "$out" || "$(sha256sum "$out" | cut -d' ' -f1)" != "$sha" ]]; then
    show "$commit:datasets/celebrity_images/${person//_/ }/$file" > "$out.tmp"
    [[ "$(sha256sum "$out.tmp" | cut -d' ' -f1)" == "$sha" ]] || { rm -f "$out.tmp"; die "$path: sha256 mismatch"; }
    mv "$out.tmp" "$out"
  fi
  count=$((count + 1))
done < "$list"
for h in calib report; do mv "$dest/$h/people.txt.new" "$dest/$h/people.txt"; done
echo "fetch-devdata: $count faces verified in $dest (calib, report)"
