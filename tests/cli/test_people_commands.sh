#!/usr/bin/env bash
# `facesearch people` end to end (issue 15) on a small library made from sample1 (three people):
# p1 (640 px), p2 (p1 mirrored), p3 (560 px) and twin (p1 and p2 side by side: each person twice in
# one photo), and tiny (sample4 at 200 px: faces too small to group). Checks every subcommand and
# rule: faces of one photo never in one person (automatic grouping, merge, move), unsure faces
# kept out, name / merge / move / reject / forget, the user's decisions surviving --rebuild and a
# moved photo, search --person, --json everywhere, and the errors.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

lib=$tmp/lib
mkdir "$lib"
small_copy 1 640 "$lib/p1.jpg"
vips flip "$lib/p1.jpg" "$lib/p2.jpg" horizontal
small_copy 1 560 "$lib/p3.jpg"
vips arrayjoin "$lib/p1.jpg $lib/p2.jpg" "$lib/twin.jpg"
small_copy 4 200 "$lib/tiny.jpg"
fs() { "$FACESEARCH" "$@"; }

# py CODE: runs python3 CODE with the last stdout on stdin (JSON Lines in `rows`).
py() { python3 -c "import json, sys; rows = [json.loads(l) for l in sys.stdin if l.strip()]
$1" <<<"$out"; }

# Before any update: nothing grouped, every face unseen.
expect_exit 0 fs index "$lib"
expect_exit 0 fs people list
expect_out_has "0 people; 0 unsure faces, 0 ungrouped, 16 not looked at yet"

expect_exit 0 fs people update --json
check "first update" "16 12 1 3 3" \
  "$(py 'r = rows[0]; print(r["faces"], r["grouped"], r["unsure"], r["people"], r["new_people"])')"
expect_exit 0 fs people list --json
check "three people of four faces in four photos" "4 4|4 4|4 4" \
  "$(py 'print("|".join("%d %d" % (r["faces"], r["photos"]) for r in rows))')"
ids=($(py 'print(" ".join(str(r["id"]) for r in rows))'))
check "a representative face per person" "3" \
  "$(py 'print(sum(1 for r in rows if r["face"]["id"] > 0 and r["face"]["path"].endswith(".jpg")))')"
expect_exit 0 fs people list
expect_out_has "3 people; 1 unsure face, 3 ungrouped, 0 not looked at yet"

# The unsure face: tiny.jpg's, with its quality.
expect_exit 0 fs people unsure --json
check "unsure: tiny.jpg's face, no person, low quality" "tiny.jpg None True" \
  "$(py 'r = rows[0]; print(r["path"].rsplit("/", 1)[1], r["person"], r["quality"] < 0.5)')"
expect_exit 0 fs people unsure
expect_out_has "1 unsure face"

# Rule: no person holds two faces of one photo (twin holds each person twice).
for id in "${ids[@]}"; do
  expect_exit 0 fs people show "$id" --json
  check "person $id: one face per photo" "ok" \
    "$(py 'paths = [r["path"] for r in rows]; print("ok" if len(paths) == len(set(paths)) else paths)')"
done

# An incremental update with nothing new touches nothing.
expect_exit 0 fs people update --json
check "nothing new" "0 3 0" "$(py 'r = rows[0]; print(r["faces"], r["people"], r["new_people"])')"

# name, show by name, search --person.
a=${ids[0]} b=${ids[1]} c=${ids[2]}
expect_exit 0 fs people name "$a" "Ann Example" --json
expect_out_is "{\"done\":\"name\",\"person\":$a,\"face\":null}"
expect_exit 0 fs people show "Ann Example"
expect_out_has "person $a Ann Example: 4 faces in 4 photos"
expect_exit 0 fs search --person "Ann Example" --json
check "search --person: her four photos, by path" "p1.jpg p2.jpg p3.jpg twin.jpg" \
  "$(py 'print(" ".join(r["path"].rsplit("/", 1)[1] for r in rows))')"
check "search --person: name and person" "Ann Example $a" \
  "$(py 'print(rows[0]["name"], rows[0]["person"])')"
expect_exit 0 fs search --person "Ann Example" -t "$lib/p3.jpg"
check "search --person -t: one photo" "1" "$(wc -l <<<"$out")"
expect_exit 1 fs search --person "$b" -t "$lib/tiny.jpg"
expect_exit 2 fs people name "$b" "Ann Example"
expect_err_is "facesearch: the name 'Ann Example' is already another person's"

# merge: refused when both have a face in one photo (every pair here does).
expect_exit 2 fs people merge "$a" "$b"
expect_err_has "both have a face in one photo"
expect_err_has "two faces of one photo are never one person"
expect_exit 2 fs people merge "$a" "$a"
expect_err_is "facesearch: cannot merge person $a with itself"

# photo_id: each face's photo, one id per photo path, across every person (twin's two faces of
# one person's photos included).
photos=""
for id in "${ids[@]}"; do
  expect_exit 0 fs people show "$id" --json
  photos+=$(py 'print("".join("%s %d\n" % (r["path"], r["photo_id"]) for r in rows))')$'\n'
done
check "photo ids: one per photo, positive" "4 4 True" "$(python3 -c '
import sys
pairs = {tuple(l.rsplit(" ", 1)) for l in sys.stdin.read().splitlines() if l.strip()}
print(len({p for p, _ in pairs}), len({i for _, i in pairs}), all(int(i) > 0 for _, i in pairs))
' <<<"$photos")"

# move: a face of Ann's p3 into a new person, then merge that person back into Ann.
expect_exit 0 fs people show "$a" --json
face_p3=$(py 'print([r["face_id"] for r in rows if r["path"].endswith("/p3.jpg")][0])')
face_twin=$(py 'print([r["face_id"] for r in rows if r["path"].endswith("/twin.jpg")][0])')
expect_exit 0 fs people move "$face_p3" --to new --json
new=$(py 'print(rows[0]["person"])')
expect_exit 0 fs people show "$new" --json
check "moved face pinned in its new person" "$face_p3 True" \
  "$(py 'print(rows[0]["face_id"], rows[0]["pinned"])')"
# move refused into a person that has a face of that photo
expect_exit 2 fs people move "$face_twin" --to "$b"
expect_err_has "already has a face of this photo"
expect_exit 0 fs people merge "$a" "$new" --json
expect_exit 0 fs people show "$a" --json
check "merged back: four faces, all pinned" "4 4" \
  "$(py 'print(len(rows), sum(1 for r in rows if r["pinned"]))')"
expect_exit 2 fs people show "$new"
expect_err_is "facesearch: no person named or numbered '$new'"

# reject: the twin face leaves Ann and never comes back, not even with --rebuild (twin's other
# copy of her, left out so far as the photo already had her, may now take its place).
expect_exit 0 fs people reject "$face_twin" --from "Ann Example" --json
expect_exit 2 fs people reject "$face_twin" --from "Ann Example"
expect_err_is "facesearch: face $face_twin is not in person $a"
for algo in graph linkage; do
  expect_exit 0 fs people update --rebuild --algorithm $algo
  expect_exit 0 fs people show "Ann Example" --json
  check "rebuild ($algo): Ann has 4 faces, not the rejected one, one per photo" "4 False 4" \
    "$(py "print(len(rows), any(r['face_id'] == $face_twin for r in rows), len({r['path'] for r in rows}))")"
done
expect_exit 0 fs people list --json
check "rebuild: no person with two faces of one photo, names kept" "Ann Example" \
  "$(py 'print(",".join(r["name"] for r in rows if r["name"]))')"

# A moved photo: new face rows, same content: its face stays Ann's.
mv "$lib/p1.jpg" "$lib/moved.jpg"
expect_exit 0 fs index "$lib"
expect_err_has "1 moved"
expect_exit 0 fs people update
expect_exit 0 fs people show "Ann Example" --json
check "moved photo: still Ann's" "moved.jpg p2.jpg p3.jpg twin.jpg" \
  "$(py 'print(" ".join(sorted(r["path"].rsplit("/", 1)[1] for r in rows)))')"
# A re-detected photo (removed, then indexed again: new face ids) keeps its decisions too.
expect_exit 0 fs remove "$lib/p3.jpg"
expect_exit 0 fs index "$lib"
expect_exit 0 fs people update --rebuild
expect_exit 0 fs people show "Ann Example" --json
check "re-indexed photo: still Ann's, pinned" "4 3" \
  "$(py 'print(len(rows), sum(1 for r in rows if r["pinned"]))')"

# Another index of the same photos (what a change of model pack makes: an index holds one pack's
# faces) takes the names and decisions over with `people import`; its faces find them by content
# and box overlap.
expect_exit 0 fs --db "$tmp/db2" index "$lib"
expect_exit 0 fs --db "$tmp/db2" people import "$FACESEARCH_DB" --json
check "import: Ann and her decisions" "1 4" "$(py 'print(rows[0]["people"], rows[0]["decisions"])')"
expect_exit 0 fs --db "$tmp/db2" people update
expect_exit 0 fs --db "$tmp/db2" people show "Ann Example" --json
check "imported: Ann's pinned faces are hers in the other index" "4 3" \
  "$(py 'print(len(rows), sum(1 for r in rows if r["pinned"]))')"
expect_exit 2 fs --db "$tmp/db2" people import "$tmp/nowhere"
expect_err_is "facesearch: $tmp/nowhere: no index here"

# forget: Ann is gone, her faces are grouped again by the next update (into an unnamed person).
expect_exit 0 fs people forget "Ann Example" --json
expect_exit 2 fs people show "Ann Example"
expect_exit 0 fs people list
expect_out_has "4 not looked at yet"
expect_exit 0 fs people update
expect_exit 0 fs people list --json
check "forgotten: regrouped without a name" "0" \
  "$(py 'print(sum(1 for r in rows if r["name"]))')"

# --min-quality moves the cut of unsure faces: at 1 only faces of full quality are grouped (more
# unsure than the one at 0.5), at 0 none is unsure.
expect_exit 0 fs people update --rebuild --min-quality 1 --json
check "min quality 1: more faces unsure" "ok" \
  "$(py 'r = rows[0]; print("ok" if r["unsure"] > 1 else r)')"
expect_exit 0 fs people update --rebuild --min-quality 0 --json
check "min quality 0: no face unsure" "0" "$(py 'print(rows[0]["unsure"])')"
expect_exit 2 fs people update --min-quality 1.5
expect_err_has "--min-quality"
expect_exit 0 fs people update --rebuild

# Errors.
expect_exit 2 fs people
expect_err_has "people: which?"
expect_exit 2 fs people dance
expect_err_is "facesearch: people: dance: unknown subcommand (see facesearch people --help)"
expect_exit 2 fs people show
expect_err_has "missing argument"
expect_exit 2 fs people move 999999 --to new
expect_err_is "facesearch: no face 999999"
expect_exit 2 fs people move x --to new
expect_err_has "FACE"
expect_exit 2 fs people move 1
expect_err_is "facesearch: people move: where to? (--to ID|NAME|new)"
expect_exit 2 fs people reject 1
expect_err_is "facesearch: people reject: from whom? (--from ID|NAME)"
expect_exit 2 fs people update --algorithm fastest
expect_err_is "facesearch: people update: --algorithm fastest: use graph or linkage"
expect_exit 2 fs people update --bogus
expect_err_is "facesearch: people update: --bogus: unknown option"
expect_exit 2 fs search --person x -q "$lib/p2.jpg"
expect_err_is "facesearch: search: choose one of -q QUERY and --person NAME"
expect_exit 2 fs --db "$tmp/none" people list
expect_err_has "no index here"
expect_exit 0 fs people --help
expect_out_has "reject FACE --from ID|NAME"

finish
