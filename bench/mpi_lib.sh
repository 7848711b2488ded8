# mpi_lib.sh — the start shared by the benchmarks of sharded libraries (shards.sh, shards_netns.sh,
# serve_shards.sh, people_shards*.sh). Source it, then:
#   mpi_bench_ready NAME BUILD_DIR
# Checks that BUILD_DIR/facesearch, mpirun and the six sample photos are there (else exits 2,
# saying what to run), sets fs (the binary) and samples (their folder), and lets mpirun run as
# root (as the tests do).
mpi_bench_ready() {
  local name=$1 build=$2 i
  fs=$build/facesearch
  [ -x "$fs" ] || { echo "$name: build $fs first (make build)" >&2; exit 2; }
  command -v mpirun >/dev/null || { echo "$name: mpirun is needed (scripts/setup.sh)" >&2; exit 2; }
  local data=${FACESEARCH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/facesearch}
  samples=$data/samples
  for i in 1 2 3 4 5 6; do
    [ -f "$samples/sample$i.jpg" ] ||
      { echo "$name: $samples/sample$i.jpg missing (make models)" >&2; exit 2; }
  done
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
}

# people_libraries NAME DIR N S: with BUILD_DIR/bench/serve_index, one index DIR/one and a sharded
# library DIR/lib of S shards holding the same synthetic faces: 5,120 of 512 identities (10
# each, 4 faces a photo), then N more in photos of 4 different identities drawn in turn from those
# 512; photo i is in shard i mod S (people_shards.sh, people_shards_edits.sh). Exits 2 when
# serve_index is not built.
people_libraries() {
  local name=$1 dir=$2 n=$3 s=$4 base=5120 k
  local mk=${fs%/*}/bench/serve_index
  [ -x "$mk" ] || { echo "$name: build $mk first (make build)" >&2; exit 2; }
  "$mk" "$dir/one" /bench/photos "$base" >/dev/null
  "$mk" "$dir/one" /bench/photos $((base + n)) default 10 "$base" >/dev/null
  for ((k = 0; k < s; k++)); do
    "$mk" "$dir/lib" /bench/photos "$base" default 10 0 "$k/$s" >/dev/null
    "$mk" "$dir/lib" /bench/photos $((base + n)) default 10 "$base" "$k/$s" >/dev/null
  done
}
