#!/usr/bin/env bash
# The command-line skeleton: help and version, every command's --help, exit codes and the one-line
# error format of SPEC.md §2 ("facesearch: ..." on stderr, exit 2).
set -u
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$FACESEARCH" --help
expect_out_has "usage: facesearch COMMAND"
expect_exit 0 "$FACESEARCH" --version
expect_out_is "facesearch 0.1.0"

# OpenMP waits passively (no spinning) unless the user chose a policy (main.c); libgomp shows
# the spin count it ended up with: 0 when passive, 300000 by default, 30000000000 when active
expect_exit 0 env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose "$FACESEARCH" --version
expect_err_has "GOMP_SPINCOUNT = '0'"
expect_out_is "facesearch 0.1.0"
expect_exit 0 env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=active OMP_DISPLAY_ENV=verbose "$FACESEARCH" --version
expect_err_has "GOMP_SPINCOUNT = '30000000000'"

for cmd in search index detect compare remove stats models; do
  expect_exit 0 "$FACESEARCH" "$cmd" --help
  expect_out_has "usage: facesearch $cmd"
done

expect_exit 2 "$FACESEARCH"
expect_err_has "usage: facesearch COMMAND"
expect_exit 2 "$FACESEARCH" frobnicate
expect_err_is "facesearch: frobnicate: unknown command (see facesearch --help)"
expect_exit 2 "$FACESEARCH" --bogus
expect_err_is "facesearch: --bogus: unknown option (see facesearch --help)"
expect_exit 2 "$FACESEARCH" --threads 0 models
expect_err_is "facesearch: --threads: '0' is not a thread count (1 to 1024)"
expect_exit 2 "$FACESEARCH" models --models
expect_err_is "facesearch: --models needs a pack name or folder"
expect_exit 2 "$FACESEARCH" --precision fp64 models
expect_err_is "facesearch: --precision: precision 'fp64' is not one of auto, fp32, bf16"
expect_exit 2 "$FACESEARCH" models --precision
expect_err_is "facesearch: --precision needs auto, fp32 or bf16"
FACESEARCH_PRECISION=half expect_exit 2 "$FACESEARCH" models
expect_err_is "facesearch: FACESEARCH_PRECISION: precision 'half' is not one of auto, fp32, bf16"
FACESEARCH_PRECISION=fp32 expect_exit 0 "$FACESEARCH" --precision bf16 models
expect_exit 2 "$FACESEARCH" models extra
expect_err_is "facesearch: models: takes no arguments"

finish
