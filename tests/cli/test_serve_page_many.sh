#!/usr/bin/env bash
# The server's page with 5,000 results (tests/web/many_test.mjs, playwright-core driving Debian's
# chromium headless): an index of 6,000 synthetic faces of one person (bench/serve_index with one
# identity) over 1,500 real photo files (links of one small JPEG, four faces each), so that a
# search by one face fills the gallery with 5,000 matches. Checks the gallery builds lazily and
# the page keeps answering; screenshots in build/artefacts/serve-page-many/.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"
. "$(dirname "$0")/serve_lib.sh"
: "${FS_SOURCE_DIR:?FS_SOURCE_DIR must name the source tree}"
web=$FS_SOURCE_DIR/tests/web
make_index=$(dirname "$FACESEARCH")/bench/serve_index
command -v node >/dev/null || { echo "FAIL: node is needed (scripts/setup.sh)" >&2; exit 1; }
command -v chromium >/dev/null || { echo "FAIL: chromium is needed (scripts/setup.sh)" >&2; exit 1; }
[[ -f $web/node_modules/playwright-core/package.json ]] ||
  { echo "FAIL: playwright-core is missing (scripts/fetch-playwright.sh, run by make test)" >&2; exit 1; }
[[ -x $make_index ]] || { echo "FAIL: $make_index is missing (built with the project)" >&2; exit 1; }

root=$tmp/photos
mkdir -p "$root"
check "an index of 6,000 faces of one person" 6000 \
  "$("$make_index" "$tmp/db" "$root" 6000 default 6000 2>&1)"
# the files the index names: one small photo (four faces side by side in the index) linked
vips black "$tmp/one.jpg" 260 80 --bands 3
for f in $(seq 0 1499); do ln "$tmp/one.jpg" "$(printf '%s/p%07d.jpg' "$root" "$f")"; done
artefacts=$(dirname "$FACESEARCH")/artefacts/serve-page-many
rm -rf "$artefacts"
start_server --db "$tmp/db" --root "$root"
req GET "/api/v1/faces/1/search?threshold=0.14&top=5000"
check "the API finds 5,000" 5000 "$(jget 'd["count"]')"
HOME=$tmp node "$web/many_test.mjs" "$base" 1 "$artefacts" >"$tmp/page.out" 2>&1
status=$?
cat "$tmp/page.out"
check "browser test exit status" 0 "$status"
for shot in many-top many-bottom; do
  check "screenshot $shot" 1 "$([[ -s $artefacts/$shot.png ]] && echo 1)"
done
stop_server
finish
