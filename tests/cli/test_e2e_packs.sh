#!/usr/bin/env bash
# End to end with the dlib and fused packs (issue 13), on the full-size sample photos: an index
# built with the fused pack (640 floats a face) finds sample1's largest face in sample4 and sample2
# exactly as --no-index does, names its pack in `stats`, and is refused by the other packs (an
# index is tied to its pack) but taken by every command that names no pack; `compare` with each
# pack prints that pack's threshold; `models` verifies both packs.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

lib=$tmp/lib
mkdir "$lib"
for i in 1 2 3 4 5 6; do ln -s "$samples/sample$i.jpg" "$lib/s$i.jpg"; done
q=$samples/sample1.jpg
# The similarities below are fp32's, to the last digit; bf16 is held to fp32 by test_precision.
export FACESEARCH_PRECISION=fp32
rows() { sed -E 's/^([^ ]+)  (face [0-9]) .*\]  (.*)$/\1 \2 \3/' <<<"$out" | paste -sd'|'; }

expect_exit 0 "$FACESEARCH" --models fused index "$lib"
expect_err_has "6 photos: 6 new, 0 changed, 0 unchanged, 0 moved, 0 removed, 0 failed; 22 faces"
expect_exit 0 "$FACESEARCH" --models fused search -q "$q"
indexed=$(rows)
check "fused: the query face, then sample4 and sample2" \
  "1.0000 face 2 $samples/sample1.jpg|0.8442 face 2 $samples/sample4.jpg|0.8256 face 3 $samples/sample2.jpg" \
  "$indexed"
expect_exit 0 "$FACESEARCH" --models fused search --no-index -q "$q" -t "$lib"
check "indexed and on the fly agree" "$indexed" "$(rows | sed "s|$lib/s\([0-9]\)\.jpg|$samples/sample\1.jpg|g")"

expect_exit 0 "$FACESEARCH" --models fused stats
expect_out_has "pack     fused"
# without --models the tool takes the index's own pack: search, index again, stats, models
expect_exit 0 "$FACESEARCH" search -q "$q"
check "no --models: the index's pack" "$indexed" "$(rows)"
expect_exit 0 "$FACESEARCH" index "$lib"
expect_err_has "6 photos: 0 new, 0 changed, 6 unchanged"
expect_exit 0 "$FACESEARCH" models
expect_out_has "* fused "
FACESEARCH_DB=$tmp/none expect_exit 0 "$FACESEARCH" models   # no index there: the default pack
expect_out_has "* default "
for other in default dlib; do
  expect_exit 2 "$FACESEARCH" --models $other search -q "$q"
  expect_err_is "facesearch: $FACESEARCH_DB: built with model pack 'fused'; use --models fused or another --db"
done

expect_exit 1 "$FACESEARCH" --models dlib compare "$q" "$samples/sample3.jpg"
contains "dlib threshold" "$out" "threshold 0.91  different people"
expect_exit 1 "$FACESEARCH" --models fused compare "$q" "$samples/sample3.jpg"
contains "fused threshold" "$out" "threshold 0.80  different people"

expect_exit 0 "$FACESEARCH" models
expect_out_has "dlib "
expect_out_has "ok, 4 files verified, threshold 0.91"
expect_out_has "ok, 5 files verified, threshold 0.80"
finish
