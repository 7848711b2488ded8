#!/usr/bin/env bash
# scripts/fetch-models.sh on a small real npm package: installs and verifies the listed files,
# does nothing the second time, refuses a tarball whose sha256 differs from the manifest, refuses
# a file whose sha256 differs, and repairs a corrupted file.
set -u
. "$(dirname "$0")/lib.sh"
fetch="$FS_SOURCE_DIR/scripts/fetch-models.sh"

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export FACESEARCH_DATA_DIR=$tmp/data
good=7b75c1057198cf97696909a9bee176c9c5e9bcb5b03bf3ecef2f484defadd51e
file=04255e482e181687823a95b207802ddd32e746c65dce4c95a5176fc192735960
manifest() { # package_sha256 file_sha256
  printf 'name tiny\npackage is-number@7.0.0\npackage_sha256 %s\nfile index.js package/index.js %s\n' "$1" "$2" >"$tmp/manifest"
}

manifest $good $file
expect_exit 0 bash "$fetch" "$tmp/manifest" "$tmp/pack"
expect_out_is "fetch: tiny: downloading is-number@7.0.0 with npm pack
fetch: tiny: installed in $tmp/pack"
check "installed file" "$file" "$(sha256sum <"$tmp/pack/index.js" | cut -d' ' -f1)"

expect_exit 0 bash "$fetch" "$tmp/manifest" "$tmp/pack"
expect_out_is "fetch: tiny: present and verified in $tmp/pack"

# A corrupted file is repaired from the cached tarball, without downloading again.
printf 'x' >>"$tmp/pack/index.js"
expect_exit 0 bash "$fetch" "$tmp/manifest" "$tmp/pack"
expect_out_is "fetch: tiny: installed in $tmp/pack"

# The wrong tarball: nothing is installed.
wrong=0000000000000000000000000000000000000000000000000000000000000000
manifest $wrong $file
expect_exit 1 bash "$fetch" "$tmp/manifest" "$tmp/other"
expect_err_is "fetch: is-number@7.0.0: tarball sha256 is $good, expected $wrong; refusing to use it"
check "nothing installed" "" "$(ls "$tmp/other" 2>/dev/null)"

# A file inside the package that is not the one pinned.
manifest $good $wrong
expect_exit 1 bash "$fetch" "$tmp/manifest" "$tmp/other"
expect_err_is "fetch: package/index.js in is-number@7.0.0: sha256 mismatch"
check "nothing installed" "" "$(ls "$tmp/other" 2>/dev/null)"

finish
