#!/usr/bin/env bash
# End to end, SPEC.md §5 / issue 11 item 3: the index keeps every face the detector finds above
# the pack's floor whatever `index --min-size` says; search --min-size filters at query time,
# identically for indexed and --no-index searches (same rows); a query whose faces are all under
# --min-size says so; an index made before the rule (no recorded floor) re-detects its photos on
# the next run instead of keeping what a larger --min-size left out.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

lib=$tmp/lib
mkdir "$lib"
small_copy 1 480 "$lib/s1.jpg"     # faces of 40-60 px
small_copy 4 480 "$lib/s4.jpg"
small_copy 1 256 "$lib/t1.jpg"     # faces of 21-34 px
small_copy 4 256 "$lib/t4.jpg"
q=$samples/sample1.jpg
faces() { "$FACESEARCH" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["faces"])'; }
# faces at least $1 px wide and high, by detect --json
at_least() { "$FACESEARCH" detect --json "$lib"/*.jpg | python3 -c '
import json,sys
m=int(sys.argv[1]); n=0
for l in sys.stdin:
    for f in json.loads(l)["faces"]:
        b=f["box"]; n+= b[2]-b[0] >= m and b[3]-b[1] >= m
print(n)' "$1"; }
all=$(at_least 20)

expect_exit 0 "$FACESEARCH" index --min-size 100 "$lib"
check "index --min-size: a note" "note: the index keeps every face; --min-size applies when searching (search --min-size 100)" "$(sed -n 1p <<<"$err")"
check "index --min-size 100 keeps every face" "$all" "$(faces)"

for m in 20 30 45; do
  want=$(at_least $m)
  expect_exit 0 "$FACESEARCH" search -q "$q" --min-size $m --threshold -1 --top 0 --csv
  indexed=$out
  check "indexed --min-size $m: faces >= $m px" "$want" "$(tail -n +2 <<<"$out" | wc -l)"
  expect_exit 0 "$FACESEARCH" search -q "$q" --min-size $m --threshold -1 --top 0 --csv --no-index -t "$lib"
  check "--no-index --min-size $m: the same rows as indexed" "$indexed" "$out"
  expect_exit 0 "$FACESEARCH" search -q "$q" --min-size $m --threshold -1 --top 3 --csv
  check "indexed --min-size $m --top 3: the best 3 of them" "$(head -4 <<<"$indexed")" "$out"
done
expect_exit 0 "$FACESEARCH" search -q "$q" --min-size 30 --threshold -1 --top 0 --no-index -t "$lib"
check "--no-index counts the faces it searched" "searched 4 photos ($(at_least 30) faces)" "$(sed -n 1p <<<"$err")"

# a query whose faces are all under --min-size
expect_exit 2 "$FACESEARCH" search -q "$lib/s1.jpg" --min-size 130
expect_err_is "facesearch: $lib/s1.jpg: 3 faces, all smaller than 130 px (--min-size)"
expect_out_is ""
expect_exit 2 "$FACESEARCH" search -q "$lib/s1.jpg" --min-size 130 --no-index -t "$lib"
expect_err_is "facesearch: $lib/s1.jpg: 3 faces, all smaller than 130 px (--min-size)"

# an index without a recorded floor (made before the rule): its photos are detected again
sqlite3 "$FACESEARCH_DB/index.db" "DELETE FROM meta WHERE key = 'face_floor'; DELETE FROM faces WHERE x2 - x1 < 40;"
check "old index: small faces missing" "yes" "$( (( $(faces) < all )) && echo yes || echo no)"
expect_exit 0 "$FACESEARCH" index "$lib"
check "old index: every photo detected again" "4 photos: 0 new, 4 changed, 0 unchanged" "$(cut -d, -f1-3 <<<"$err")"
check "old index: every face back" "$all" "$(faces)"
expect_exit 0 "$FACESEARCH" index "$lib"
check "then unchanged" "4 photos: 0 new, 0 changed, 4 unchanged" "$(cut -d, -f1-3 <<<"$err")"

finish
