#!/usr/bin/env bash
# End to end, `search` on the sample photos (480 px copies) with the default pack (issue 5):
# --no-index finds sample1's face 2 in the two photos where that person appears (sample1 face 2,
# sample4 face 2) at the default threshold; --top; --threshold -1 lists every face; --face N, all,
# and an N too large (exact error); --json and --csv formats; -o writes SIM_STEM_faceN.jpg crops;
# exit 1 and an empty stdout when nothing matches; and the indexed path (--db a temp folder, with
# and without -t) gives exactly the results of --no-index: same faces, order and scores.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

lib=$tmp/lib
mkdir "$lib"
for i in 1 2 3 4 5 6; do small_copy $i 480 "$lib/s$i.jpg"; done
q=$samples/sample1.jpg
row='^[01]\.[0-9]{4}  face [0-9] +\[[0-9]+,[0-9]+,[0-9]+,[0-9]+\]  '

# ---- --no-index ---------------------------------------------------------------------------------
expect_exit 0 "$FACESEARCH" search --no-index -q "$q" --face 2 -t "$lib"
check "rows" "2" "$(grep -cE "$row" <<<"$out")"
check "found in sample1 and sample4" "face 2 $lib/s1.jpg|face 2 $lib/s4.jpg" \
  "$(sed -E 's/^[^ ]+  (face [0-9]) .*\]  /\1 /' <<<"$out" | paste -sd'|')"
expect_err_is "searched 6 photos (22 faces)
2 matches"
table=$out

expect_exit 0 "$FACESEARCH" search --no-index -q "$q" --face 2 -t "$lib" --top 1
check "--top 1" "$(head -1 <<<"$table")" "$out"
expect_err_is "searched 6 photos (22 faces)
1 match"

expect_exit 0 "$FACESEARCH" search --no-index -q "$q" --face 2 -t "$lib" --threshold -1 --top 0 --json
jcheck "--json structure" search
check "--threshold -1 lists every face" "22" "$(wc -l <<<"$out")"
expect_err_is ""
every=$out

expect_exit 0 "$FACESEARCH" search --no-index -q "$q" --face 2 -t "$lib" --csv -o "$tmp/crops"
check "--csv header" "path,similarity,face,x1,y1,x2,y2,score" "$(head -1 <<<"$out")"
check "--csv rows" "2" "$(grep -cE "^$lib/s[14]\.jpg,[01]\.[0-9]{4},2,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,[01]\.[0-9]{4}$" <<<"$out")"
expect_err_is ""
# crops: SIM_STEM_faceN.jpg for every match, SIM as printed
want=$(tail -n +2 <<<"$out" | awk -F, '{ n = split($1, p, "/"); sub(/\.jpg$/, "", p[n]); print $2 "_" p[n] "_face" $3 ".jpg" }' | sort)
check "-o crop names" "$want" "$(ls "$tmp/crops" | sort)"
for f in "$tmp"/crops/*.jpg; do
  w=$(vipsheader -f width "$f" 2>/dev/null)
  check "crop $f is a small image" "yes" "$( [[ -n "$w" && $w -gt 20 && $w -lt 200 ]] && echo yes || echo "no ($w)")"
done

# --face all: the three faces of sample1 each find themselves in s1 first
expect_exit 0 "$FACESEARCH" search --no-index -q "$q" --face all -t "$lib" --top 3
check "--face all" "face 1 $lib/s1.jpg|face 2 $lib/s1.jpg|face 3 $lib/s1.jpg" \
  "$(sed -E 's/^[^ ]+  (face [0-9]) .*\]  /\1 /' <<<"$out" | sort | paste -sd'|')"

expect_exit 2 "$FACESEARCH" search --no-index -q "$q" --face 4 -t "$lib"
expect_err_is "facesearch: $q: --face 4, but the query photo has 3 faces"
expect_out_is ""

# nothing matches: a close-up of the same person from another photo, at threshold 0.99
vips crop "$q" "$tmp/close.jpg" 774 373 312 337
expect_exit 1 "$FACESEARCH" search --no-index -q "$tmp/close.jpg" -t "$lib" --threshold 0.99
expect_out_is ""
expect_err_is "searched 6 photos (22 faces)
0 matches"
check "--no-index wrote no index" "no" "$([[ -e $FACESEARCH_DB ]] && echo yes || echo no)"

# ---- the indexed path gives the same results -----------------------------------------------------
expect_exit 0 "$FACESEARCH" search -q "$q" --face 2 -t "$lib" --threshold -1 --top 0 --json
check "indexed (-t) = --no-index" "$every" "$out"
expect_err_is "6 photos: 6 new, 0 changed, 0 unchanged, 0 moved, 0 removed, 0 failed; 22 faces in $(grep -oE '[0-9]+\.[0-9]s$' <<<"$err")"
expect_exit 0 "$FACESEARCH" search -q "$q" --face 2 --threshold -1 --top 0 --json
check "indexed (whole index) = --no-index" "$every" "$out"
expect_err_is ""
expect_exit 0 "$FACESEARCH" search -q "$q" --face 2
check "indexed table = --no-index table" "$table" "$out"
expect_err_is "2 matches"
expect_exit 0 "$FACESEARCH" search -q "$q" --face 2 --top 1 --csv
check "indexed --top 1 --csv" "2" "$(wc -l <<<"$out")"
expect_exit 1 "$FACESEARCH" search -q "$tmp/close.jpg" --threshold 0.99
expect_out_is ""
expect_err_is "0 matches"
expect_exit 2 "$FACESEARCH" search -q "$q" --face 9
expect_err_is "facesearch: $q: --face 9, but the query photo has 3 faces"

finish
