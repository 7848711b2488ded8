#!/usr/bin/env bash
# Installs onnxruntime-node (pinned in tests/ort/package-lock.json) into tests/ort/node_modules.
# It is the oracle for the runtime's parity tests and the peer in bench/, never used at run time.
# Install scripts are skipped: the npm package already ships the Linux CPU binary.
set -euo pipefail
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/ort" && pwd)
if [[ -f "$dir/node_modules/onnxruntime-node/package.json" ]] &&
   node -e "require('$dir/node_modules/onnxruntime-node')" 2>/dev/null; then
  echo "oracle: onnxruntime-node present"
  exit 0
fi
echo "oracle: installing onnxruntime-node into $dir/node_modules"
(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --silent)
node -e "require('$dir/node_modules/onnxruntime-node')"
