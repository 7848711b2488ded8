#!/usr/bin/env bash
# End to end, interruption and concurrent use of one index (SPEC.md §3, issue 5): Ctrl-C (SIGINT)
# during `index` stops the run cleanly (exit 2, "interrupted, progress kept." summary), keeps what
# was done, and the next run finishes the rest; searches and stats running while another `index`
# writes to the same --db never fail. One writer at a time (SPEC.md §5, issue 11 item 5): a second
# index or remove fails at once naming the running one, --wait waits for it, search -t searches
# what is indexed and says the refresh was skipped; an index its reader may not write (another
# user's) can still be searched; remove on a missing --db creates nothing.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

# 36 distinct photos (6 samples at 6 sizes), so that a run lasts long enough to be interrupted
lib=$tmp/lib
mkdir "$lib"
for i in 1 2 3 4 5 6; do
  for w in 640 720 800 880 960 1040; do small_copy $i $w "$lib/p$i-$w.jpg"; done
done
small_copy 1 480 "$tmp/query.jpg"

# ---- SIGINT: as soon as the index exists (the handler is installed by then) ---------------------
db=$tmp/int
"$FACESEARCH" --db "$db" index "$lib" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for ((i = 0; i < 500; i++)); do [[ -e $db/index.db ]] && break; sleep 0.01; done
kill -INT $pid
wait $pid
check "SIGINT exit status" "2" "$?"
err=$(without_progress <"$tmp/err")
check "SIGINT summary" "yes" \
  "$(grep -qE '^interrupted, progress kept\. 36 photos: ([0-9]|[0-2][0-9]|3[0-5]) new, 0 changed, 0 unchanged, 0 moved, 0 removed, 0 failed; [0-9]+ faces in [0-9.]+s$' <<<"$err" && echo yes || echo "no: $err")"
kept=$(sed -E 's/.* 36 photos: ([0-9]+) new.*/\1/' <<<"$err")
expect_exit 0 "$FACESEARCH" --db "$db" stats --json
check "progress kept" "$kept" "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["files"])' <<<"$out")"
check "integrity" "ok" "$(sqlite3 "$db/index.db" 'PRAGMA integrity_check' 2>&1)"
expect_exit 0 "$FACESEARCH" --db "$db" index "$lib"
check "the next run does the rest" "36 photos: $((36 - kept)) new, 0 changed, $kept unchanged, 0 moved, 0 removed, 0 failed" \
  "$(sed -E 's/; [0-9]+ faces in [0-9.]+s$//' <<<"$err")"

# ---- readers while one writer -----------------------------------------------------------------
db=$tmp/rw
mkdir "$tmp/lib0" "$tmp/small"
for i in 1 2 3 4 5 6; do small_copy $i 480 "$tmp/small/p$i.jpg"; done
mv "$tmp/small/p1.jpg" "$tmp/lib0/"
expect_exit 0 "$FACESEARCH" --db "$db" index "$tmp/lib0"
"$FACESEARCH" --db "$db" index "$lib" >"$tmp/out" 2>"$tmp/err" &  # 36 photos: long enough for readers
pid=$!
n=0 bad=0
while [[ $(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) != Z ]] && ((n < 10)); do
  "$FACESEARCH" --threads 1 --db "$db" search -q "$tmp/query.jpg" --threshold -1 --top 0 --csv >"$tmp/s.out" 2>"$tmp/s.err"
  rc=$?
  "$FACESEARCH" --db "$db" stats >/dev/null 2>>"$tmp/s.err" || rc=2
  n=$((n + 1))
  if ((rc == 2)) || grep -q '^facesearch: ' "$tmp/s.err"; then
    bad=$((bad + 1))
    echo "reader $n failed ($rc): $(cat "$tmp/s.err")" >&2
  fi
done
wait $pid
check "writer exit status" "0" "$?"
check "readers ran during the write" "yes" "$( ((n >= 3)) && echo yes || echo "no ($n)")"
check "readers that failed" "0" "$bad"
expect_exit 0 "$FACESEARCH" --db "$db" stats --json
faces=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["faces"])' <<<"$out")
expect_exit 0 "$FACESEARCH" --db "$db" search -q "$tmp/query.jpg" --threshold -1 --top 0 --csv
check "all faces searchable after the write" "$faces" "$(($(wc -l <<<"$out") - 1))"

