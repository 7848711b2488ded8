#!/usr/bin/env bash
# End to end, incremental `index`, `remove` and `stats` on sample photos (issue 5), with the exact
# summary line on stderr (not a terminal): first run all new; second run all unchanged, nothing
# re-embedded (its speed is measured by bench/reindex_unchanged.sh: tests assert no timings); a
# touched photo (same content, new mtime) stays unchanged; a renamed or moved photo is "moved", not
# re-embedded, and search reports its new path; a copy is new but not re-embedded, also when both
# copies are new in one run; changed content is re-embedded; a deleted photo is removed and gone
# from results; `remove PATH` and `stats` (table and --json).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

lib=$tmp/lib
mkdir "$lib"
for i in 1 2 3 4; do small_copy $i 480 "$lib/s$i.jpg"; done
small_copy 5 480 "$tmp/s5.jpg"
q=$samples/sample1.jpg

# summary N NEW CHANGED UNCHANGED MOVED REMOVED FAILED FACES: the expected last line; the time is
# taken from what came.
summary() {
  printf '%s photos: %s new, %s changed, %s unchanged, %s moved, %s removed, %s failed; %s faces in %s' \
    "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$(grep -oE '[0-9]+\.[0-9]s$' <<<"$err" | tail -1)"
}
# paths of the matches of sample1's face 2, one a line
matches() { "$FACESEARCH" search -q "$q" --face 2 --csv | tail -n +2 | cut -d, -f1,3; }

expect_exit 0 "$FACESEARCH" index "$lib"
expect_err_is "$(summary 4 4 0 0 0 0 0 13)"
expect_out_is ""
check "found in s1 and s4" "$lib/s1.jpg,2
$lib/s4.jpg,2" "$(matches)"

# nothing changed: nothing re-embedded (0 faces)
expect_exit 0 "$FACESEARCH" index "$lib"
expect_err_is "$(summary 4 0 0 4 0 0 0 0)"

# touched: new mtime, same content
touch -d '2001-02-03 04:05:06' "$lib/s2.jpg"
expect_exit 0 "$FACESEARCH" index "$lib"
expect_err_is "$(summary 4 0 0 4 0 0 0 0)"
expect_exit 0 "$FACESEARCH" index "$lib"
expect_err_is "$(summary 4 0 0 4 0 0 0 0)"

# renamed into a subfolder: moved, not re-embedded, and found at its new path
mkdir "$lib/sub"
mv "$lib/s4.jpg" "$lib/sub/renamed4.jpg"
expect_exit 0 "$FACESEARCH" index "$lib"
expect_err_is "$(summary 4 0 0 3 1 0 0 0)"
check "found at the new path" "$lib/s1.jpg,2
$lib/sub/renamed4.jpg,2" "$(matches)"

# a copy: new, but its faces come from the index
cp "$lib/s3.jpg" "$lib/copy3.jpg"
expect_exit 0 "$FACESEARCH" index "$lib"
expect_err_is "$(summary 5 1 0 4 0 0 0 0)"

# content changed: re-embedded (s5 has 5 faces)
cp "$tmp/s5.jpg" "$lib/s3.jpg"
expect_exit 0 "$FACESEARCH" index "$lib"
expect_err_is "$(summary 5 0 1 4 0 0 0 5)"

# deleted: removed, gone from the results
rm "$lib/s1.jpg"
expect_exit 0 "$FACESEARCH" index "$lib"
expect_err_is "$(summary 4 0 0 4 0 1 0 0)"
check "deleted photo gone from results" "$lib/sub/renamed4.jpg,2" "$(matches)"

# stats: s2 3 faces, copy3 3, s3 (now s5) 5, renamed4 4
expect_exit 0 "$FACESEARCH" stats
check "stats" "files    4 (0 failed)
faces    15
folders  2
pack     default" "$(head -4 <<<"$out")"
check "stats size line" "1" "$(sed -n 5p <<<"$out" | grep -cE '^size     [0-9]+\.[0-9] MiB$')"
expect_exit 0 "$FACESEARCH" stats --json
check "stats --json" '{"files":4,"failed":0,"faces":15,"folders":2,"bytes":N,"pack":"default"}' \
  "$(sed -E 's/"bytes":[0-9]+,/"bytes":N,/' <<<"$out")"

