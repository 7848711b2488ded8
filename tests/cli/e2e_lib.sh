# e2e_lib.sh — helpers shared by the end-to-end tests (test_e2e_*.sh) that run the real pipeline
# on the sample photos: a private temp folder, small copies of the samples made with vips, JPEGs
# with a given EXIF orientation, and JSON checks written in python3. Source after lib.sh.

e2e_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
samples=$(data_dir)/samples
for i in 1 2 3 4 5 6; do
  [[ -f "$samples/sample$i.jpg" ]] || { echo "FAIL: $samples/sample$i.jpg missing (run make models)" >&2; exit 1; }
done
command -v vips >/dev/null || { echo "FAIL: the vips command is needed (scripts/setup.sh)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed (scripts/setup.sh)" >&2; exit 1; }

tmp=$(mktemp -d)
e2e_cleanup() { chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"; }
trap e2e_cleanup EXIT
# Our own index, never the user's.
export FACESEARCH_DB=$tmp/db

# small_copy N WIDTH OUT: sampleN scaled to WIDTH pixels wide, without metadata.
small_copy() { vips thumbnail "$samples/sample$1.jpg" "$3[strip]" "$2"; }

# shards_library DIR: the library the sharded tests index: the six samples in DIR/a, and in DIR/b
# a duplicate of sample 1 (copied, not embedded), two small copies and a mirrored sample 4
shards_library() {
  mkdir -p "$1/a" "$1/b"
  for i in 1 2 3 4 5 6; do cp "$samples/sample$i.jpg" "$1/a/"; done
  cp "$samples/sample1.jpg" "$1/b/copy1.jpg"
  small_copy 2 900 "$1/b/small2.jpg"
  small_copy 3 700 "$1/b/small3.jpg"
  vips flip "$samples/sample4.jpg" "$1/b/flip4.jpg" horizontal
}

# with_orientation IN OUT N: OUT is the JPEG IN with an EXIF APP1 segment right after SOI whose
# IFD0 holds only the orientation tag (0x0112, SHORT) = N (1..8). IN must have no EXIF of its own.
with_orientation() {
  { head -c 2 "$1"
    printf '\xff\xe1\x00\x22Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00'
    printf "\\x0$3"
    printf '\x00\x00\x00\x00\x00\x00'
    tail -c +3 "$1"; } >"$2"
}

# jcheck WHAT CHECK ARGS...: runs e2e_json.py CHECK on $out (the last command's stdout); the
# check passes when it prints "ok".
jcheck() {
  local what=$1; shift
  check "$what" "ok" "$(python3 "$e2e_dir/e2e_json.py" "$@" <<<"$out" 2>&1)"
}
