#!/usr/bin/env bash
# Installs playwright-core (pinned in tests/web/package-lock.json; the tarball's sha256 below)
# into tests/web/node_modules. It drives Debian's chromium (scripts/setup.sh) in the server page's
# browser test (tests/web); it is never used at run time and downloads no browser of its own.
# playwright-core has no dependencies: the verified tarball is extracted in place.
set -euo pipefail
version=1.56.1
want=fa648e5442796d4160c68dcfc3914ed5224f147852264993e6376e29f0228238
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/web" && pwd)
dest=$dir/node_modules/playwright-core
if [[ -f "$dest/package.json" ]] &&
   [[ "$(node -p "require('$dest/package.json').version" 2>/dev/null)" == "$version" ]]; then
  echo "playwright: playwright-core $version present"
  exit 0
fi
echo "playwright: installing playwright-core $version into $dir/node_modules"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "playwright-core@$version" --silent >/dev/null 2>npm.log) ||
  { cat "$tmp/npm.log" >&2; echo "playwright: npm pack failed" >&2; exit 1; }
got=$(sha256sum "$tmp"/playwright-core-*.tgz | cut -d' ' -f1)
if [[ "$got" != "$want" ]]; then
  echo "playwright: tarball sha256 is $got, expected $want; refusing to use it" >&2
  exit 1
fi
mkdir -p "$tmp/x" "$dir/node_modules"
tar -xzf "$tmp"/playwright-core-*.tgz -C "$tmp/x"
rm -rf "$dest"
mv "$tmp/x/package" "$dest"
node -e "require('$dest')"
