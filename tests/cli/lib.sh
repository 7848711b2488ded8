# lib.sh — helpers for the command-line tests: run a command, check its exit status, stdout and
# stderr exactly. Each failed check prints what was expected and what came, and the test fails.
# The caller sets FACESEARCH (path of the binary; ctest passes it).
: "${FACESEARCH:?FACESEARCH must name the facesearch binary}"
failures=0
checks=0
out=""
err=""
status=0

# expect_exit STATUS CMD...: runs CMD, keeps its stdout/stderr in $out/$err.
expect_exit() {
  local want=$1; shift
  # not named tmp: the test's EXIT trap removes $tmp, and a signal arriving in here would make
  # it remove this folder instead of the test's
  local captured; captured=$(mktemp -d)
  "$@" >"$captured/out" 2>"$captured/err"
  status=$?
  out=$(cat "$captured/out"); err=$(without_progress <"$captured/err")
  rm -rf "$captured"
  check "[$*] exit status" "$want" "$status"
}

# stderr without the plain progress lines an index run prints every few seconds when stderr is not
# a terminal ("indexed N/M photos, ..."): how many appear depends on the machine's speed.
without_progress() { grep -vE '^indexed [0-9]+/[0-9]+ photos, ' || true; }

check() { # what want got
  checks=$((checks + 1))
  if [[ "$2" != "$3" ]]; then
    failures=$((failures + 1))
    printf 'FAIL %s\n  want: %s\n  got:  %s\n' "$1" "$2" "$3" >&2
  fi
}

contains() { # what haystack needle
  checks=$((checks + 1))
  if [[ "$2" != *"$3"* ]]; then
    failures=$((failures + 1))
    printf 'FAIL %s\n  want it to contain: %s\n  got: %s\n' "$1" "$3" "$2" >&2
  fi
}

expect_out_is() { check "stdout" "$1" "$out"; }
expect_err_is() { check "stderr" "$1" "$err"; }
expect_out_has() { contains "stdout" "$out" "$1"; }
expect_err_has() { contains "stderr" "$err" "$1"; }

# The data folder, as the library computes it.
data_dir() {
  if [[ -n "${FACESEARCH_DATA_DIR:-}" ]]; then echo "$FACESEARCH_DATA_DIR"
  elif [[ -n "${XDG_DATA_HOME:-}" ]]; then echo "$XDG_DATA_HOME/facesearch"
  else echo "$HOME/.local/share/facesearch"; fi
}

finish() {
  echo "$((checks - failures)) passed, $failures failed"
  [[ $failures -eq 0 ]]
}
