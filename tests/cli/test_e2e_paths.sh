#!/usr/bin/env bash
# End to end, SPEC.md §5 / issue 11 item 2: one canonical path per photo. Indexing a folder again
# as ../x, x/./, /abs/../x, through a symlink to it, or through a symlinked sub-folder adds
# nothing (same face count, no duplicate match); paths are stored and printed as real paths;
# remove and search -t accept any spelling of a folder; detect --json prints the path search
# prints. Also: `index A /missing` indexes A, reports /missing and exits 2; the -o folder inside
# a -t folder is not searched.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

root=$(realpath "$tmp")
cd "$root"
mkdir -p lib/amy lib/penny links
small_copy 1 480 lib/amy/a1.jpg
small_copy 4 480 lib/amy/a4.jpg
small_copy 2 480 lib/penny/p2.jpg
q=$root/lib/amy/a1.jpg
faces() { "$FACESEARCH" stats --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["files"], d["faces"])'; }

expect_exit 0 "$FACESEARCH" index lib
base=$(faces)
check "first run" "3" "${base%% *}"

cd lib/penny
expect_exit 0 "$FACESEARCH" index ../amy
check "index ../amy: unchanged" "2 photos: 0 new, 0 changed, 2 unchanged" "$(cut -d, -f1-3 <<<"$err")"
cd "$root"
expect_exit 0 "$FACESEARCH" index lib/./amy/ "$root/lib/penny/../amy"
check "index lib/./amy/ and /abs/../amy: unchanged" "2 photos: 0 new, 0 changed, 2 unchanged" "$(cut -d, -f1-3 <<<"$err")"
ln -s "$root/lib/amy" links/amy-link
expect_exit 0 "$FACESEARCH" index links/amy-link
check "index a symlink to an indexed folder: unchanged" "2 photos: 0 new, 0 changed, 2 unchanged" "$(cut -d, -f1-3 <<<"$err")"
ln -s ../amy lib/penny/amy-again
ln -s "$root/lib/amy/a4.jpg" lib/penny/a4-link.jpg
expect_exit 0 "$FACESEARCH" index lib
check "symlinked folders inside the root: each photo once" "3 photos: 0 new, 0 changed, 3 unchanged" "$(cut -d, -f1-3 <<<"$err")"
check "face count unchanged" "$base" "$(faces)"

# no duplicate matches, real paths
expect_exit 0 "$FACESEARCH" search -q "$q" --face 2 --csv
check "no duplicate rows" "$(tail -n +2 <<<"$out" | wc -l)" "$(tail -n +2 <<<"$out" | cut -d, -f1,3 | sort -u | wc -l)"
check "real paths" "$root/lib/amy/a1.jpg|$root/lib/amy/a4.jpg" "$(tail -n +2 <<<"$out" | cut -d, -f1 | sort | paste -sd'|')"
# -t with another spelling restricts to the same photos
expect_exit 0 "$FACESEARCH" search -q "$q" --face 2 --csv -t links/amy-link
check "search -t through a link" "2" "$(tail -n +2 <<<"$out" | wc -l)"
expect_exit 0 "$FACESEARCH" search -q "$q" --face 2 --csv --no-index -t lib -t links/amy-link -t lib/amy/../amy
check "--no-index: each photo once, real paths" "$root/lib/amy/a1.jpg|$root/lib/amy/a4.jpg" \
  "$(tail -n +2 <<<"$out" | cut -d, -f1 | sort | paste -sd'|')"

# a link to a folder outside the root: its photos by their real paths, found by search -t root
# (lib/penny also links to lib/amy: those photos are found too)
mkdir -p outside/pics
small_copy 4 480 outside/pics/o4.jpg
ln -s "$root/outside/pics" lib/penny/elsewhere
expect_exit 0 "$FACESEARCH" search -q "$q" --face 2 --csv -t lib/penny
check "search -t through a link to an outside folder" "$root/lib/amy/a1.jpg|$root/lib/amy/a4.jpg|$root/outside/pics/o4.jpg" \
  "$(tail -n +2 <<<"$out" | cut -d, -f1 | sort -u | paste -sd'|')"
expect_exit 0 "$FACESEARCH" search -q "$q" --face 2 --csv -t lib/penny
check "searched again: the same matches" "$root/lib/amy/a1.jpg|$root/lib/amy/a4.jpg|$root/outside/pics/o4.jpg" \
  "$(tail -n +2 <<<"$out" | cut -d, -f1 | sort -u | paste -sd'|')"
expect_exit 0 "$FACESEARCH" remove outside
rm lib/penny/elsewhere

# detect --json prints the path search prints
cd lib/penny
expect_exit 0 "$FACESEARCH" detect --json ../amy/a1.jpg
check "detect --json path" "$root/lib/amy/a1.jpg" "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["path"])' <<<"$out")"

# remove through a non-canonical spelling removes the rows
expect_exit 0 "$FACESEARCH" remove ../penny/../amy/
expect_out_is "$root/lib/amy: 2 photos removed from the index"
cd "$root"
check "after remove" "1" "$(faces | cut -d' ' -f1)"
expect_exit 0 "$FACESEARCH" index links/amy-link
expect_exit 0 "$FACESEARCH" remove links/amy-link
expect_out_is "$root/lib/amy: 2 photos removed from the index"
# a removed folder that no longer exists, named through ..
expect_exit 0 "$FACESEARCH" index lib/amy
mv lib/amy gone-amy
expect_exit 0 "$FACESEARCH" remove lib/penny/../amy
expect_out_is "$root/lib/amy: 2 photos removed from the index"
mv gone-amy lib/amy
rm lib/penny/a4-link.jpg lib/penny/amy-again

# ---- index A /missing: A is indexed, /missing reported, exit 2 --------------------------------
export FACESEARCH_DB=$root/db2
expect_exit 2 "$FACESEARCH" index lib/amy "$root/missing"
check "missing root reported" "facesearch: $root/missing: No such file or directory" "$(sed -n 1p <<<"$err")"
check "the other root indexed" "2 photos: 2 new" "$(sed -n 2p <<<"$err" | cut -d, -f1)"
expect_exit 2 "$FACESEARCH" index "$root/missing"
expect_err_is "facesearch: $root/missing: No such file or directory"
expect_exit 2 "$FACESEARCH" search -q "$q" --face 2 --csv -t lib/amy -t nothing-here
check "search -t with a missing folder: the other searched" "2" "$(tail -n +2 <<<"$out" | wc -l)"
expect_err_has "facesearch: nothing-here: No such file or directory"

# ---- -o inside a -t folder is not searched nor indexed -----------------------------------------
export FACESEARCH_DB=$root/db3
expect_exit 0 "$FACESEARCH" search -q "$q" --face 2 --csv -t lib -o lib/crops
check "crops written" "2" "$(ls lib/crops | wc -l)"
expect_exit 0 "$FACESEARCH" search -q "$q" --face 2 --csv -t lib -o lib/crops
check "crops not indexed" "3" "$(faces | cut -d' ' -f1)"
check "crops not matched" "2" "$(tail -n +2 <<<"$out" | wc -l)"
expect_exit 0 "$FACESEARCH" search -q "$q" --face 2 --csv --no-index -t lib -o lib/crops
check "--no-index: crops not searched" "2" "$(tail -n +2 <<<"$out" | wc -l)"

finish
