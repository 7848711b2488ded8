#!/usr/bin/env bash
# Sharded libraries on Open MPI (issue 16): `mpirun -np 3 facesearch index --shards DIR` over the
# samples, copies and variants of them gives shards whose search (`search --shards`) prints
# exactly what one index of the same photos prints (paths, similarities, boxes, landmarks,
# scores), every photo in the shard its content hash names; a re-run embeds nothing; moved,
# copied, changed and new photos end as in one index; a rank killed with SIGKILL mid-run leaves
# shards that pass SQLite's integrity check and a re-run completes them; another rank count and
# a missing shard or one of another model pack are clear errors; ranks with nothing of their own
# embed the photos of a rank that has many (work stealing) and the shards still equal one index.
# People across the shards: grouped as one index groups them, named, found by search --person,
# their unsure faces listed, one moved into a person (kept there by later updates and rebuilds,
# and no longer listed);
# moved, merged, rejected and forgotten in the library (a face with its unit), the edits kept by
# an update, also when a shard has grouped the face since.
# Ranks talk over TCP on loopback (no shared memory transport: it needs more of /dev/shm than
# containers give).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"
command -v mpirun >/dev/null || { echo "FAIL: mpirun is needed (scripts/setup.sh: openmpi-bin)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "FAIL: the sqlite3 command is needed (scripts/setup.sh)" >&2; exit 1; }
# CI runs as root; Open MPI refuses root unless told
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# the sanitizer build: Open MPI's own allocations outlive MPI_Finalize (lsan_mpi.supp); Open MPI
# is built without frame pointers, so the leaks' stacks reach its libraries only when unwound
# the slow way
export LSAN_OPTIONS=${LSAN_OPTIONS:-}:suppressions=$e2e_dir/lsan_mpi.supp:fast_unwind_on_malloc=0:print_suppressions=0
unset FACESEARCH_DB
if "$FACESEARCH" search --shards "$tmp/none" -q "$samples/sample1.jpg" 2>&1 | grep -q "needs facesearch built with MPI"; then
  echo "SKIP: facesearch is built without MPI (libopenmpi-dev)"
  exit 77
fi
mpi() { mpirun -q --oversubscribe --mca btl self,tcp -np "$@"; }
summary() { sed -E 's/ in [0-9.]+s$//' <<<"$err"; }
# shard_rule DIR COUNT: "ok" when every photo of every shard is in the shard of its content
shard_rule() {
  local k bad=0
  for ((k = 0; k < $2; k++)); do
    while read -r sha; do
      [[ -z $sha ]] && continue
      (( $(python3 -c "print(int('$sha'[:16], 16) % $2)") == k )) || bad=$((bad + 1))
    done < <(sqlite3 "$1/shard-$(printf %03d $k)/index.db" "SELECT sha256 FROM files WHERE sha256 != ''")
  done
  echo "$([[ $bad == 0 ]] && echo ok || echo "$bad photos in another shard than their content's")"
}
# same_search WHAT ARGS...: search --shards $shards and --db $ref print the same
same_search() {
  local what=$1; shift
  expect_exit 0 "$FACESEARCH" --db "$ref" search "$@"
  local want=$out
  expect_exit 0 mpi 3 "$FACESEARCH" search --shards "$shards" "$@"
  check "$what: same output as one index" "$want" "$out"
}

lib=$tmp/photos
shards_library "$lib"
ref=$tmp/ref
shards=$tmp/shards

# ---- a sharded index equals one index ----------------------------------------------------
expect_exit 0 "$FACESEARCH" --db "$ref" index "$lib"
want=$(summary)
expect_exit 0 mpi 3 "$FACESEARCH" index --shards "$shards" "$lib"
check "index --shards: summary as one index's" "$want" "$(summary)"
check "manifest" "facesearch-shards 1
pack default
pipeline 4
count 3
assign sha256-prefix-mod" "$(cat "$shards/manifest")"
check "every photo in its content's shard" "ok" "$(shard_rule "$shards" 3)"
files=0 faces=0
for k in 000 001 002; do # each shard is an ordinary index
  expect_exit 0 "$FACESEARCH" --db "$shards/shard-$k" stats --json
  files=$((files + $(python3 -c 'import json,sys; print(json.load(sys.stdin)["files"])' <<<"$out")))
  faces=$((faces + $(python3 -c 'import json,sys; print(json.load(sys.stdin)["faces"])' <<<"$out")))
done
expect_exit 0 "$FACESEARCH" --db "$ref" stats --json
check "shards hold the photos and faces of one index" \
  "$(python3 -c 'import json,sys; s = json.load(sys.stdin); print(s["files"], s["faces"])' <<<"$out")" \
  "$files $faces"
same_search "every face of sample1's person" -q "$samples/sample1.jpg" --json --threshold -1 --top 0
same_search "sample4, top 5" -q "$samples/sample4.jpg" --top 5 --json
same_search "all faces of sample2, table" -q "$samples/sample2.jpg" --face all --top 7
same_search "min-size, csv" -q "$samples/sample6.jpg" --min-size 60 --csv --threshold 0.1
same_search "several queries, mean" -q "$samples/sample1.jpg" -q "$lib/b/copy1.jpg" --match mean --json
# more query faces than a search's first broadcast holds (4): the rest go in a second
same_search "five query photos" -q "$samples/sample1.jpg" -q "$samples/sample2.jpg" \
  -q "$samples/sample3.jpg" -q "$samples/sample4.jpg" -q "$samples/sample5.jpg" --json --top 0

# ---- people across shards --------------------------------------------------------------------
# each shard groups its own faces and the library joins them (people update --shards): the same
# persons, as sets of faces, as one index's people update; search --shards --person prints what
# one index's search --person does (but for the ids, which are the library's, and the pins: naming
# a person of one index pins its faces, naming one of the library does not change the shards)
expect_exit 2 "$FACESEARCH" people list --shards "$shards"
expect_err_is "facesearch: $shards: no people yet (group them: mpirun -np N facesearch people update --shards $shards)"
expect_exit 0 "$FACESEARCH" --db "$ref" people update --json
want=$out
expect_exit 0 mpi 3 "$FACESEARCH" people update --shards "$shards" --json
fields() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["faces"], d["unsure"], d["people"])'; }
check "people update --shards: faces, unsure and people as one index's" "$(fields <<<"$want")" "$(fields <<<"$out")"
# persons as sets of faces (photo and face number), sorted
person_sets() { python3 -c '
import json, sys
sets = {}
for line in sys.stdin:
    d = json.loads(line)
    sets.setdefault(d["person"], []).append("%s#%d" % (d["path"], d["face"]))
print("\n".join(sorted(" ".join(sorted(v)) for v in sets.values())))'; }
ref_all=$(for id in $("$FACESEARCH" --db "$ref" people list --json | python3 -c 'import json,sys; [print(json.loads(l)["id"]) for l in sys.stdin]'); do
  "$FACESEARCH" --db "$ref" people show "$id" --json; done)
ref_sets=$(person_sets <<<"$ref_all")
expect_exit 0 "$FACESEARCH" people list --shards "$shards" --json
ids=$(python3 -c 'import json,sys; [print(json.loads(l)["id"]) for l in sys.stdin]' <<<"$out")
check "people list --shards: as many as one index's" "$(grep -c . <<<"$ref_sets")" "$(grep -c . <<<"$ids")"
lib_sets=$(for id in $ids; do mpi 3 "$FACESEARCH" people show "$id" --shards "$shards" --json; done | person_sets)
check "people show --shards: every person's faces as one index's" "$ref_sets" "$lib_sets"
# named, then found by name across the shards, as one index finds the same person
top=$(head -1 <<<"$ids")
expect_exit 0 "$FACESEARCH" people name "$top" Ann --shards "$shards"
expect_exit 0 mpi 3 "$FACESEARCH" people show Ann --shards "$shards" --json
ref_person=$(python3 -c '
import json, sys
lib = json.loads(sys.argv[1].splitlines()[0])
for line in sys.stdin:
    d = json.loads(line)
    if (d["path"], d["face"]) == (lib["path"], lib["face"]):
        print(d["person"])' "$out" <<<"$ref_all")
expect_exit 0 "$FACESEARCH" --db "$ref" people name "$ref_person" Ann
no_ids() { python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    for k in ("person", "face_id", "photo_id", "pinned"): d.pop(k)
    print(json.dumps(d, sort_keys=True))'; }
expect_exit 0 "$FACESEARCH" --db "$ref" search --person Ann --json
want=$(no_ids <<<"$out")
expect_exit 0 mpi 3 "$FACESEARCH" search --shards "$shards" --person Ann --json
check "search --shards --person: as one index's" "$want" "$(no_ids <<<"$out")"
expect_exit 0 mpi 2 "$FACESEARCH" search --shards "$shards" --person "$top" --json
check "search --shards --person, by number, 2 ranks over 3 shards" "$want" "$(no_ids <<<"$out")"
# a later update (any number of ranks) keeps the ids and names
expect_exit 0 "$FACESEARCH" people list --shards "$shards"
want=$out
expect_exit 0 mpi 2 "$FACESEARCH" people update --shards "$shards" --json
check "people update --shards again: no new person" "0" \
  "$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["new_people"])' <<<"$out")"
expect_exit 0 "$FACESEARCH" people list --shards "$shards"
check "people update --shards again: the same people, ids and names" "$want" "$out"
# edits of the library's people (DIR/people.db alone): a face of Ann moved to a new person takes
# its unit along (the faces its shard grouped with it), merged back it is Ann's again; rejected
# it leaves Ann, and a later update keeps it out
cp "$shards/people.db" "$tmp/people.db.before-edits"
face_ids() { python3 -c 'import json,sys; [print(json.loads(l)["face_id"]) for l in sys.stdin]'; }
expect_exit 0 mpi 3 "$FACESEARCH" people show Ann --shards "$shards" --json
ann=$(face_ids <<<"$out")
face=$(tail -1 <<<"$ann")
expect_exit 2 "$FACESEARCH" people move "$face" --to new --shards "$shards"
expect_err_is "facesearch: face $face is not an unsure face: give --from, the person it is in"
expect_exit 2 "$FACESEARCH" people move "$face" --from Ann --shards "$shards"
expect_err_is "facesearch: people move: where to? (--to ID|NAME|new)"
expect_exit 2 "$FACESEARCH" people reject "$face" --shards "$shards"
expect_err_is "facesearch: people reject: from whom? (--from ID|NAME)"
expect_exit 2 "$FACESEARCH" people reject "$face" --from Ann extra --shards "$shards"
expect_err_is "facesearch: people reject: too many arguments (usage: facesearch people reject FACE --from ID|NAME --shards DIR)"
expect_exit 0 mpi 3 "$FACESEARCH" people move "$face" --to new --from Ann --shards "$shards" --json
new=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["person"])' <<<"$out")
expect_exit 0 mpi 3 "$FACESEARCH" people show "$new" --shards "$shards" --json
moved=$(face_ids <<<"$out")
check "people move --shards: the new person holds the face" "$face" "$(grep -x "$face" <<<"$moved")"
expect_exit 0 mpi 3 "$FACESEARCH" people show Ann --shards "$shards" --json
check "people move --shards: Ann keeps the rest" "$(grep -vxF -f <(echo "$moved") <<<"$ann" | sort)" \
  "$(face_ids <<<"$out" | sort)"
expect_exit 0 "$FACESEARCH" people merge Ann "$new" --shards "$shards"
expect_exit 0 mpi 3 "$FACESEARCH" people show Ann --shards "$shards" --json
check "people merge --shards: every face back" "$(sort <<<"$ann")" "$(face_ids <<<"$out" | sort)"
expect_exit 2 "$FACESEARCH" people merge Ann Ann --shards "$shards"
expect_err_has "cannot be merged into itself"
expect_exit 0 mpi 3 "$FACESEARCH" people reject "$face" --from Ann --shards "$shards"
expect_exit 0 mpi 2 "$FACESEARCH" people update --shards "$shards"
expect_exit 0 mpi 3 "$FACESEARCH" people show Ann --shards "$shards" --json
check "people reject --shards, then an update: the face and its unit stay out" \
  "$(grep -vxF -f <(echo "$moved") <<<"$ann" | sort)" "$(face_ids <<<"$out" | sort)"
expect_exit 2 mpi 3 "$FACESEARCH" people reject "$face" --from Ann --shards "$shards"
expect_err_has "facesearch: face $face is not one of this person's"
expect_exit 0 "$FACESEARCH" people forget Ann --shards "$shards"
expect_exit 2 mpi 3 "$FACESEARCH" people show Ann --shards "$shards"
expect_err_has "facesearch: no person named or numbered 'Ann'"
mv "$tmp/people.db.before-edits" "$shards/people.db"
# the user's edits follow the units their shards change (on a copy of the library): a face alone
# in its shard, moved into another person, stays there, with that person's own faces, after its
# shard grouped it (here the user makes it a person of the shard; the shard's own update does
# the same when a photo of the same person comes)
follow=$tmp/follow
cp -r "$shards" "$follow"
IFS='|' read -r k f p <<<"$(sqlite3 "$follow/people.db" "SELECT shard, face_id, person FROM member WHERE person_id = 0 ORDER BY shard DESC, face_id LIMIT 1")"
to=$(sqlite3 "$follow/people.db" "SELECT id FROM person WHERE id != ${p:-0} ORDER BY faces DESC, id LIMIT 1")
check "a library person with a face alone in its shard, and another person" "yes" \
  "$([[ -n $f && -n $to ]] && echo yes)"
lface=$((f * 3 + k))
expect_exit 0 mpi 3 "$FACESEARCH" people show "$to" --shards "$follow" --json
want_faces=$( (face_ids <<<"$out"; echo "$lface") | sort)
expect_exit 0 mpi 3 "$FACESEARCH" people move "$lface" --to "$to" --from "$p" --shards "$follow"
expect_exit 0 "$FACESEARCH" --db "$follow/shard-00$k" people move "$f" --to new
expect_exit 0 mpi 3 "$FACESEARCH" people update --shards "$follow"
expect_exit 0 mpi 3 "$FACESEARCH" people show "$to" --shards "$follow" --json
check "a face moved into a person, then grouped by its shard: still there, with the person's own" \
  "$want_faces" "$(face_ids <<<"$out" | sort)"
check "its pin names the shard's person now" "1" \
  "$(sqlite3 "$follow/people.db" "SELECT count(*) FROM pin WHERE shard = $k AND person_id > 0 AND person = $to AND person_id = (SELECT person_id FROM member WHERE shard = $k AND person = $to AND person_id > 0 AND lead = $lface)")"
# errors
expect_exit 2 mpi 3 "$FACESEARCH" search --shards "$shards" --person Nobody
expect_err_has "facesearch: no person named or numbered 'Nobody'"
expect_exit 2 "$FACESEARCH" people import "$ref" --shards "$shards"
expect_err_is "facesearch: people import: not with --shards (it works on one shard's people: open the shard with --db $shards/shard-NNN)"
# the unsure faces of every shard, as one index's (ids aside), best quality first
expect_exit 0 "$FACESEARCH" --db "$ref" people unsure --json
want_unsure=$(no_ids <<<"$out")
check "one index: unsure faces to compare with" "yes" "$([[ -n $want_unsure ]] && echo yes)"
expect_exit 0 mpi 3 "$FACESEARCH" people unsure --shards "$shards" --json
check "people unsure --shards: one index's" "$want_unsure" "$(no_ids <<<"$out")"
# (a face and its photo are in one shard: their library ids name it)
check "people unsure --shards: library ids" "ok" "$(python3 -c '
import json, sys
bad = [l for l in sys.stdin if (lambda d: d["face_id"] % 3 != d["photo_id"] % 3)(json.loads(l))]
print("ok" if not bad else "".join(bad))' <<<"$out")"
expect_exit 0 mpi 2 "$FACESEARCH" people unsure --shards "$shards"
check "people unsure --shards, 2 ranks: the count" "$(grep -c . <<<"$want_unsure") unsure face$([[ $(grep -c . <<<"$want_unsure") == 1 ]] || echo s)" "$(tail -1 <<<"$out")"
# an unsure face moved into a person (no --from: it is in none) is a unit of its own there,
# leaves the unsure list, and stays in the person at the next update (its shard keeps it)
placed=$tmp/placed
cp -r "$shards" "$placed"
expect_exit 0 mpi 3 "$FACESEARCH" people unsure --shards "$placed" --json
unsure_before=$(face_ids <<<"$out")
uface=$(head -1 <<<"$unsure_before")
to=$(sqlite3 "$placed/people.db" "SELECT id FROM person ORDER BY faces DESC, id LIMIT 1")
expect_exit 0 mpi 3 "$FACESEARCH" people show "$to" --shards "$placed" --json
want_faces=$( (face_ids <<<"$out"; echo "$uface") | sort)
expect_exit 0 mpi 3 "$FACESEARCH" people move "$uface" --to "$to" --shards "$placed" --json
check "people move of an unsure face: into the person" "$to" \
  "$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["person"])' <<<"$out")"
expect_exit 0 mpi 3 "$FACESEARCH" people show "$to" --shards "$placed" --json
check "the person shows the unsure face at once" "$want_faces" "$(face_ids <<<"$out" | sort)"
expect_exit 0 mpi 3 "$FACESEARCH" people unsure --shards "$placed" --json
check "the placed face is no longer unsure" "$(grep -vx "$uface" <<<"$unsure_before")" \
  "$(face_ids <<<"$out")"
unsure_count() { sed -n 's/^[0-9]* people in the library; \([0-9]*\) unsure face.*/\1/p' <<<"$out"; }
expect_exit 0 "$FACESEARCH" people list --shards "$placed"
check "the library counts it no longer unsure" "$(( $(grep -c . <<<"$unsure_before") - 1 ))" \
  "$(unsure_count)"
expect_exit 0 mpi 3 "$FACESEARCH" people update --shards "$placed"
expect_exit 0 "$FACESEARCH" people list --shards "$placed"
check "nor does the update" "$(( $(grep -c . <<<"$unsure_before") - 1 ))" "$(unsure_count)"
expect_exit 0 mpi 3 "$FACESEARCH" people show "$to" --shards "$placed" --json
check "an update keeps the placed face in its person" "$want_faces" "$(face_ids <<<"$out" | sort)"
expect_exit 0 mpi 3 "$FACESEARCH" people update --shards "$placed" --rebuild
expect_exit 0 mpi 3 "$FACESEARCH" people show "$to" --shards "$placed" --json
check "and so does a rebuild" "$want_faces" "$(face_ids <<<"$out" | sort)"
expect_exit 2 mpi 3 "$FACESEARCH" people move "$uface" --to new --shards "$placed"
expect_err_is "facesearch: face $uface is not an unsure face: give --from, the person it is in"
expect_exit 2 mpi 3 "$FACESEARCH" people move "$(sed -n 2p <<<"$unsure_before")" --to Nobody \
  --shards "$placed"
expect_err_is "facesearch: no person named or numbered 'Nobody'"
# an unsure face is refused by a person that has a face of its photo
expect_exit 0 mpi 3 "$FACESEARCH" people unsure --shards "$placed" --json
read -r uface uphoto <<<"$(python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); print(d["face_id"], d["photo_id"])' <<<"$out")"
clash=""
for id in $(sqlite3 "$placed/people.db" "SELECT id FROM person ORDER BY id"); do
  expect_exit 0 mpi 3 "$FACESEARCH" people show "$id" --shards "$placed" --json
  python3 -c 'import json,sys; sys.exit(0 if any(json.loads(l)["photo_id"] == '"$uphoto"' for l in sys.stdin) else 1)' <<<"$out" &&
    { clash=$id; break; }
done
check "a person with a face of an unsure face's photo" "yes" "$([[ -n $clash ]] && echo yes)"
expect_exit 2 mpi 3 "$FACESEARCH" people move "$uface" --to "$clash" --shards "$placed"
expect_err_is "facesearch: person $clash already has a face of this photo: two faces of one photo are never one person"
cp "$shards/people.db" "$tmp/people.db.saved"
printf 'garbage%.0s' {1..200} >"$shards/people.db"
expect_exit 2 "$FACESEARCH" people list --shards "$shards"
expect_err_is "facesearch: $shards/people.db: file is not a database"
expect_exit 2 mpi 3 "$FACESEARCH" search --shards "$shards" --person Ann
expect_err_has "facesearch: $shards/people.db: file is not a database"
mv "$tmp/people.db.saved" "$shards/people.db"

# ---- re-runs ------------------------------------------------------------------------------
expect_exit 0 mpi 3 "$FACESEARCH" index --shards "$shards" "$lib"
check "re-run: nothing embedded" "10 photos: 0 new, 0 changed, 10 unchanged, 0 moved, 0 removed, 0 failed; 0 faces" \
  "$(summary)"
mv "$lib/b/small3.jpg" "$lib/a/moved3.jpg"            # moved: same shard, not embedded
cp "$lib/b/flip4.jpg" "$lib/a/copy-flip4.jpg"          # a new copy
cp "$samples/sample5.jpg" "$lib/b/flip4.jpg"           # changed: its content (and shard) is sample5's
small_copy 6 800 "$lib/b/new6.jpg"                     # new
for dir in "$ref" ; do expect_exit 0 "$FACESEARCH" --db "$dir" index "$lib"; done
want=$(summary)
expect_exit 0 mpi 3 "$FACESEARCH" index --shards "$shards" "$lib"
got=$(summary)
# one index counts the changed photo as changed, shards as removed from its old shard and added
# to the new one; and the faces embedded depend on the order one index's workers finish in (the
# copy of flip4 is copied, or embedded when flip4's entry took sample5's content first): the
# photos count, and the searches below
check "changes: photos" "$(sed -E 's/^([0-9]+) photos: .*/\1/' <<<"$want")" \
  "$(sed -E 's/^([0-9]+) photos: .*/\1/' <<<"$got")"
check "changes: every photo in its content's shard" "ok" "$(shard_rule "$shards" 3)"
same_search "after changes" -q "$samples/sample5.jpg" --json --threshold -1 --top 0
same_search "after changes, sample4" -q "$samples/sample4.jpg" --json --threshold -1 --top 0

# ---- errors ---------------------------------------------------------------------------------
expect_exit 2 mpi 2 "$FACESEARCH" index --shards "$shards" "$lib"
expect_err_has "facesearch: $shards: the library has 3 shards, not 2 (run with -np 3)"
cp -r "$shards" "$tmp/broken"
rm -rf "$tmp/broken/shard-001"
expect_exit 2 mpi 3 "$FACESEARCH" search --shards "$tmp/broken" -q "$samples/sample1.jpg"
expect_err_has "facesearch: $tmp/broken/shard-001: shard 1 of 3 is missing (No such file or directory)"
# a shard of another model pack in its place (an index copied in by hand): refused, named
rm -rf "$tmp/broken/shard-001"
mkdir "$tmp/empty"
expect_exit 0 "$FACESEARCH" --quiet --models dlib --db "$tmp/broken/shard-001" index "$tmp/empty"
expect_exit 2 mpi 3 "$FACESEARCH" search --shards "$tmp/broken" -q "$samples/sample1.jpg"
expect_err_has "facesearch: $tmp/broken/shard-001: faces of model pack dlib, but the library's are default"
expect_exit 2 mpi 3 "$FACESEARCH" people update --shards "$tmp/broken"
expect_err_has "facesearch: $tmp/broken/shard-001: built with model pack 'dlib'; use --models dlib or another --db"
expect_exit 2 mpi 2 "$FACESEARCH" search --shards "$tmp/photos" -q "$samples/sample1.jpg"
expect_err_has "facesearch: $tmp/photos: not a sharded library (no $tmp/photos/manifest)"
expect_exit 2 "$FACESEARCH" search --shards "$shards" -q "$samples/sample1.jpg" -t "$lib"
expect_err_is "facesearch: search: --shards searches a whole sharded library: not with -t nor --no-index (index it with index --shards)"
expect_exit 2 "$FACESEARCH" search --shards "$shards" -q "$samples/sample1.jpg" --no-index
expect_err_is "facesearch: search: --shards searches a whole sharded library: not with -t nor --no-index (index it with index --shards)"
# fewer ranks than shards search them all (rank r: shards r, r + 2, ...)
expect_exit 0 "$FACESEARCH" --db "$ref" search -q "$samples/sample1.jpg" --json --threshold -1 --top 0
want=$out
expect_exit 0 mpi 2 "$FACESEARCH" search --shards "$shards" -q "$samples/sample1.jpg" --json --threshold -1 --top 0
check "2 ranks over 3 shards" "$want" "$out"
expect_exit 0 mpi 1 "$FACESEARCH" search --shards "$shards" -q "$samples/sample1.jpg" --json --threshold -1 --top 0
check "1 rank over 3 shards" "$want" "$out"

# ---- results larger than one message -------------------------------------------------------
# a rank sends its results to rank 0 in pieces of 64 KiB: copies of the samples under paths of
# ~3,000 bytes make shard 1's matches for every face several pieces
long=$tmp/long
deep=$long
for ((i = 0; i < 11; i++)); do deep=$deep/$(printf 'deep%.0s' {1..60})$i; done
for c in a b c d e f; do
  mkdir -p "$deep/$c"
  for k in 1 2 3 4 5 6; do cp "$samples/sample$k.jpg" "$deep/$c/photo$k.jpg"; done
done
expect_exit 0 "$FACESEARCH" --db "$tmp/longref" index "$long"
expect_exit 0 mpi 2 "$FACESEARCH" index --shards "$tmp/longshards" "$long"
# shard 1's results as the wire counts them: a 32-byte head, then 88 bytes and the path with its
# NUL a face
expect_exit 0 "$FACESEARCH" --db "$tmp/longshards/shard-001" search -q "$samples/sample1.jpg" \
  --json --threshold -1 --top 0
check "long paths: shard 1's results take several pieces" "yes" "$(python3 -c 'import json,sys
n = 32 + sum(88 + len(json.loads(l)["path"].encode()) + 1 for l in sys.stdin if l.strip())
print("yes" if n > 2 * 65536 else "no: %d bytes" % n)' <<<"$out")"
expect_exit 0 "$FACESEARCH" --db "$tmp/longref" search -q "$samples/sample1.jpg" --json --threshold -1 --top 0
want=$out
expect_exit 0 mpi 2 "$FACESEARCH" search --shards "$tmp/longshards" -q "$samples/sample1.jpg" \
  --json --threshold -1 --top 0
check "long paths: every face, same output as one index" "$want" "$out"
expect_exit 0 "$FACESEARCH" --db "$tmp/longref" search -q "$samples/sample2.jpg" --top 3 --json
want=$out
expect_exit 0 mpi 2 "$FACESEARCH" search --shards "$tmp/longshards" -q "$samples/sample2.jpg" --top 3 --json
check "long paths: a search after it, top 3: same output as one index" "$want" "$out"

# ---- a rank killed mid-run ----------------------------------------------------------------
# 12 photos, and 9 JPEGs that take a second each to decode (slow_jpeg.py; 2, 2 and 5 of them in
# the three shards): ranks of one inference thread each commit a first batch after 2 s and still
# have slow photos to do when a rank is killed
big=$tmp/big
mkdir "$big"
for i in 1 2 3 4 5 6; do for w in 640 720; do small_copy "$i" "$w" "$big/s$i-$w.jpg"; done; done
for n in 1 2 3 4 5 6 7 8 9; do
  python3 "$e2e_dir/slow_jpeg.py" "$big/z-slow$n.jpg" $((1400 + 8 * n)) 1400 7000
done
expect_exit 0 "$FACESEARCH" --db "$tmp/bigref" index "$big"
killed=$tmp/killed
# (mpirun itself in the background, not the function mpi: its children are the ranks)
mpirun -q --oversubscribe --mca btl self,tcp -np 3 "$FACESEARCH" --threads 1 index \
  --shards "$killed" "$big" >/dev/null 2>&1 &
mpirun_pid=$!
victim=""
for ((w = 0; w < 600; w++)); do # up to 60 s: until a shard has committed photos
  done_files=0
  for k in 000 001 002; do
    n=$(sqlite3 "$killed/shard-$k/index.db" "SELECT count(*) FROM files" 2>/dev/null)
    done_files=$((done_files + ${n:-0}))
  done
  if ((done_files > 0)); then
    victim=$(ps -o pid= --ppid "$mpirun_pid" | sed -n 2p | tr -d ' ')
    break
  fi
  sleep 0.1
done
check "a rank to kill mid-run" "yes" "$([[ -n $victim ]] && echo yes || echo no)"
[[ -n $victim ]] && kill -KILL "$victim"
wait "$mpirun_pid"
check "mpirun fails when a rank is killed" "yes" "$([[ $? != 0 ]] && echo yes || echo no)"
for k in 000 001 002; do
  check "shard $k after the kill: integrity" "ok" \
    "$(sqlite3 "$killed/shard-$k/index.db" 'PRAGMA integrity_check' 2>&1)"
done
expect_exit 0 mpi 3 "$FACESEARCH" index --shards "$killed" "$big"
check "re-run after the kill keeps what was done and completes the rest" "yes" \
  "$(grep -qE '^21 photos: [1-9][0-9]* new, 0 changed, [1-9][0-9]* unchanged, 0 moved, 0 removed, 0 failed; [0-9]+ faces? in' <<<"$err" && echo yes || echo "no: $err")"
expect_exit 0 "$FACESEARCH" --db "$tmp/bigref" search -q "$samples/sample3.jpg" --json --threshold -1 --top 0
want=$out
expect_exit 0 mpi 3 "$FACESEARCH" search --shards "$killed" -q "$samples/sample3.jpg" --json --threshold -1 --top 0
check "after the kill and the re-run: as one index" "$want" "$out"
check "after the kill: every photo in its content's shard" "ok" "$(shard_rule "$killed" 3)"

# ---- work stealing ----------------------------------------------------------------------------
# Every photo of this library belongs to shard 0 (variants of the samples kept only when their
# content names shard 0 of 3): ranks 1 and 2 have nothing of their own, so they take photos that
# rank 0 has not started, embed them and send the faces back; rank 0 writes them. The shards
# must then hold exactly what one index holds, every photo in shard 0 (a twin of a stolen photo
# copied, not embedded twice; an unreadable photo recorded as failed; a photo without faces,
# named to be the first taken).
stolen=$tmp/stolen
mkdir -p "$stolen"
shard_of() { python3 -c "print(int('$(sha256sum "$1" | cut -c1-16)', 16) % 3)"; }
n_kept=0
for i in 1 2 3 4 5 6; do
  for w in 640 720 800 880 960 1040 1120 1200; do
    small_copy "$i" "$w" "$tmp/variant.jpg"
    if [[ $(shard_of "$tmp/variant.jpg") == 0 ]]; then
      mv "$tmp/variant.jpg" "$stolen/s$i-$w.jpg"
      n_kept=$((n_kept + 1))
    fi
  done
done
first=$(ls "$stolen" | head -1)
cp "$stolen/$first" "$stolen/twin.jpg"
for ((w = 320; ; w += 8)); do # a photo without faces, last in the queue: the first stolen
  vips black "$tmp/variant.jpg" "$w" 240
  [[ $(shard_of "$tmp/variant.jpg") == 0 ]] && { mv "$tmp/variant.jpg" "$stolen/zz-no-faces.jpg"; break; }
done
for ((k = 0; ; k++)); do # a photo that is not one, of shard 0
  printf 'not a photo %d\n' "$k" >"$stolen/broken.jpg"
  [[ $(shard_of "$stolen/broken.jpg") == 0 ]] && break
done
check "stealing library: enough photos of shard 0" "yes" "$( ((n_kept >= 8)) && echo yes || echo "no: $n_kept")"
expect_exit 2 "$FACESEARCH" --db "$tmp/stolenref" index "$stolen"
want=$(summary)
expect_exit 2 mpi 3 "$FACESEARCH" --verbose index --shards "$tmp/stolenlib" "$stolen"
check "stealing: summary as one index's" "$want" "$(summary | sed '/work stealing/d')"
shared=$(sed -nE 's/^([0-9]+) of the photos embedded by a rank other than .*/\1/p' <<<"$err")
check "stealing: ranks 1 and 2 embedded some of shard 0's photos" "yes" \
  "$( ((${shared:-0} > 0)) && echo yes || echo "no: $err")"
for k in 001 002; do
  check "stealing: shard $k holds nothing" "0" \
    "$(sqlite3 "$tmp/stolenlib/shard-$k/index.db" "SELECT count(*) FROM files")"
done
check "stealing: every photo in its content's shard" "ok" "$(shard_rule "$tmp/stolenlib" 3)"
for q in 1 4; do
  expect_exit 0 "$FACESEARCH" --db "$tmp/stolenref" search -q "$samples/sample$q.jpg" --json --threshold -1 --top 0
  want=$out
  expect_exit 0 mpi 3 "$FACESEARCH" search --shards "$tmp/stolenlib" -q "$samples/sample$q.jpg" --json --threshold -1 --top 0
  check "stealing: search of sample $q as one index's (faces, similarities, boxes)" "$want" "$out"
done
check "stealing: the failure recorded, with its reason" "1" \
  "$(sqlite3 "$tmp/stolenlib/shard-000/index.db" "SELECT count(*) FROM files WHERE CAST(path AS TEXT) LIKE '%/broken.jpg' AND error LIKE '%not an image%'")"

finish
