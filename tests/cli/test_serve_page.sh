#!/usr/bin/env bash
# The server's page in a real browser (tests/web/page_test.mjs: playwright-core driving Debian's
# chromium headless) against `facesearch serve` on the sample photos. Screenshots at desktop and
# phone widths are kept as test artefacts in build/artefacts/serve-page/.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"
. "$(dirname "$0")/serve_lib.sh"
: "${FS_SOURCE_DIR:?FS_SOURCE_DIR must name the source tree}"
web=$FS_SOURCE_DIR/tests/web
command -v node >/dev/null || { echo "FAIL: node is needed (scripts/setup.sh)" >&2; exit 1; }
command -v chromium >/dev/null || { echo "FAIL: chromium is needed (scripts/setup.sh)" >&2; exit 1; }
[[ -f $web/node_modules/playwright-core/package.json ]] ||
  { echo "FAIL: playwright-core is missing (scripts/fetch-playwright.sh, run by make test)" >&2; exit 1; }

root=$tmp/photos
mkdir -p "$root/a" "$root/b"
for i in 1 2 3; do small_copy $i 800 "$root/a/s$i.jpg"; done
for i in 4 5 6; do small_copy $i 800 "$root/b/s$i.jpg"; done
artefacts=$(dirname "$FACESEARCH")/artefacts/serve-page
rm -rf "$artefacts"
start_server --db "$tmp/db" --root "$root"
HOME=$tmp node "$web/page_test.mjs" "$base" "$samples/sample1.jpg" "$artefacts" >"$tmp/page.out" 2>&1
status=$?
cat "$tmp/page.out"
check "browser test exit status" 0 "$status"
for shot in desktop-empty desktop-indexed desktop-results desktop-photo desktop-face-search \
    desktop-people desktop-person desktop-person-photo phone-results; do
  check "screenshot $shot" 1 "$([[ -s $artefacts/$shot.png ]] && echo 1)"
done
stop_server
finish