# remove: a folder, a file, a path the index does not hold
expect_exit 0 "$FACESEARCH" remove "$lib/sub"
expect_out_is "$lib/sub: 1 photo removed from the index"
expect_err_is ""
check "removed photo gone from results" "" "$(matches)"
expect_exit 0 "$FACESEARCH" remove "$lib/copy3.jpg" "$tmp/nothing-here"
expect_out_is "$lib/copy3.jpg: 1 photo removed from the index
$tmp/nothing-here: 0 photos removed from the index"
expect_exit 0 "$FACESEARCH" stats
check "stats after remove" "files    2 (0 failed)
faces    8" "$(head -2 <<<"$out")"
# the next run puts them back: removed from the index, so new and embedded again
expect_exit 0 "$FACESEARCH" index "$lib"
expect_err_is "$(summary 4 2 0 2 0 0 0 7)"

# identical photos new in the same run: one is embedded, the other copied (s6 has 4 faces)
mkdir "$tmp/twins"
small_copy 6 480 "$tmp/twins/a.jpg"
cp "$tmp/twins/a.jpg" "$tmp/twins/b.jpg"
expect_exit 0 "$FACESEARCH" index "$tmp/twins"
expect_err_is "$(summary 2 2 0 0 0 0 0 4)"
expect_exit 0 "$FACESEARCH" stats
check "twins: both indexed with their faces" "files    6 (0 failed)
faces    23" "$(head -2 <<<"$out")"


# an index made by another version of the face pipeline (here the one before the quality gate
# dropped nested faces) is refused (its faces are not comparable)
sqlite3 "$FACESEARCH_DB/index.db" "UPDATE meta SET value = '2' WHERE key = 'pipeline'"
expect_exit 2 "$FACESEARCH" index "$tmp/twins"
expect_err_is "facesearch: $FACESEARCH_DB: built by another version of the face pipeline ('2'; this facesearch uses '4'), so its faces are not comparable; index into another --db, or delete the folder to rebuild it"
expect_exit 2 "$FACESEARCH" search -q "$tmp/twins/a.jpg"
expect_err_is "facesearch: $FACESEARCH_DB: built by another version of the face pipeline ('2'; this facesearch uses '4'), so its faces are not comparable; index into another --db, or delete the folder to rebuild it"

# a new copy of a photo whose only indexed entry takes other known content in the same run: one
# worker writes a.jpg (now sample5's content, copied from s5.jpg) before z.jpg, whose content
# (sample4's) is then indexed nowhere: z.jpg is embedded, not dropped
mkdir "$tmp/recopy"
cp "$samples/sample4.jpg" "$tmp/recopy/a.jpg"
cp "$samples/sample5.jpg" "$tmp/recopy/s5.jpg"
expect_exit 0 "$FACESEARCH" --db "$tmp/recopy-db" index "$tmp/recopy"
cp "$tmp/recopy/a.jpg" "$tmp/recopy/z.jpg"
cp "$samples/sample5.jpg" "$tmp/recopy/a.jpg"
expect_exit 0 "$FACESEARCH" --db "$tmp/recopy-db" --threads 1 index "$tmp/recopy"
check "recopied content: every photo settled" "3 photos: 2 new, 0 changed, 1 unchanged" \
  "$(sed -E 's/, 0 moved.*//' <<<"$err")"
check "recopied content: every photo indexed" "$tmp/recopy/a.jpg
$tmp/recopy/s5.jpg
$tmp/recopy/z.jpg" "$(sqlite3 "$tmp/recopy-db/index.db" 'SELECT path FROM files ORDER BY path')"

finish