# ---- one writer at a time ------------------------------------------------------------------------
db=$tmp/lock
expect_exit 0 "$FACESEARCH" --db "$db" index "$tmp/lib0"
"$FACESEARCH" --db "$db" index "$lib" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for ((i = 0; i < 500; i++)); do [[ $(cat "$db/writer.lock" 2>/dev/null) == "$pid" ]] && break; sleep 0.01; done
check "the writer's pid in the lock file" "$pid" "$(cat "$db/writer.lock")"
kill -STOP $pid   # it holds the lock, however fast or busy this machine is, until SIGCONT
expect_exit 2 "$FACESEARCH" --db "$db" index "$tmp/small"
expect_err_is "facesearch: $db: another index run is active (pid $pid)"
# (it cannot have waited: the lock holder is stopped, so a wait would never have ended)
expect_exit 2 "$FACESEARCH" --db "$db" remove "$tmp/lib0"
expect_err_is "facesearch: $db: another index run is active (pid $pid)"
expect_exit 0 "$FACESEARCH" --db "$db" search -q "$tmp/query.jpg" -t "$tmp/lib0" -t "$tmp/small" --csv
expect_err_is "note: $db: another index run is active (pid $pid); the folders were not refreshed, searching what is indexed"
check "search -t during a run: what is indexed" "$tmp/lib0/p1.jpg" "$(tail -n +2 <<<"$out" | cut -d, -f1 | sort -u)"
"$FACESEARCH" --wait --db "$db" index "$tmp/small" >"$tmp/w.out" 2>"$tmp/w.err" &
waiter=$!
sleep 2
check "--wait: waits while the first writer holds the lock" "yes" "$(kill -0 $waiter 2>/dev/null && echo yes || echo no)"
kill -CONT $pid
wait $pid
check "first writer exit status" "0" "$?"
wait $waiter
check "--wait: exit status" "0" "$?"
err=$(without_progress <"$tmp/w.err")
expect_err_is "5 photos: 5 new, 0 changed, 0 unchanged, 0 moved, 0 removed, 0 failed; $(grep -oE '[0-9]+ faces in [0-9.]+s$' <<<"$err")"
expect_exit 0 "$FACESEARCH" --db "$db" remove "$tmp/small"
expect_out_is "$tmp/small: 5 photos removed from the index"

# ---- remove on a missing --db: an error, nothing created -------------------------------------------
expect_exit 2 "$FACESEARCH" --db "$tmp/nothing" remove "$lib"
expect_err_is "facesearch: $tmp/nothing: no index here (run \`facesearch index\` first)"
check "no index created" "no" "$([[ -e $tmp/nothing ]] && echo yes || echo no)"

# ---- a read-only index can be searched ------------------------------------------------------------
cp -r "$db" "$tmp/ro-db"
rm -f "$tmp/ro-db"/*-wal "$tmp/ro-db"/*-shm
chmod -R a-w "$tmp/ro-db"
chmod a+rx "$tmp" && chmod -R a+rX "$tmp/ro-db" "$tmp/query.jpg"
as_reader=()
if ((EUID == 0)) && command -v setpriv >/dev/null; then
  # root may write anything: read as nobody, with a copy of the models nobody can read
  mkdir "$tmp/data" && cp -r "$(data_dir)/models" "$tmp/data/" && chmod -R a+rX "$tmp/data"
  # (setpriv itself execs the tool, as in test_e2e_bad_inputs: a checkout under root's private
  # home stays reachable that way, not through a program nobody would exec in between)
  as_reader=(env "FACESEARCH_DATA_DIR=$tmp/data" setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
expect_exit 0 "${as_reader[@]}" "$FACESEARCH" --db "$tmp/ro-db" search -q "$tmp/query.jpg" --threshold -1 --top 0 --csv
check "read-only index searched" "$((faces + 0))" "$(($(wc -l <<<"$out") - 1))"
expect_err_is ""
expect_exit 0 "${as_reader[@]}" "$FACESEARCH" --db "$tmp/ro-db" stats
check "read-only index: nothing written" "$(ls "$db" | grep -vE -- '-(wal|shm)$' | sort | paste -sd' ')" "$(ls "$tmp/ro-db" | sort | paste -sd' ')"

finish
