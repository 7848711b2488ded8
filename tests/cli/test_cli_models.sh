#!/usr/bin/env bash
# `facesearch models` and pack verification: the installed default pack verifies; a copy with one
# byte changed, a missing file, or an unknown pack each fail with one line naming the file and the
# repair command (exit 2), for `models` and for commands that need the pack.
set -u
. "$(dirname "$0")/lib.sh"

real=$(data_dir)/models/default
[[ -f "$real/fr_detect.onnx" ]] || { echo "FAIL: default pack not installed in $real (run make models)" >&2; exit 1; }

# The user's own insightface packs (~/.insightface/models) are not part of this test: `models` lists
# and verifies them too, so one of theirs that does not verify would fail it.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export INSIGHTFACE_HOME=$tmp/insightface

expect_exit 0 "$FACESEARCH" models
expect_out_has "* default"
expect_out_has "ok, 3 files verified, threshold 0.34"

# A private data folder holding a copy of the pack.
export FACESEARCH_DATA_DIR=$tmp/data
mkdir -p "$tmp/data/models/default"
cp "$real"/*.onnx "$tmp/data/models/default/"
expect_exit 0 "$FACESEARCH" models

# One byte changed.
printf '\x00' | dd of="$tmp/data/models/default/fr_landmark.onnx" bs=1 seek=1000 conv=notrunc status=none
bad="$tmp/data/models/default/fr_landmark.onnx: sha256 mismatch, the file is corrupted or not the one pack 'default' expects; run 'make models' (scripts/fetch-models.sh) to repair it"
expect_exit 2 "$FACESEARCH" models
expect_err_is "facesearch: $bad"
expect_out_has "FAILED"
# The same pack given as a folder path.
expect_exit 2 "$FACESEARCH" --models "$tmp/data/models/default" models
expect_err_is "facesearch: $bad"

# A missing file.
cp "$real/fr_landmark.onnx" "$tmp/data/models/default/"
rm "$tmp/data/models/default/fr_feature.onnx"
expect_exit 2 "$FACESEARCH" models
expect_err_is "facesearch: $tmp/data/models/default/fr_feature.onnx: missing from model pack 'default'; run 'make models' (scripts/fetch-models.sh) to repair it"

# Unknown pack names and folders (with the installed pack intact, so the error is the only line).
cp "$real/fr_feature.onnx" "$tmp/data/models/default/"
expect_exit 2 "$FACESEARCH" --models nonesuch models
expect_err_is "facesearch: nonesuch: unknown model pack (known: default, dlib, fused, buffalo_l, buffalo_s, antelopev2; or give a folder path)"
expect_exit 2 "$FACESEARCH" --models "$tmp/nowhere" models
expect_err_is "facesearch: $tmp/nowhere: no such model pack folder"

# An insightface pack that is not installed.
expect_exit 2 "$FACESEARCH" --models buffalo_l models
expect_err_is "facesearch: buffalo_l: model pack not found in $tmp/data/models or $tmp/insightface/models; install it with insightface (it downloads its packs to ~/.insightface/models)"

finish
