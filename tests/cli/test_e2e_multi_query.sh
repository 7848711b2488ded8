#!/usr/bin/env bash
# End to end, several query photos of one person (issue 13): `search -q A -q B` and `-q FOLDER` on
# the sample photos (480 px copies). The person of sample1's face 2 is also sample4's face 2.
# --match max: each library face scores its best similarity to any query face, so the two query
# faces find themselves at 1.0000, and every other face at the larger of its two single-query
# scores; --match mean: one template, the normalised mean of the two embeddings, which is equally
# similar to both, sqrt((1 + s) / 2) where s is their own similarity. A query folder gives the
# same results as its photos one by one; a file in it that gives no face is reported and skipped
# (exit 2); the indexed search gives exactly the --no-index results; errors are exact.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

lib=$tmp/lib
mkdir "$lib"
for i in 1 2 3 4 5 6; do small_copy $i 480 "$lib/s$i.jpg"; done
a=$lib/s1.jpg
b=$lib/s4.jpg
row='^-?[01]\.[0-9]{4}  face [0-9] +\[[0-9]+,[0-9]+,[0-9]+,[0-9]+\]  '
# similarity FACE PHOTO: the similarity printed for that face of that photo in $1 (a table)
similarity() { awk -v f="face $2" -v p="$3" '{ if ($2 " " $3 == f && $NF == p) print $1 }' <<<"$1"; }

# ---- one query at a time, as reference --------------------------------------------------------
expect_exit 0 "$FACESEARCH" search --no-index -q "$a" --face 2 -t "$lib" --threshold -1 --top 0
only_a=$out
expect_exit 0 "$FACESEARCH" search --no-index -q "$b" --face 2 -t "$lib" --threshold -1 --top 0
only_b=$out
s=$(similarity "$only_a" 2 "$b")
check "a and b are the same person" "yes" "$(awk -v s="$s" 'BEGIN { print (s > 0.3 ? "yes" : "no") }')"

# ---- --match max (the default) ------------------------------------------------------------------
expect_exit 0 "$FACESEARCH" search --no-index -q "$a" -q "$b" --face 2 -t "$lib" --threshold -1 --top 0
check "every face listed" "22" "$(grep -cE "$row" <<<"$out")"
check "a finds itself" "1.0000" "$(similarity "$out" 2 "$a")"
check "b finds itself" "1.0000" "$(similarity "$out" 2 "$b")"
both=$out
# every face: the larger of its two single-query similarities
want=$(paste <(awk '{ print $2 " " $3 " " $NF " " $1 }' <<<"$only_a" | sort) \
             <(awk '{ print $2 " " $3 " " $NF " " $1 }' <<<"$only_b" | sort) |
       awk '{ m = $4 > $8 ? $4 : $8; print $1 " " $2 " " $3 " " m }' | sort)
check "max of the single queries" "$want" \
  "$(awk '{ print $2 " " $3 " " $NF " " $1 }' <<<"$both" | sort)"
expect_exit 0 "$FACESEARCH" search --no-index -q "$a" -q "$b" --face 2 -t "$lib" --match max \
  --threshold -1 --top 0
check "--match max is the default" "$both" "$out"

# at the pack's threshold: the two appearances, each at 1.0000
expect_exit 0 "$FACESEARCH" search --no-index -q "$a" -q "$b" --face 2 -t "$lib"
check "two matches" "1.0000 face 2 $a|1.0000 face 2 $b" \
  "$(awk '{ print $1 " " $2 " " $3 " " $NF }' <<<"$out" | sort | paste -sd'|')"
expect_err_is "searched 6 photos (22 faces)
2 matches"

# ---- --match mean -------------------------------------------------------------------------------
expect_exit 0 "$FACESEARCH" search --no-index -q "$a" -q "$b" --face 2 -t "$lib" --match mean \
  --threshold -1 --top 0
check "mean: every face listed" "22" "$(grep -cE "$row" <<<"$out")"
ta=$(similarity "$out" 2 "$a")
tb=$(similarity "$out" 2 "$b")
check "mean: equally similar to both" "$ta" "$tb"
check "mean: sqrt((1 + s) / 2)" "ok" \
  "$(awk -v s="$s" -v t="$ta" 'BEGIN { d = sqrt((1 + s) / 2) - t; print (d < 0.0002 && d > -0.0002 ? "ok" : "no: " t) }')"
