# serve_shards_lib.sh — `mpirun ... facesearch serve --shards` for the tests (test_shards_serve.sh,
# test_shards_serve_page.sh), after serve_lib.sh. They set $shards (the sharded library) and $lib
# (the folder the server may show).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 # CI runs as root
export LSAN_OPTIONS=${LSAN_OPTIONS:-}:suppressions=$e2e_dir/lsan_mpi.supp:fast_unwind_on_malloc=0:print_suppressions=0

# start_sharded NP ARGS...: mpirun -np NP serve --shards in the background (pid $mpirun_pid;
# with --enable-recovery when $recovery is set),
# its ranks in $rank0, $rank1... (their OMPI_COMM_WORLD_RANK); sets $base
start_sharded() {
  local np=$1 i p r; shift
  : >"$server_log"
  mpirun -q --oversubscribe --mca btl self,tcp ${recovery:+--enable-recovery} -np "$np" \
    "$FACESEARCH" serve --shards "$shards" \
    --root "$lib" --port 0 "$@" 2>"$server_log" &
  mpirun_pid=$!
  base=""
  for i in $(seq 1 300); do
    base=$(grep -oE 'http://[^ ]+/' "$server_log" | head -1)
    [[ -n "$base" ]] && break
    sleep 0.1
  done
  [[ -n "$base" ]] || { echo "FAIL: the sharded server did not start: $(cat "$server_log")" >&2; exit 1; }
  base=${base%/}
  ranks=()
  for p in $(ps -o pid= --ppid "$mpirun_pid"); do
    r=$(tr '\0' '\n' <"/proc/$p/environ" | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
    [[ -n $r ]] && ranks[$r]=$p
  done
  check "ranks found" "$np" "${#ranks[@]}"
}
# ranks_gone: "yes" when no rank process is left (mpirun may exit while its ranks are being
# ended: up to 30 s for them)
ranks_gone() {
  local p i left
  for i in $(seq 1 300); do
    left=0
    for p in "${ranks[@]}"; do # a zombie has ended
      [[ -d /proc/$p && $(sed -E 's/.*\) (.).*/\1/' "/proc/$p/stat" 2>/dev/null) != Z ]] && left=1
    done
    ((left)) || { echo yes; return; }
    sleep 0.1
  done
  echo "no: $(for p in "${ranks[@]}"; do [[ -d /proc/$p ]] && echo -n "$p "; done)still running"
}
serve_cleanup_mpi() {
  [[ -n ${mpirun_pid:-} ]] && kill -KILL "$mpirun_pid" 2>/dev/null
  serve_cleanup
}
