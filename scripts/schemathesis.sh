#!/usr/bin/env bash
# Contract test: schemathesis against `itau-codigo serve --demo` and the committed
# schemas/openapi.json, with every check, three times: valid credentials, none, and a
# wrong password. See RELIABILITY.md for what is configured and why.
#
#   scripts/schemathesis.sh            full run: 1000 examples per operation and run
#   scripts/schemathesis.sh --quick    CI's short run: 100 examples
#   scripts/schemathesis.sh --db URL   against another store (e.g. PostgreSQL): the demo
#                                      data is imported into it (--replace) and served
#
# Environment: ITAU_CODIGO_BIN (default: $CARGO_TARGET_DIR or target, /debug/itau-codigo,
# built if missing), SCHEMATHESIS_VENV (default: next to it), SCHEMATHESIS_SEED (default 1),
# SCHEMATHESIS_REPORTS (default: a temporary folder) for the JSON reports.
set -euo pipefail
cd "$(dirname "$0")/.."

examples=1000
db=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) examples=100 ;;
        --db) db="$2"; shift ;;
        *) echo "schemathesis.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
target="${CARGO_TARGET_DIR:-target}"
bin="${ITAU_CODIGO_BIN:-$target/debug/itau-codigo}"
venv="${SCHEMATHESIS_VENV:-$target/schemathesis-venv}"
seed="${SCHEMATHESIS_SEED:-1}"
reports="${SCHEMATHESIS_REPORTS:-$(mktemp -d)}"

if [[ ! -x "$bin" ]]; then
    cargo build --quiet -p itau-codigo-server
fi
if [[ ! -x "$venv/bin/schemathesis" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-schemathesis.txt
fi

# Throttling is off: the runs without valid credentials fail to log in on purpose, and
# schemathesis's ignored_auth check drops the credentials of the valid run; with the
# default 10 failures the address would be locked out and valid data refused with 401.
# Throttling has its own tests (tests/api/security.rs).
stdout="$(mktemp)"
if [[ -z "$db" ]]; then
    ITAU_CODIGO_LOGIN_MAX_FAILURES=0 "$bin" serve --demo --bind 127.0.0.1:0 --log error >"$stdout" &
else
    "$bin" import crates/itau-codigo-server/demo/clientes.jsonl --db "$db" --replace
    # No demo banner to read the address from: the `serving` log line has it.
    ITAU_CODIGO_USERNAME=demo ITAU_CODIGO_PASSWORD=demo ITAU_CODIGO_LOGIN_MAX_FAILURES=0 \
        "$bin" serve --db "$db" --bind 127.0.0.1:0 --log info --log-format json 2>"$stdout" &
fi
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$stdout"' EXIT
url=""
for _ in $(seq 1 100); do
    url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$stdout" | head -n 1 || true)"
    if [[ -z "$url" ]]; then
        address="$(grep -o '"address":"127\.0\.0\.1:[0-9]*"' "$stdout" | head -n 1 | cut -d'"' -f4 || true)"
        [[ -n "$address" ]] && url="http://$address"
    fi
    [[ -n "$url" ]] && break
    sleep 0.1
done
if [[ -z "$url" ]]; then
    echo "schemathesis.sh: serve --demo did not start" >&2
    exit 2
fi

run() {
    local name="$1"
    shift
    echo "== schemathesis ($name) against $url, $examples examples, seed $seed"
    PYTHONPATH=scripts SCHEMATHESIS_HOOKS=schemathesis_hooks \
        "$venv/bin/schemathesis" run schemas/openapi.json --url "$url" \
        --checks all --max-examples "$examples" --seed "$seed" --workers 1 \
        --report json --report-json-path "$reports/$name.json" "$@"
}

run valid-credentials -H 'userName: demo' -H 'password: demo'
run no-credentials
run wrong-password -H 'userName: demo' -H 'password: wrong'
echo "schemathesis: reports in $reports"
