#!/usr/bin/env bash
# people_shards_edits.sh — the user's edits of a sharded library's people (DIR/people.db: merge
# without MPI; reject under mpirun, which gathers the person's faces from the ranks) against the
# same edits of one index of the same faces, the peer run in the same script, interleaved; and
# what the edits cost the next grouping (`people update --shards` with the edits' pins and
# rejects, against the same update before them). Faces as in people_shards.sh: synthetic
# face-like embeddings from build/bench/serve_index, 5,120 faces of 512 identities then N more,
# photo i in shard i mod S. Each round merges the largest person with the next largest (of one
# index: the next with no photo in common), then rejects a face of the merged person (both tools as whole commands: a process, and for the library's reject an
# mpirun, per edit). Medians of ROUNDS.
# Usage: bench/people_shards_edits.sh [N [S [ROUNDS [BUILD_DIR]]]]   (default 20000, 2, 5)
# Prints:
#   RESULT people_shards_edits n=N shards=S one_merge_ms=.. lib_merge_ms=.. one_reject_ms=..
#          lib_reject_ms=.. lib_update_s=.. lib_update_edited_s=.. update_ratio=.. pins=..
#          rejects=..
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20000}
s=${2:-2}
rounds=${3:-5}
build=${4:-$here/build}
. "$here/bench/mpi_lib.sh"
mpi_bench_ready people_shards_edits "$build"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mpi() { mpirun -q --bind-to core --mca btl self,tcp -np "$s" "$@"; }

people_libraries people_shards_edits "$tmp" "$n" "$s"
"$fs" --db "$tmp/one" people update >/dev/null
mpi "$fs" people update --shards "$tmp/lib" >/dev/null

# ms CMD...: wall milliseconds of CMD (its output dropped; it must succeed)
ms() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
# two_largest LIST_JSON: the ids of the two persons with most faces
two_largest() { python3 -c 'import json,sys; p=[json.loads(l) for l in sys.stdin]; print(p[0]["id"], p[1]["id"])'; }
# mergeable DB: the person of most faces and the next largest with no photo in common (one index
# never holds two faces of a photo in a person)
mergeable() {
  python3 - "$fs" "$1" <<'PY'
import json, subprocess, sys
fs, db = sys.argv[1], sys.argv[2]
def run(*args):
    out = subprocess.run([fs, "--db", db, "people", *args, "--json"], check=True,
                         capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines()]
people = run("list")
photos = lambda pid: {f["path"] for f in run("show", str(pid))}
mine = photos(people[0]["id"])
other = next(p["id"] for p in people[1:] if not photos(p["id"]) & mine)
print(people[0]["id"], other)
PY
}
# last_face SHOW_JSON: the id of the last face a person shows
last_face() { python3 -c 'import json,sys; print([json.loads(l) for l in sys.stdin][-1]["face_id"])'; }

# the library's update before any edit, then the rounds
update_before=$(ms mpi "$fs" people update --shards "$tmp/lib")
one_merge=() lib_merge=() one_reject=() lib_reject=()
for ((r = 0; r < rounds; r++)); do
  read -r a b < <(mergeable "$tmp/one")
  one_merge+=("$(ms "$fs" --db "$tmp/one" people merge "$a" "$b")")
  face=$("$fs" --db "$tmp/one" people show "$a" --json | last_face)
  one_reject+=("$(ms "$fs" --db "$tmp/one" people reject "$face" --from "$a")")
  read -r a b < <("$fs" people list --shards "$tmp/lib" --json | two_largest)
  lib_merge+=("$(ms "$fs" people merge "$a" "$b" --shards "$tmp/lib")")
  face=$(mpi "$fs" people show "$a" --shards "$tmp/lib" --json | last_face)
  lib_reject+=("$(ms mpi "$fs" people reject "$face" --from "$a" --shards "$tmp/lib")")
done
update_after=$(ms mpi "$fs" people update --shards "$tmp/lib")

python3 - "$n" "$s" "$tmp/lib/people.db" "$update_before" "$update_after" "${one_merge[*]}" \
  "${lib_merge[*]}" "${one_reject[*]}" "${lib_reject[*]}" <<'EOF'
import sqlite3, statistics, sys
n, s, db, before, after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
med = [statistics.median(int(x) for x in a.split()) for a in sys.argv[6:10]]
c = sqlite3.connect(db)
pins = c.execute("SELECT count(*) FROM pin").fetchone()[0]
rejects = c.execute("SELECT count(*) FROM reject").fetchone()[0]
print("RESULT people_shards_edits n=%s shards=%s one_merge_ms=%d lib_merge_ms=%d one_reject_ms=%d"
      " lib_reject_ms=%d lib_update_s=%.2f lib_update_edited_s=%.2f update_ratio=%.2f pins=%d"
      " rejects=%d" % (n, s, med[0], med[1], med[2], med[3], before / 1000, after / 1000,
                       after / before, pins, rejects))
EOF
