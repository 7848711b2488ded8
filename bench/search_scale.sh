#!/usr/bin/env bash
# search_scale.sh — scale benchmark of the vector index (issue 5): synthetic clustered face-like
# embeddings at 100k and 1M faces; HNSW and the exact int8 scan against the peer, a plain fp32
# exhaustive scan (same queries, recall@10 against its results, vs_peer_p50 = peer p50 / p50).
# Targets at 1M: p99 < 5 ms, recall@10 >= 0.99, <= 3 KB of RAM per face.
# Usage: bench/search_scale.sh [BUILD_DIR] [QUERIES] [SIZES...]   (defaults: build 300 100000 1000000)
# Environment: THREADS (graph build and second scan timing, default 2); SCALE_ARGS, passed to
# search_scale as is, e.g. "--scan-only" (measure where the scan crosses 5 ms, cf.
# FS_VINDEX_GRAPH_MIN), "--m 24 --efc 120 --ef 400,600,800" (graph parameters, one line per ef),
# "--subspace 64" (identities spread like the default pack's embeddings instead of uniformly on
# the sphere, see search_scale.c) or "--cache DIR" (keep the built graph; a later run with the
# same N, model and graph parameters loads it and only times the queries).
# The 1M run needs ~5 GB of RAM and builds a graph for ~20 minutes on 2 cores: the machine is
# shared, keep QUERIES small and run nothing else heavy meanwhile.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
queries=${2:-300}
shift $(( $# > 2 ? 2 : $# )) || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
bin=$(find "$build" -name search_scale -type f -perm -u+x | head -1)
[ -n "$bin" ] || { echo "search_scale: build the search_scale target in $build first" >&2; exit 2; }
threads=${THREADS:-2}
read -r -a extra <<< "${SCALE_ARGS:-}"
for n in "${sizes[@]}"; do
  "$bin" "$n" "$queries" "$threads" "${extra[@]}"
done
