#!/usr/bin/env bash
# Runs Schemathesis (every phase, stateful included, every check) against beacon-mock with
# both generated OpenAPI documents. By hand, not in CI: it installs Schemathesis into a venv,
# starts the mock on free loopback ports with limits raised, and bounds each run's time.
#
#   mock-server/scripts/schemathesis.sh            # 60 s per API
#   ST_MAX_TIME=300 mock-server/scripts/schemathesis.sh
#
# Variables: ST_VENV (default /tmp/beacon-schemathesis), ST_VERSION (4.32.5), ST_MAX_TIME
# (seconds per API, 60), ST_OUT (reports, default a temp dir), MOCK_BIN (default: the debug
# binary, built first).
#
# Last run (4.32.5, 60 s per API): Status 4/4 operations, no failure, no warning; Panel 7/7
# operations, two ST202 "schema-valid request rejected": a console command to a stopped server
# and a duplicate database name, both answered 400 by our rules panel.command_stopped_400 and
# panel.database_duplicate_400 (docs/contract.md), i.e. state conflicts, not mock bugs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${ST_VENV:-/tmp/beacon-schemathesis}"
version="${ST_VERSION:-4.32.5}"
max_time="${ST_MAX_TIME:-60}"
out="${ST_OUT:-$(mktemp -d /tmp/beacon-schemathesis-out.XXXXXX)}"
mkdir -p "$out"

if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

if [[ -z "${MOCK_BIN:-}" ]]; then
    (cd "$root" && CARGO_INCREMENTAL=0 cargo build --quiet -p beacon-mock)
    MOCK_BIN="$root/target/debug/beacon-mock"
fi

# Free loopback ports, limits high enough that rate limiting does not dominate the run.
banner="$out/banner.txt"
"$MOCK_BIN" serve --status-addr 127.0.0.1:0 --panel-addr 127.0.0.1:0 \
    --rate-limit 100000 >"$banner" 2>"$out/mock.log" &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q '^Admin API' "$banner" 2>/dev/null && break
    sleep 0.1
done
grep -q '^Admin API' "$banner" || { echo "beacon-mock did not start; see $out/mock.log" >&2; exit 2; }
last_word() { grep -m1 "$1" "$banner" | awk '{print $NF}'; }
status_url="$(last_word '^Beacon Status API')"
panel_url="$(last_word '^Beacon Panel API')"
status_token="$(last_word '^  token  ')"
panel_token="$(last_word '^  token (acct_1)')"

# The fixtures' own path parameters: page acme-cloud (workspace ws_acme), server 123 (acct_1).
config="$out/schemathesis.toml"
cat >"$config" <<'TOML'
[parameters]
"path.slug" = "acme-cloud"
"path.serverId" = "123"
TOML

st_run() { # api document url token
    echo "== $1: $2 against $3 (max ${max_time}s)"
    "$venv/bin/st" --no-color --config-file "$config" run "$root/$2" \
        --url "$3" \
        --header "Authorization: Bearer $4" \
        --phases examples,coverage,fuzzing,stateful \
        --checks all \
        --max-time "$max_time" \
        --workers 1 \
        --report junit --report-dir "$out/$1" \
        2>&1 | tee "$out/$1.txt"
}

code=0
st_run status spec/openapi/status.json "$status_url" "$status_token" || code=$?
st_run panel spec/openapi/panel.json "$panel_url" "$panel_token" || code=$?
echo "reports and logs: $out"
exit "$code"
