#!/usr/bin/env bash
# Installs everything facesearch needs to build and test on Debian 12, from Debian's archive only.
# Idempotent: when every package is present it says so and changes nothing. Runs as root, or
# through sudo when it is available.
#   scripts/setup.sh          install what is missing
#   scripts/setup.sh --list   print the packages it installs, one a line, and change nothing
#                             (tests/cli/test_setup_covers_commands.sh checks the scripts' commands
#                             against this list)
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libvips-dev libjpeg-dev libexif-dev   # image decoding (libvips), JPEG shrink-on-load, EXIF
  libvips-tools                          # vips, vipsheader: test and benchmark images (tests/cli, bench)
  libsqlite3-dev                         # index metadata
  sqlite3                                # integrity checks in the crash tests (tests/cli)
  libdnnl-dev                            # fast convolution kernels
  libhnswlib-dev                         # graph vector index (header-only C++)
  libcmocka-dev                          # unit tests
  python3 python3-onnx python3-numpy     # scripts that build small ONNX test models
  clang libclang-rt-14-dev               # libFuzzer targets
  bc                                     # arithmetic in bench/reindex_unchanged.sh
  libmicrohttpd-dev                      # the HTTP server of `facesearch serve`
  curl                                   # the server's HTTP tests (tests/cli/test_serve_*.sh)
  chromium                               # the page's browser test (tests/web), headless
  wrk                                    # load generator of bench/serve.sh
  openmpi-bin libopenmpi-dev             # sharded libraries: mpirun, and index/search --shards
  iproute2                               # ip: the network namespaces of tests/cli/test_shards_netns.sh
)
# Node.js and npm fetch the pinned model and sample packages and run onnxruntime-node (tests,
# bench); installed only when npm is missing, as many machines have them already.
node_packages=(nodejs npm)

if [[ ${1:-} == --list ]]; then
  printf '%s\n' "${packages[@]}" "${node_packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ! command -v npm >/dev/null 2>&1; then missing+=("${node_packages[@]}"); fi

if ((${#missing[@]} == 0)); then
  echo "setup: all system packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
