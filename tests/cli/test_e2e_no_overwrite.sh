#!/usr/bin/env bash
# End to end, SPEC.md §5 / issue 11 item 1: facesearch never writes over a file it did not create
# in the run, nor over an input, and its output names are unique. detect --draw naming an input or
# an existing file is refused (exit 2, nothing written); --draw into the inputs' own folder, or
# into a folder that already holds a drawing, adds a counter; two inputs with one base name give
# two drawings (the folder's name in front); search -o gives one crop per match for two
# same-named photos in different folders, and a second run adds new crops beside the first ones.
# The originals stay byte-identical (cmp) throughout.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e_lib.sh"

cd "$tmp"
mkdir a b keep
small_copy 1 480 a/x.jpg
small_copy 4 480 a/y.jpg
cp a/x.jpg b/x.jpg                # same base name, same content, another folder
cp a/x.jpg b/IMG_1.jpg
small_copy 4 480 a/IMG_1.jpg      # same base name, different content
for f in a/x.jpg a/y.jpg b/x.jpg b/IMG_1.jpg a/IMG_1.jpg; do cp "$f" "keep/${f//\//_}"; done
unchanged() { # all originals byte-identical to the kept copies
  local f bad=""
  for f in a/x.jpg a/y.jpg b/x.jpg b/IMG_1.jpg a/IMG_1.jpg; do
    cmp -s "$f" "keep/${f//\//_}" || bad="$bad $f"
  done
  echo "${bad:-same}"
}

# ---- detect --draw naming an input or an existing file: refused, nothing read or written -------
expect_exit 2 "$FACESEARCH" detect a/x.jpg --draw a/x.jpg
expect_err_is "facesearch: a/x.jpg: is an input image; --draw never writes over an input"
expect_out_is ""
expect_exit 2 "$FACESEARCH" detect a/x.jpg a/y.jpg --draw ./a/y.jpg
expect_err_is "facesearch: ./a/y.jpg: is an input image; --draw never writes over an input"
expect_exit 2 "$FACESEARCH" detect a/x.jpg --draw b/x.jpg
expect_err_is "facesearch: b/x.jpg: already exists; --draw never writes over a file (name a new file or a folder)"
ln -s nowhere dangling.png
expect_exit 2 "$FACESEARCH" detect a/x.jpg --draw dangling.png
expect_err_is "facesearch: dangling.png: already exists; --draw never writes over a file (name a new file or a folder)"
check "dangling link untouched" "nowhere" "$(readlink dangling.png)"
echo text >notes.txt
expect_exit 2 "$FACESEARCH" detect a/x.jpg a/y.jpg --draw notes.txt
expect_err_is "facesearch: notes.txt: not a folder; --draw with several images needs a folder"
check "notes.txt untouched" "text" "$(cat notes.txt)"
check "originals after refusals" "same" "$(unchanged)"

# ---- --draw into the inputs' own folder: new names with a counter, originals untouched --------
expect_exit 0 "$FACESEARCH" detect a/x.jpg a/y.jpg --draw a
expect_err_is "a/x.jpg: drawn as a/x-2.jpg
a/y.jpg: drawn as a/y-2.jpg"
check "drawings beside the originals" "IMG_1.jpg x-2.jpg x.jpg y-2.jpg y.jpg" "$(ls a | paste -sd' ')"
check "originals after --draw a" "same" "$(unchanged)"
rm a/x-2.jpg a/y-2.jpg
# a single image into its own folder
expect_exit 0 "$FACESEARCH" detect a/x.jpg --draw a/
expect_err_is "a/x.jpg: drawn as a/x-2.jpg"
rm a/x-2.jpg

# ---- two inputs with one base name: two drawings -----------------------------------------------
expect_exit 0 "$FACESEARCH" detect a/IMG_1.jpg b/IMG_1.jpg a/x.jpg --draw out
expect_err_is "a/IMG_1.jpg: drawn as out/a_IMG_1.jpg
b/IMG_1.jpg: drawn as out/b_IMG_1.jpg"
check "one drawing per input" "a_IMG_1.jpg b_IMG_1.jpg x.jpg" "$(ls out | paste -sd' ')"
check "the drawings differ" "differ" "$(cmp -s out/a_IMG_1.jpg out/b_IMG_1.jpg && echo same || echo differ)"
# the same file named twice is one image, not a clash
expect_exit 0 "$FACESEARCH" detect a/y.jpg ./a/y.jpg --draw out2
expect_err_is "./a/y.jpg: drawn as out2/y-2.jpg"
# a second run never replaces the first run's drawings
cp out/x.jpg keep/out_x.jpg
expect_exit 0 "$FACESEARCH" detect a/x.jpg --draw out
expect_err_is "a/x.jpg: drawn as out/x-2.jpg"
check "first drawing kept" "same" "$(cmp -s out/x.jpg keep/out_x.jpg && echo same || echo changed)"
# a format we cannot write (GIF): the drawing is a PNG
vips copy a/y.jpg a/y.gif
expect_exit 0 "$FACESEARCH" detect a/y.gif --draw out3/
check "GIF drawn as PNG" "png" "$(vipsheader -f vips-loader out3/y.png | sed 's/load.*//')"
rm a/y.gif
check "originals after --draw out" "same" "$(unchanged)"

# ---- search -o: two same-named photos in different folders give two crops ----------------------
# the person is face 2 of sample1 (a/x, b/x, b/IMG_1) and of sample4 (a/y, a/IMG_1)
expect_exit 0 "$FACESEARCH" search --no-index -q a/x.jpg --face 2 -t a -t b --csv -o crops
check "matches" "5" "$(tail -n +2 <<<"$out" | wc -l)"
check "one crop per match" "5" "$(ls crops | wc -l)"
check "crop names" "a_IMG_1 a_x b_IMG_1 b_x y" \
  "$(ls crops | sed -nE 's/^[01]\.[0-9]{4}_(.*)_face2\.jpg$/\1/p' | sort | paste -sd' ')"
# again into the same folder: five new crops, the first five kept
expect_exit 0 "$FACESEARCH" search --no-index -q a/x.jpg --face 2 -t a -t b --csv -o crops
check "second run adds crops" "10" "$(ls crops | wc -l)"
check "counted names" "5" "$(ls crops | grep -cE '_face2-2\.jpg$')"
# -o into a photo folder: the crops never replace a photo
expect_exit 0 "$FACESEARCH" search --no-index -q a/x.jpg --face 2 -t a --top 1 -o b
check "crop written beside the photos" "3" "$(ls b | wc -l)"
check "originals after search -o" "same" "$(unchanged)"

finish
