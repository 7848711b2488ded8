#!/usr/bin/env bash
# Sharded libraries across a real network stack (issue 16): three ranks, each in its own network
# namespace, joined by veth pairs to a data bridge (MPI over TCP, on that subnet only) and to a
# control bridge (Open MPI's runtime: mpirun in a namespace of its own and one daemon per rank
# namespace, as on a cluster; tests/cli/netns_lib.sh says how Open MPI 4.1 is launched there).
# `index --shards` built that way prints the summary of one index and its shards hold the photos
# and faces of one index; `search --shards` prints exactly what one index prints (paths,
# similarities, boxes, landmarks, scores). That the traffic crossed the veth links is proven by
# the byte counters of the data links, which nothing but the ranks' MPI traffic uses: the links
# of ranks 1 and 2 received at least the list of photos that rank 0 broadcast, and rank 0's link
# received at least the results that ranks 1 and 2 sent it (sizes as the wire format counts
# them). Open MPI's verbose output shows each rank reached with the tcp transport at its data
# address, and no other transport (no shared memory). The namespaces hold nothing else:
# loopback and the two links, routes to the two subnets only; no process is left in them after
# a run, and they are removed when the test ends, however it ends (but SIGKILL: then the next
# run removes them).
# Skipped (77, with the reason) where it cannot run: not root, no `ip`, no network namespaces,
# veth pairs or bridges, no mpirun, facesearch built without MPI.
set -u
. "$(dirname "$0")/lib.sh"
skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) == 0 ]] || skip "network namespaces need root"
command -v ip >/dev/null || skip "no ip command (iproute2: scripts/setup.sh)"
command -v mpirun >/dev/null || skip "no mpirun (scripts/setup.sh: openmpi-bin)"
if "$FACESEARCH" search --shards /nonexistent/facesearch-library -q /nonexistent.jpg 2>&1 |
   grep -q "needs facesearch built with MPI"; then
  skip "facesearch is built without MPI (libopenmpi-dev)"
fi
. "$(dirname "$0")/e2e_lib.sh"
. "$(dirname "$0")/netns_lib.sh"
command -v sqlite3 >/dev/null || { echo "FAIL: the sqlite3 command is needed (scripts/setup.sh)" >&2; exit 1; }
# a signal's trap runs when the command under way ends, maybe inside expect_exit, whose own $tmp
# then hides the test's
test_tmp=$tmp
trap 'netns_down; [[ $tmp != "$test_tmp" ]] && rm -rf "$tmp"; tmp=$test_tmp; e2e_cleanup' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
netns_up "$tmp" 3
case $? in
  0) ;;
  1) skip "$netns_why" ;;
  *) echo "FAIL: could not make the test network" >&2; exit 1 ;;
esac
# CI runs as root; Open MPI refuses root unless told (the daemons and ranks inherit it)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# the sanitizer build, as in test_shards.sh
export LSAN_OPTIONS=${LSAN_OPTIONS:-}:suppressions=$e2e_dir/lsan_mpi.supp:fast_unwind_on_malloc=0:print_suppressions=0
unset FACESEARCH_DB
# a run takes seconds; a daemon that never reports back would make mpirun wait forever
export NETNS_TIMEOUT=300
summary() { sed -E 's/ in [0-9.]+s$//' <<<"$err"; }
declare -a rx0 tx0
mark_bytes() { local k; for k in 0 1 2; do read -r rx0[k] tx0[k] < <(netns_bytes $k); done; }
# grown K rx|tx: bytes since mark_bytes
grown() {
  local rx tx
  read -r rx tx < <(netns_bytes "$1")
  if [[ $2 == rx ]]; then echo $((rx - rx0[$1])); else echo $((tx - tx0[$1])); fi
}
# at_least WHAT MIN GOT
at_least() {
  check "$1 (at least $2 bytes)" "yes" "$( (($3 >= $2)) && echo yes || echo "no: $3 bytes")"
}

# ---- the network ----------------------------------------------------------------------------
for k in 0 1 2; do
  ns=${netns_ranks[$k]}
  check "rank $k's namespace: loopback, a data and a control link" "eth0 eth1 lo" \
    "$(ip -n "$ns" -o link show | sed -E 's/^[0-9]+: ([^:@]+).*/\1/' | sort | tr '\n' ' ' | sed 's/ $//')"
  check "rank $k's namespace: routes to the test subnets only" \
    "$netns_data.0/24 dev eth0 proto kernel scope link src $netns_data.$((k + 1))
$netns_control.0/24 dev eth1 proto kernel scope link src $netns_control.$((k + 1))" \
    "$(ip -n "$ns" -4 route show | sed 's/ *$//')"
  check "rank $k's namespace: no IPv6 route" "" "$(ip -n "$ns" -6 route show 2>/dev/null)"
done

lib=$tmp/photos
shards_library "$lib"
ref=$tmp/ref
shards=$tmp/shards

