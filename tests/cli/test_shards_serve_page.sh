#!/usr/bin/env bash
# The server's page over a sharded library (issue 16) in a real browser: `mpirun -np 3 facesearch
# serve --shards` over the samples and copies of them in three shards, and tests/web/sharded_test.mjs
# (playwright-core driving Debian's chromium headless) checks that the page searches, shows every
# thumbnail and photo, searches by a clicked face, groups the library's people (every rank its
# shards), shows and names them, reviews the library's unsure faces, and offers nothing that
# needs one index's writer.
# Screenshots are kept in build/artefacts/serve-shards-page/. A build without MPI skips (77).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"
. "$(dirname "$0")/serve_lib.sh"
. "$(dirname "$0")/serve_shards_lib.sh"
: "${FS_SOURCE_DIR:?FS_SOURCE_DIR must name the source tree}"
web=$FS_SOURCE_DIR/tests/web
command -v mpirun >/dev/null || { echo "FAIL: mpirun is needed (scripts/setup.sh: openmpi-bin)" >&2; exit 1; }
command -v node >/dev/null || { echo "FAIL: node is needed (scripts/setup.sh)" >&2; exit 1; }
command -v chromium >/dev/null || { echo "FAIL: chromium is needed (scripts/setup.sh)" >&2; exit 1; }
[[ -f $web/node_modules/playwright-core/package.json ]] ||
  { echo "FAIL: playwright-core is missing (scripts/fetch-playwright.sh, run by make test)" >&2; exit 1; }
unset FACESEARCH_DB
if "$FACESEARCH" serve --shards "$tmp/none" --root "$tmp" 2>&1 | grep -q "needs facesearch built with MPI"; then
  echo "SKIP: facesearch is built without MPI (libopenmpi-dev)"
  exit 77
fi

lib=$tmp/photos
shards_library "$lib"
shards=$tmp/shards
expect_exit 0 mpirun -q --oversubscribe --mca btl self,tcp -np 3 "$FACESEARCH" index --shards "$shards" "$lib"
trap serve_cleanup_mpi EXIT
start_sharded 3 --shard-wait-ms 10000
artefacts=$(dirname "$FACESEARCH")/artefacts/serve-shards-page
rm -rf "$artefacts"
HOME=$tmp node "$web/sharded_test.mjs" "$base" "$samples/sample1.jpg" "$artefacts" >"$tmp/page.out" 2>&1
status=$?
cat "$tmp/page.out"
check "browser test exit status" 0 "$status"
for shot in sharded-results sharded-face-search sharded-people sharded-person sharded-unsure; do
  check "screenshot $shot" 1 "$([[ -s $artefacts/$shot.png ]] && echo 1)"
done
kill -TERM "${ranks[0]}"
wait "$mpirun_pid"
check "SIGTERM to rank 0: mpirun exits 0" 0 "$?"
mpirun_pid=""
check "server log: no sanitizer report" "" "$(grep -E 'Sanitizer|runtime error' "$server_log")"
finish