check "mean: the two appearances first" "face 2 $a|face 2 $b" \
  "$(head -2 <<<"$out" | awk '{ print $2 " " $3 " " $NF }' | sort | paste -sd'|')"
mean_json_want=$out

# ---- -q FOLDER ----------------------------------------------------------------------------------
q=$tmp/query
mkdir "$q" "$q/sub"
cp "$b" "$q/2.jpg"
cp "$a" "$q/1.jpg"
cp "$lib/s3.jpg" "$q/sub/ignored.jpg"   # subfolders are not walked
cp "$a" "$q/.hidden.jpg"                # nor hidden files
expect_exit 0 "$FACESEARCH" search --no-index -q "$q" --face 2 -t "$lib" --threshold -1 --top 0
check "-q FOLDER = -q each photo" "$both" "$out"
expect_exit 0 "$FACESEARCH" search --no-index -q "$q" --face 2 -t "$lib" --match mean \
  --threshold -1 --top 0
check "-q FOLDER --match mean = -q each photo" "$mean_json_want" "$out"

# a file of the folder that gives no query face: reported, skipped, exit 2; the others searched
echo "not a photo" >"$q/notes.txt"
vips black "$q/dark.png" 64 64
expect_exit 2 "$FACESEARCH" search --no-index -q "$q" --face 2 -t "$lib" --threshold -1 --top 0
check "bad files skipped" "$both" "$out"
expect_err_is "facesearch: $q/dark.png: no face found in the query photo
facesearch: $q/notes.txt: not an image
searched 6 photos (22 faces)
22 matches"

# a folder with no query face at all, an empty folder: errors
mkdir "$tmp/none" "$tmp/empty"
echo "not a photo" >"$tmp/none/notes.txt"
expect_exit 2 "$FACESEARCH" search --no-index -q "$tmp/none" -t "$lib"
expect_err_is "facesearch: $tmp/none/notes.txt: not an image
facesearch: $tmp/none: no query face in this folder"
expect_out_is ""
expect_exit 2 "$FACESEARCH" search --no-index -q "$a" -q "$tmp/empty" -t "$lib"
expect_err_is "facesearch: $tmp/empty: no query face in this folder"
expect_out_is ""

# an explicit query photo without a face is an error, as with one query
expect_exit 2 "$FACESEARCH" search --no-index -q "$a" -q "$q/dark.png" -t "$lib"
expect_err_is "facesearch: $q/dark.png: no face found in the query photo"
expect_out_is ""
# --face N applies to each query photo
expect_exit 2 "$FACESEARCH" search --no-index -q "$b" -q "$a" --face 4 -t "$lib"
expect_err_is "facesearch: $a: --face 4, but the query photo has 3 faces"

# ---- options ------------------------------------------------------------------------------------
expect_exit 2 "$FACESEARCH" search --no-index -q "$a" -q "$b" --match median -t "$lib"
expect_err_is "facesearch: search: --match median: expected max or mean"
expect_exit 2 "$FACESEARCH" search --no-index -q "$a" -q "$b" --face all --match mean -t "$lib"
expect_err_is "facesearch: search: --match mean folds one face per query photo (not --face all)"

# ---- the indexed path gives the same results -----------------------------------------------------
expect_exit 0 "$FACESEARCH" search --no-index -q "$a" -q "$b" --face 2 -t "$lib" --threshold -1 \
  --top 0 --json
jcheck "--json structure" search
max_json=$out
expect_exit 0 "$FACESEARCH" search -q "$a" -q "$b" --face 2 -t "$lib" --threshold -1 --top 0 --json
check "indexed max = --no-index max" "$max_json" "$out"
expect_exit 0 "$FACESEARCH" search --no-index -q "$q/1.jpg" -q "$q/2.jpg" --face 2 -t "$lib" \
  --match mean --threshold -1 --top 0 --json
mean_json=$out
expect_exit 0 "$FACESEARCH" search -q "$q/1.jpg" -q "$q/2.jpg" --face 2 --match mean \
  --threshold -1 --top 0 --json
check "indexed mean = --no-index mean" "$mean_json" "$out"
expect_err_is ""

finish