# ---- index --shards over the network ---------------------------------------------------------
expect_exit 0 "$FACESEARCH" --db "$ref" index "$lib"
want=$(summary)
mark_bytes
expect_exit 0 netns_mpirun "$FACESEARCH" index --shards "$shards" "$lib"
check "index --shards: summary as one index's" "$want" "$(summary)"
# rank 0 broadcasts the walk: size and mtime (8 bytes each) and the path with its NUL, a photo
walk=$(find "$lib" -type f -printf '%p\n' | awk '{ n += 16 + length($0) + 1 } END { print n }')
at_least "index: rank 1's link received the list of photos" "$walk" "$(grown 1 rx)"
at_least "index: rank 2's link received the list of photos" "$walk" "$(grown 2 rx)"
at_least "index: rank 0's link sent the list of photos" "$walk" "$(grown 0 tx)"
check "manifest: 3 shards" "count 3" "$(grep '^count ' "$shards/manifest")"
files=0 faces=0 empty=0
for k in 000 001 002; do # each shard is an ordinary index
  expect_exit 0 "$FACESEARCH" --db "$shards/shard-$k" stats --json
  n=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["files"])' <<<"$out")
  ((n == 0)) && empty=$((empty + 1))
  files=$((files + n))
  faces=$((faces + $(python3 -c 'import json,sys; print(json.load(sys.stdin)["faces"])' <<<"$out")))
done
expect_exit 0 "$FACESEARCH" --db "$ref" stats --json
check "shards hold the photos and faces of one index" \
  "$(python3 -c 'import json,sys; s = json.load(sys.stdin); print(s["files"], s["faces"])' <<<"$out")" \
  "$files $faces"
check "every rank indexed photos into its shard" 0 "$empty"

# ---- search --shards over the network ----------------------------------------------------------
# the bytes of rank K's results for the query below, as the wire format counts them
# (fs_mpi_search: a 32-byte head, then 88 bytes and the path with its NUL a face): a search of
# shard K alone
sent=()
for k in 1 2; do
  expect_exit 0 "$FACESEARCH" --db "$shards/shard-00$k" search -q "$samples/sample1.jpg" --json \
    --threshold -1 --top 0
  sent[k]=$(python3 -c 'import json,sys
print(32 + sum(88 + len(json.loads(l)["path"].encode()) + 1 for l in sys.stdin if l.strip()))' <<<"$out")
done
expect_exit 0 "$FACESEARCH" --db "$ref" search -q "$samples/sample1.jpg" --json --threshold -1 --top 0
want=$out
mark_bytes
expect_exit 0 netns_mpirun "$FACESEARCH" search --shards "$shards" -q "$samples/sample1.jpg" \
  --json --threshold -1 --top 0
check "every face of sample1's person: same output as one index" "$want" "$out"
at_least "search: rank 1's link sent its results" "${sent[1]}" "$(grown 1 tx)"
at_least "search: rank 2's link sent its results" "${sent[2]}" "$(grown 2 tx)"
at_least "search: rank 0's link received the results of ranks 1 and 2" $((sent[1] + sent[2])) \
  "$(grown 0 rx)"
# same_search WHAT ARGS...: search --shards over the network and --db $ref print the same
same_search() {
  local what=$1; shift
  expect_exit 0 "$FACESEARCH" --db "$ref" search "$@"
  local want=$out
  expect_exit 0 netns_mpirun "$FACESEARCH" search --shards "$shards" "$@"
  check "$what: same output as one index" "$want" "$out"
}
same_search "sample4, top 5" -q "$samples/sample4.jpg" --top 5 --json
same_search "all faces of sample2, table" -q "$samples/sample2.jpg" --face all --top 7
same_search "several queries, mean" -q "$samples/sample1.jpg" -q "$lib/b/copy1.jpg" --match mean --json

# ---- which transport, which addresses: Open MPI's own account ----------------------------------
expect_exit 0 "$FACESEARCH" --db "$ref" search -q "$samples/sample6.jpg" --min-size 60 --csv --threshold 0.1
want=$out
expect_exit 0 netns_mpirun --mca btl_base_verbose 100 "$FACESEARCH" search --shards "$shards" \
  -q "$samples/sample6.jpg" --min-size 60 --csv --threshold 0.1
check "verbose run: same output as one index" "$want" "$out"
# "mca: bml: Using tcp btl for send to [[JOB,1],RANK] on node NODE", and self for a rank itself
check "every peer reached with tcp, on its own namespace's node" \
  "tcp 0 ${netns_ranks[0]}
tcp 1 ${netns_ranks[1]}
tcp 2 ${netns_ranks[2]}" \
  "$(sed -nE 's/.*mca: bml: Using ([a-z0-9]+) btl for send to \[\[[0-9]+,[0-9]+\],([0-9]+)\] on node ([^ ]+).*/\1 \2 \3/p' <<<"$err" |
     grep -v '^self ' | sort -u)"
check "no transport but tcp and self" "" \
  "$(grep -E 'mca: bml: Using ' <<<"$err" | grep -vE 'Using (tcp|self) btl' || true)"
connects=$(sed -nE 's/.*attempting to connect\(\) to .* address ([0-9.]+) on port.*/\1/p' <<<"$err" | sort -u)
check "tcp connections made" "yes" "$([[ -n $connects ]] && echo yes || echo no)"
check "tcp connections to the data subnet only" "" "$(grep -v "^$netns_data\.[0-9]*$" <<<"$connects" || true)"

# ---- nothing left behind --------------------------------------------------------------------------
# (the daemons end right after mpirun: a few seconds at most)
for ((w = 0; w < 100; w++)); do
  left=$(netns_pids)
  [[ -z $left ]] && break
  sleep 0.1
done
check "no process left in the namespaces" "" "$left"

finish
