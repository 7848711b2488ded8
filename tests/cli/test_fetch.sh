#!/usr/bin/env bash
# scripts/fetch-models.sh on small real npm packages: installs and verifies the listed files,
# does nothing the second time, refuses a tarball whose sha256 differs from the manifest, refuses
# a file whose sha256 differs, and repairs a corrupted file; a manifest of two packages takes each
# file from its own; a 'convert' line names an existing converter and fails cleanly when the
# converter refuses its input (the real conversion, dlib's recognizer, runs in 'make models').
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

# Two packages, each followed by its files.
good6=62589f25115042c4d34863bc8e6ab4790a8920b811949c30e0ebc5733aca66cb
file6=b3737d5c585fcc98ef90fbbcce53e69a997c46372411abe56809ace68ac04593
two() { # extra lines
  printf 'name two\npackage is-number@7.0.0\npackage_sha256 %s\nfile a.js package/index.js %s\n' \
    $good $file >"$tmp/two"
  printf 'package is-number@6.0.0\npackage_sha256 %s\nfile b.js package/index.js %s\n%s' \
    $good6 $file6 "${1:-}" >>"$tmp/two"
}
two
expect_exit 0 bash "$fetch" "$tmp/two" "$tmp/two_pack"
expect_out_is "fetch: two: downloading is-number@6.0.0 with npm pack
fetch: two: installed in $tmp/two_pack"
check "file of the first package" "$file" "$(sha256sum <"$tmp/two_pack/a.js" | cut -d' ' -f1)"
check "file of the second package" "$file6" "$(sha256sum <"$tmp/two_pack/b.js" | cut -d' ' -f1)"

# Converted files: an unknown converter, and a converter that refuses its input (not a dlib net).
two "convert c.onnx nosuch a.js $file"$'\n'
expect_exit 1 bash "$fetch" "$tmp/two" "$tmp/conv"
expect_err_is "fetch: $tmp/two: no converter 'nosuch'"
two "convert c.onnx dlib2onnx a.js $file"$'\n'
expect_exit 1 bash "$fetch" "$tmp/two" "$tmp/conv"
expect_err_has "fetch: c.onnx: dlib2onnx.py failed"
expect_err_has "dlib2onnx: $tmp/conv/a.js: "
check "nothing converted" "" "$(ls "$tmp/conv" | grep onnx)"

finish
