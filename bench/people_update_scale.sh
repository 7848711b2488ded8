#!/usr/bin/env bash
# people_update_scale.sh — `facesearch people update` through a real index (SQLite, the vector
# file and its graph), as a user meets it (issue 15: 1,000 new faces into a large library in
# under 5 s): an index of N synthetic face-like embeddings (build/bench/serve_index: identities
# of ~10 faces, 4 faces per photo, recorded for the default pack) is grouped once (the first
# `people update`), then M new faces of known identities are added in new photos (serve_index
# with FIRST: rows written, vector file and graph brought up to date, as an index run leaves
# them) and grouped by a second, incremental `people update`. Each update is one process timed by
# /usr/bin/time -v: wall time and peak resident memory of the whole process (opening the index,
# loading the faces' vectors, grouping, writing).
# Usage: bench/people_update_scale.sh [N [M [BUILD_DIR]]]      (default N 200000, M 1000)
#   FS_PEOPLE_DB=DIR: an index of N faces that serve_index made before (and perhaps a first
#   update), used in place of a new one (the build of a large graph takes long); M faces are
#   added to it. Without it the index is made in a temp folder and removed at the end.
# Prints:
#   RESULT people_update n=N step=full seconds=.. peak_rss_mb=.. faces=.. grouped=.. people=..
#   RESULT people_update n=N step=incremental new=M seconds=.. peak_rss_mb=.. faces=..
#          grouped=.. new_people=.. people=..
# (step=full is skipped when FS_PEOPLE_DB's index was grouped already; library_s: the grouping's
# own time, fs_people_summary.seconds, without opening the index and starting the process.)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-200000}
m=${2:-1000}
build=${3:-$here/build}
fs=$build/facesearch
mk=$build/bench/serve_index
[ -x "$fs" ] && [ -x "$mk" ] || { echo "people_update_scale: build first (make build)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "people_update_scale: /usr/bin/time is needed (apt install time)" >&2; exit 2; }
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db=${FS_PEOPLE_DB:-$tmp/db}
root=$tmp/photos # the photos need not exist: grouping never reads them

if [ -z "${FS_PEOPLE_DB:-}" ]; then
  "$mk" "$db" "$root" "$n" >/dev/null
fi

# update STEP: one timed `people update --json`; prints its RESULT fields
update() {
  /usr/bin/time -v "$fs" --db "$db" people update --json >"$tmp/out" 2>"$tmp/time"
  python3 - "$tmp/out" "$tmp/time" <<'EOF'
import json, re, sys
r = json.loads(open(sys.argv[1]).read())
t = open(sys.argv[2]).read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
secs = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
print("seconds=%.2f peak_rss_mb=%.0f faces=%d grouped=%d new_people=%d people=%d library_s=%.2f"
      % (secs, rss, r["faces"], r["grouped"], r["new_people"], r["people"], r["seconds"]))
EOF
}

# the first update, unless FS_PEOPLE_DB's index has had it
if ! "$fs" --db "$db" people list | tail -1 | grep -q " 0 not looked at yet"; then
  echo "RESULT people_update n=$n step=full $(update)"
fi
"$mk" "$db" "$root" $((n + m)) default 10 "$n" >/dev/null
echo "RESULT people_update n=$n step=incremental new=$m $(update)"
