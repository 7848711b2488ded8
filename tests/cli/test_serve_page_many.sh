#!/usr/bin/env bash
# The server's page with 5,000 results (tests/web/many_test.mjs, playwright-core driving Debian's
# chromium headless): an index of 6,000 synthetic faces of one person (bench/serve_index with one
# identity) over 1,500 real photo files (links of one small JPEG, four faces each), so that a
# search by one face fills the gallery with 5,000 matches. Checks the gallery builds lazily and
# the page keeps answering. Then people (tests/web/people_many_test.mjs): the index grouped (a
# person of 1,500 faces), and a second one of identities of 8 (hundreds of people): the person's
# gallery and the people grid build a batch at a time too. Screenshots in
# build/artefacts/serve-page-many/.
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

# ---- people: a person of 1,500 faces (the one identity, four faces a photo: one a photo each),
# then hundreds of people of two faces (a second index, identities of 8: two photos each)
expect_exit 0 "$FACESEARCH" --db "$tmp/db" people update
check "an index of 2,400 faces in identities of 8" 2400 \
  "$("$make_index" "$tmp/db2" "$root" 2400 default 8 2>&1)"
expect_exit 0 "$FACESEARCH" --db "$tmp/db2" people update
for what in person grid; do
  db=$tmp/db
  [[ $what == grid ]] && db=$tmp/db2
  start_server --db "$db" --root "$root"
  HOME=$tmp node "$web/people_many_test.mjs" "$base" "$artefacts" "$what" >"$tmp/people.out" 2>&1
  status=$?
  cat "$tmp/people.out"
  check "people browser test ($what) exit status" 0 "$status"
  stop_server
done
for shot in people-many-person people-many-grid; do
  check "screenshot $shot" 1 "$([[ -s $artefacts/$shot.png ]] && echo 1)"
done
finish
