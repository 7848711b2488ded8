#!/usr/bin/env bash
# people_shards.sh — people grouped across a sharded library (`mpirun -np S facesearch people
# update --shards`: each shard groups its faces, rank 0 joins the shards' persons and lone faces)
# against one index of the same faces (`people update`), the peer run in the same script: wall
# time and the grouping's pairwise precision and recall against the true identities. Faces are
# synthetic face-like embeddings from build/bench/serve_index, so the labels are known: 5,120
# faces of 512 identities (10 each, 4 faces per photo), then N more in photos of 4 different
# identities, drawn in turn from those 512 (face f >= 5120: identity (f - 5120) mod 512); photo i
# is in shard i mod S. ROUNDS rounds of both, interleaved, each a full regrouping (--rebuild);
# the medians are printed.
# Usage: bench/people_shards.sh [N [S [ROUNDS [BUILD_DIR]]]]     (default 100000 faces, 2 shards,
#        3 rounds)
# Prints:
#   RESULT people_shards n=N shards=S one_s=.. shards_s=.. time_ratio=.. one_people=..
#          shards_people=.. one_precision=.. one_recall=.. shards_precision=.. shards_recall=..
#          one_rss_mb=.. shards_rss_mb=.. (peak RSS: of the one process; of the largest rank)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100000}
s=${2:-2}
rounds=${3:-3}
build=${4:-$here/build}
. "$here/bench/mpi_lib.sh"
mpi_bench_ready people_shards "$build"
[ -x /usr/bin/time ] || { echo "people_shards: /usr/bin/time is needed (apt install time)" >&2; exit 2; }
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

people_libraries people_shards "$tmp" "$n" "$s"

# secs CMD...: "WALL_SECONDS,PEAK_RSS_KB" of CMD (its output dropped; the peak of its largest
# process: under mpirun, of the largest rank)
secs() {
  /usr/bin/time -f "%e,%M" -o "$tmp/time" "$@" >/dev/null
  cat "$tmp/time"
}
one=() lib=()
for ((r = 0; r < rounds; r++)); do
  one+=("$(secs "$fs" --db "$tmp/one" people update --rebuild)")
  lib+=("$(secs mpirun -q --bind-to core --mca btl self,tcp -np "$s" "$fs" people update --rebuild \
    --shards "$tmp/lib")")
done

python3 - "$tmp/one" "$tmp/lib" "$s" "$n" "${one[*]}" "${lib[*]}" <<'EOF'
import re, sqlite3, statistics, sys
from collections import Counter

one_dir, lib_dir, shards, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
one_s = statistics.median(float(x.split(",")[0]) for x in sys.argv[5].split())
lib_s = statistics.median(float(x.split(",")[0]) for x in sys.argv[6].split())
one_mb = statistics.median(int(x.split(",")[1]) for x in sys.argv[5].split()) / 1024
lib_mb = statistics.median(int(x.split(",")[1]) for x in sys.argv[6].split()) / 1024

def faces(db):
    """(generator face number, person id or 0) of every face of an index."""
    c = sqlite3.connect(db)
    rows = c.execute("SELECT faces.id, files.path, faces.face_index, coalesce(fp.person_id, 0)"
                     " FROM faces JOIN files ON files.id = faces.file_id"
                     " LEFT JOIN face_people fp ON fp.face_id = faces.id")
    for fid, path, index, person in rows:
        path = path.decode() if isinstance(path, bytes) else path
        photo = int(re.search(r"p(\d+)\.jpg$", path).group(1))
        yield fid, photo * 4 + index, person

def pairs(groups):
    return sum(k * (k - 1) // 2 for k in groups.values())

def identity(f):
    return f // 10 if f < 5120 else (f - 5120) % 512

def score(assignment):
    """pairwise precision and recall of {face: group} (None: alone) against the identities."""
    by_group = Counter(g for g in assignment.values() if g is not None)
    both = Counter((g, identity(f)) for f, g in assignment.items() if g is not None)
    truth = Counter(identity(f) for f in assignment)
    tp = pairs(both)
    return tp / max(pairs(by_group), 1), tp / max(pairs(truth), 1), len(by_group)

one = {f: (p or None) for _, f, p in faces(one_dir + "/index.db")}
members = {}
for shard, pid, fid, person in sqlite3.connect(lib_dir + "/people.db").execute(
        "SELECT shard, person_id, face_id, person FROM member"):
    members[(shard, pid, fid)] = person
lib = {}
for k in range(shards):
    for fid, f, p in faces("%s/shard-%03d/index.db" % (lib_dir, k)):
        lib[f] = members.get((k, p, 0) if p else (k, 0, fid))
op, orc, on = score(one)
sp, sr, sn = score(lib)
print("RESULT people_shards n=%d shards=%d one_s=%.2f shards_s=%.2f time_ratio=%.2f one_people=%d"
      " shards_people=%d one_precision=%.4f one_recall=%.4f shards_precision=%.4f"
      " shards_recall=%.4f one_rss_mb=%.0f shards_rss_mb=%.0f"
      % (n, shards, one_s, lib_s, lib_s / one_s, on, sn, op, orc, sp, sr, one_mb, lib_mb))
EOF
