# mpi_lib.sh — the start shared by the benchmarks of sharded libraries (shards.sh, shards_netns.sh,
# serve_shards.sh). Source it, then:
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
