#!/usr/bin/env bash
# Out of memory at every step (issue 11): in a build with allocation-failure injection (the
# sanitizer build, src/util/alloc_inject.h), `detect`, `index` of three photos, `search` and
# `people update`, `people list`, `search --person`, and (built with MPI) `mpirun -np 2 index
# --shards` of the same photos (every rank failing at its N-th allocation) and a `search --shards`
# of them (rank 1 failing), `people update --shards` (every rank failing) and `search --shards
# --person` (rank 1 failing) are run
# with their N-th allocation failing, for N spread over every allocation the command makes (all of
# them with FS_ALLOC_STRIDE=1). Each run must end by itself with exit 2 (1 or 0 where the failure
# was absorbed, e.g. by a photo reported as failed) and the one-line error, never with a crash, a
# sanitizer report or a leak; after a failed index run the index still opens and a plain re-run
# completes it. In a build without injection it says so and is skipped (exit 77).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:exitcode=99 UBSAN_OPTIONS=${UBSAN_OPTIONS:-}:exitcode=99

lib=$tmp/lib
mkdir "$lib"
small_copy 1 480 "$lib/a.jpg"
small_copy 4 480 "$lib/b.jpg"
small_copy 2 400 "$lib/c.jpg"
query=$lib/a.jpg

# count CMD...: how many counted allocations CMD makes ("" without injection)
count() {
  rm -f "$tmp/count"
  FS_ALLOC_COUNT_FILE=$tmp/count "$@" >/dev/null 2>&1
  cat "$tmp/count" 2>/dev/null
}

if [[ -z $(count "$FACESEARCH" detect "$query") ]]; then
  echo "skipped: this build has no allocation-failure injection (the sanitizer build has it)"
  exit 77
fi

# sweep NAME SETUP CMD...: runs CMD with each chosen allocation failing; SETUP (a function name or
# :) runs before each run; after_NAME (if defined) checks the state each run left.
sweep() {
  local name=$1 setup=$2; shift 2
  $setup
  local total; total=$(count "$@")
  local stride=${FS_ALLOC_STRIDE:-$(((total + 23) / 24))}
  local runs=0 n
  for ((n = 1; n <= total; n += stride)); do
    $setup
    FS_FAIL_ALLOC_AT=$n "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? e; e=$(without_progress <"$tmp/err")
    runs=$((runs + 1))
    check "$name, allocation $n of $total: exit status 0-2" "yes" "$([[ $rc -le 2 ]] && echo yes || echo "no ($rc): $e")"
    check "$name, allocation $n: no sanitizer report" "" "$(grep -E 'Sanitizer|runtime error' <<<"$e")"
    if [[ $rc -eq 2 ]]; then
      contains "$name, allocation $n: the error" "$e" "out of memory"
    fi
    if declare -F "after_$name" >/dev/null; then "after_$name" "$n"; fi
  done
  echo "$name: $runs runs over $total allocations"
}

no_setup() { :; }
fresh_index() { rm -rf "$tmp/idx"; }
after_index() { # the index opens, and a plain run completes it
  if [[ -e $tmp/idx/index.db ]]; then
    "$FACESEARCH" --db "$tmp/idx" stats >/dev/null 2>"$tmp/err2" ||
      contains "index, allocation $1: stats after the failure" "$(cat "$tmp/err2")" "no index here"
  fi
  "$FACESEARCH" --db "$tmp/idx" --threads 1 index "$lib" >/dev/null 2>"$tmp/err2"
  check "index, allocation $1: the re-run completes" "0 failed" \
    "$(grep -oE '[0-9]+ failed' "$tmp/err2" | tail -1)"
}

"$FACESEARCH" --db "$tmp/searchdb" --threads 1 index "$lib" >/dev/null 2>&1

sweep detect no_setup "$FACESEARCH" --threads 1 detect "$query"
sweep index fresh_index "$FACESEARCH" --db "$tmp/idx" --threads 1 index "$lib"
sweep search no_setup "$FACESEARCH" --db "$tmp/searchdb" --threads 1 search -q "$query"

