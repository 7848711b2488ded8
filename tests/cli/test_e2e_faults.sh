#!/usr/bin/env bash
# A failing or full disk during `index` (issue 11): with tests/fault_shim.c preloaded, the index's
# files start failing with EIO or ENOSPC after N successful writes, for N across a whole run (the
# database, then the vector file alone). Each run must end by itself with exit 2 and a one-line
# error naming the file and the cause, or with exit 0 when the run needed fewer writes; afterwards,
# on a working disk, the index passes PRAGMA integrity_check, a plain run completes it, and it
# holds exactly the files and faces of an undisturbed run. Where this test may mount (root), a real
# full disk: a 320 KiB tmpfs that fills up during a run, then grows.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"
: "${FS_FAULT_SHIM:?FS_FAULT_SHIM must name the fault shim library (ctest passes it)}"
command -v sqlite3 >/dev/null || { echo "FAIL: the sqlite3 command is needed (scripts/setup.sh)" >&2; exit 1; }
# the shim comes before the sanitizer runtime in the sanitizer build
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0

lib=$tmp/lib
mkdir "$lib"
for i in 1 2 3 4; do small_copy "$i" 480 "$lib/s$i.jpg"; done
"$FACESEARCH" --db "$tmp/ref" index "$lib" >/dev/null 2>&1
count() { sqlite3 "$1/index.db" "SELECT (SELECT count(*) FROM files) || ' ' || (SELECT count(*) FROM faces)"; }
want=$(count "$tmp/ref")
check "reference run" "4 13" "$want"

# after_fault DB WHAT: the index left by a failed run is sound and a plain run completes it.
after_fault() {
  if [[ -e $1/index.db ]]; then
    check "$2: integrity" "ok" "$(sqlite3 "$1/index.db" 'PRAGMA integrity_check' 2>&1)"
  fi
  expect_exit 0 "$FACESEARCH" --db "$1" index "$lib"
  expect_err_has ", 0 failed;"
  check "$2: files and faces after the re-run" "$want" "$(count "$1")"
}

for errno_name in EIO ENOSPC; do
  for after in 0 5 20 40 60 80 100; do
    db=$tmp/db_${errno_name}_$after
    what="$errno_name after $after database writes"
    LD_PRELOAD=$FS_FAULT_SHIM FS_FAULT_PATH=$db/index.db FS_FAULT_AFTER=$after \
      FS_FAULT_ERRNO=$errno_name "$FACESEARCH" --db "$db" index "$lib" >/dev/null 2>"$tmp/err"
    rc=$?
    err=$(without_progress <"$tmp/err")
    check "$what: exit 0 or 2" "yes" "$([[ $rc == 0 || $rc == 2 ]] && echo yes || echo "no ($rc)")"
    if [[ $rc == 2 ]]; then
      check "$what: the error" "yes" \
        "$(grep -qE "^facesearch: $db/index.db: .*: (input/output error \(disk I/O error\)|the disk is full; free some space and run again \(what is already indexed is kept\) \(database or disk is full\))$" <<<"$err" && echo yes || echo "$err")"
    fi
    after_fault "$db" "$what"
  done
done

# the vector file alone fails: SQLite holds everything, the next run writes the file again
db=$tmp/db_vectors
LD_PRELOAD=$FS_FAULT_SHIM FS_FAULT_PATH=$db/vectors FS_FAULT_ERRNO=ENOSPC \
  "$FACESEARCH" --db "$db" index "$lib" >/dev/null 2>"$tmp/err"
check "vector file full: exit" "2" "$?"
contains "vector file full: the error" "$(cat "$tmp/err")" \
  "cannot write the vector file: No space left on device"
expect_exit 0 "$FACESEARCH" --db "$db" search -q "$samples/sample1.jpg" --top 0 --threshold -1
expect_err_is "13 matches"
after_fault "$db" "vector file full"

# a real full disk, where we may mount one: an index of two photos fills it, two more do not fit;
# what was indexed stays, and once the disk has room a plain run completes the index
if [[ $(id -u) == 0 ]] && mkdir "$tmp/small" && mount -t tmpfs -o size=320k tmpfs "$tmp/small" 2>/dev/null; then
  mkdir "$tmp/grow"
  cp "$lib/s1.jpg" "$lib/s2.jpg" "$tmp/grow/"
  "$FACESEARCH" --db "$tmp/small/db" index "$tmp/grow" >/dev/null 2>&1
  before=$(count "$tmp/small/db")
  cp "$lib/s3.jpg" "$lib/s4.jpg" "$tmp/grow/"
  for i in $(seq 20); do cp "$lib/s1.jpg" "$tmp/grow/copy$i.jpg"; vips flip "$lib/s2.jpg" "$tmp/grow/flip$i.jpg" horizontal; done
  expect_exit 2 "$FACESEARCH" --db "$tmp/small/db" index "$tmp/grow"
  check "full tmpfs: the error" "yes" \
    "$(grep -qE 'the disk is full; free some space and run again|No space left on device' <<<"$err" && echo yes || echo "$err")"
  check "full tmpfs: integrity" "ok" "$(sqlite3 "$tmp/small/db/index.db" 'PRAGMA integrity_check' 2>&1)"
  check "full tmpfs: what was indexed before is kept" "yes" \
    "$(read -r f _ <<<"$(count "$tmp/small/db")"; read -r f0 _ <<<"$before"; ((f >= f0)) && echo yes || echo "no: $before then $(count "$tmp/small/db")")"
  mount -o remount,size=16m "$tmp/small"
  expect_exit 0 "$FACESEARCH" --db "$tmp/small/db" index "$tmp/grow"
  expect_err_has ", 0 failed;"
  "$FACESEARCH" --db "$tmp/all" index "$tmp/grow" >/dev/null 2>&1
  check "tmpfs with room: files and faces" "$(count "$tmp/all")" "$(count "$tmp/small/db")"
  umount "$tmp/small"
else
  echo "note: not root or no mount here: the real full-disk case is not run"
fi

finish
