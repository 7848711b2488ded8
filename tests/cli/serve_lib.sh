# serve_lib.sh — helpers for the server's HTTP tests (test_serve_*.sh): start `facesearch serve`
# on a free port of 127.0.0.1 with its own index, send requests with curl, look into JSON answers
# with python3. Source after lib.sh and e2e_lib.sh; the server is stopped when the test exits.
command -v curl >/dev/null || { echo "FAIL: curl is needed (scripts/setup.sh)" >&2; exit 1; }

server_pid=""
server_log=$tmp/server.log
base=""
serve_cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  e2e_cleanup
}
trap serve_cleanup EXIT

# start_server ARGS...: `facesearch serve --port 0 ARGS...` in the background; sets $base.
start_server() {
  : >"$server_log"
  "$FACESEARCH" serve --port 0 "$@" 2>"$server_log" &
  server_pid=$!
  local i
  for i in $(seq 1 200); do
    base=$(grep -oE 'http://[^ ]+/' "$server_log" | head -1)
    [[ -n "$base" ]] && { base=${base%/}; return 0; }
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: the server did not start: $(cat "$server_log")" >&2
  exit 1
}

# stop_server: SIGTERM, then the exit status in $server_status; the log must hold no sanitizer
# report (ASan, LeakSanitizer, UBSan in the sanitizer build).
stop_server() {
  kill "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_status=$?
  server_pid=""
  check "server log: no sanitizer report" "" "$(grep -E 'Sanitizer|runtime error' "$server_log")"
}

# req METHOD PATH [CURL ARGS...]: sets $code (HTTP status), $body (the answer), $ctype.
req() {
  local method=$1 path=$2; shift 2
  local meta
  meta=$(curl -s --path-as-is -X "$method" -o "$tmp/body" -w '%{http_code} %{content_type}' \
         "$@" "$base$path")
  code=${meta%% *}
  ctype=${meta#* }
  body=$(cat "$tmp/body" 2>/dev/null | tr -d '\0')
}

# jget EXPR: a Python expression over d, the JSON of $body.
jget() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1" <<<"$body" 2>&1; }

# expect_status WHAT CODE: the last request's status.
expect_status() { check "$1: HTTP status (body $body)" "$2" "$code"; }

# expect_error WHAT CODE: an error answer: that status and {"error": ..., "code": CODE}.
expect_error() {
  expect_status "$1" "$2"
  check "$1: JSON error code" "$2" "$(jget 'd["code"]')"
  check "$1: has a message" "True" "$(jget 'len(d["error"]) > 0')"
}

# wait_index_done: polls GET /api/v1/index until the run is not running; its last answer in $body.
wait_index_done() {
  local i
  for i in $(seq 1 600); do
    req GET /api/v1/index
    [[ "$(jget 'd["state"]')" != running ]] && return 0
    sleep 0.1
  done
}