# people: an update (one transaction: a failure leaves the index as it was, and a re-run
# completes it), then the reads of a grouped index.
mkdir "$tmp/lib2"
cp "$lib/a.jpg" "$tmp/lib2/"
vips flip "$lib/a.jpg" "$tmp/lib2/a_mirrored.jpg" horizontal # the same three people again
"$FACESEARCH" --db "$tmp/peopledb" --threads 1 index "$tmp/lib2" >/dev/null 2>&1
fresh_people() { rm -rf "$tmp/pdb"; cp -r "$tmp/peopledb" "$tmp/pdb"; }
after_people() {
  "$FACESEARCH" --db "$tmp/pdb" people update >/dev/null 2>"$tmp/err2"
  check "people, allocation $1: the re-run completes" "0" "$?"
}
sweep people fresh_people "$FACESEARCH" --db "$tmp/pdb" --threads 1 people update
"$FACESEARCH" --db "$tmp/peopledb" people update >/dev/null 2>&1
check "people: a grouped index to read" "0" "$("$FACESEARCH" --db "$tmp/peopledb" search --person 1 >/dev/null 2>&1; echo $?)"
sweep people_list no_setup "$FACESEARCH" --db "$tmp/peopledb" people list
sweep people_show no_setup "$FACESEARCH" --db "$tmp/peopledb" search --person 1

# a sharded index run on Open MPI (issue 16): the failing rank's error reaches every rank, none
# waits for another forever; the shards open and a plain re-run completes them
if command -v mpirun >/dev/null &&
   ! "$FACESEARCH" index --shards "$tmp/none" "$lib" 2>&1 | grep -q "needs facesearch built with MPI"; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export LSAN_OPTIONS=${LSAN_OPTIONS:-}:suppressions=$e2e_dir/lsan_mpi.supp:fast_unwind_on_malloc=0:print_suppressions=0
  mpi2() { timeout 120 mpirun -q --oversubscribe --mca btl self,tcp -np 2 "$@"; }
  fresh_shards() { rm -rf "$tmp/shards"; }
  after_index_shards() {
    mpi2 "$FACESEARCH" --threads 1 index --shards "$tmp/shards" "$lib" >/dev/null 2>"$tmp/err2"
    check "index --shards, allocation $1: the re-run completes" "0 failed" \
      "$(grep -oE '[0-9]+ failed' "$tmp/err2" | tail -1)"
  }
  sweep index_shards fresh_shards mpi2 "$FACESEARCH" --threads 1 index --shards "$tmp/shards" "$lib"
  # a search of those shards with rank 1 alone failing (at its N-th allocation: opening its
  # shard, searching it, sending its results): rank 0 prints rank 1's error, no rank waits for
  # ever, nothing is left over for a sanitizer to report
  rank1_fails() {
    local inject=()
    [[ -n ${FS_FAIL_ALLOC_AT-} ]] && inject+=("FS_FAIL_ALLOC_AT=$FS_FAIL_ALLOC_AT")
    [[ -n ${FS_ALLOC_COUNT_FILE-} ]] && inject+=("FS_ALLOC_COUNT_FILE=$FS_ALLOC_COUNT_FILE")
    env -u FS_FAIL_ALLOC_AT -u FS_ALLOC_COUNT_FILE timeout 120 mpirun -q --oversubscribe \
      --mca btl self,tcp -np 1 "$@" : -np 1 env "${inject[@]}" "$@"
  }
  sweep search_shards no_setup rank1_fails "$FACESEARCH" search --shards "$tmp/shards" -q "$query" \
    -q "$lib/b.jpg" --threshold -1 --top 0
  # people across shards: an update with every rank failing (each shard's update is one
  # transaction, the library's people file another: a re-run completes them), then the faces
  # of a library person with rank 1 failing
  mpi2 "$FACESEARCH" --threads 1 index --shards "$tmp/pshards0" "$tmp/lib2" >/dev/null 2>&1
  fresh_pshards() { rm -rf "$tmp/pshards"; cp -r "$tmp/pshards0" "$tmp/pshards"; }
  after_people_shards() {
    mpi2 "$FACESEARCH" people update --shards "$tmp/pshards" >/dev/null 2>"$tmp/err2"
    check "people update --shards, allocation $1: the re-run completes" "0" "$?"
  }
  sweep people_shards fresh_pshards mpi2 "$FACESEARCH" people update --shards "$tmp/pshards"
  check "people --shards: a library person to read" "0" \
    "$(mpi2 "$FACESEARCH" search --shards "$tmp/pshards" --person 1 >/dev/null 2>&1; echo $?)"
  sweep person_shards no_setup rank1_fails "$FACESEARCH" search --shards "$tmp/pshards" --person 1
else
  echo "index --shards: skipped (facesearch built without MPI)"
fi

finish
