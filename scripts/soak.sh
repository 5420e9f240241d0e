#!/usr/bin/env bash
# Soak: `itau-codigo serve` on a SQLite store of 100 000 generated accounts, under wrk
# with 128 connections for 5 minutes. Passes with zero errors (socket errors, timeouts,
# non-200 answers, store errors) and RSS growth under 10 % from the end of a 30 s
# warm-up to the end. Server on core 0, wrk on core 1, both at nice 19.
#
#   scripts/soak.sh                  the documented soak (300 s, 128 connections)
#   SOAK_SECONDS=60 scripts/soak.sh  a shorter one
#
# Environment: ITAU_CODIGO_BIN (default: release build, built if missing), SOAK_ACCOUNTS
# (100000), SOAK_CONNECTIONS (128), SOAK_SECONDS (300), SOAK_DIR (a temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."

accounts="${SOAK_ACCOUNTS:-100000}"
connections="${SOAK_CONNECTIONS:-128}"
seconds="${SOAK_SECONDS:-300}"
warmup=30
target="${CARGO_TARGET_DIR:-target}"
bin="${ITAU_CODIGO_BIN:-$target/release/itau-codigo}"
dir="${SOAK_DIR:-$(mktemp -d)}"
command -v wrk >/dev/null || { echo "soak.sh: wrk is missing (apt-get install -y wrk)" >&2; exit 2; }
if [[ ! -x "$bin" ]]; then
    cargo build --quiet --release -p itau-codigo-server
fi

echo "== generating $accounts accounts and importing them into $dir/soak.db"
cargo xtask gen "$accounts" --agencia 4242 --out "$dir/accounts.jsonl"
cargo xtask gen "$accounts" --agencia 4242 --codes-only --out "$dir/codes.txt"
rm -f "$dir/soak.db" "$dir/soak.db-wal" "$dir/soak.db-shm"
"$bin" import "$dir/accounts.jsonl" --db "sqlite:$dir/soak.db"

export ITAU_CODIGO_USERNAME=soak ITAU_CODIGO_PASSWORD=soak-password-longa SOAK_CODES="$dir/codes.txt"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
# Access logs on, as in production, into /dev/null (5 minutes of them is gigabytes).
nice -n 19 taskset -c 0 "$bin" serve --db "sqlite:$dir/soak.db" --bind "127.0.0.1:$port" \
    --workers 1 --log-format json --log info 2>/dev/null >/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -sf "$url/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -sf "$url/readyz" >/dev/null || { echo "soak.sh: serve did not start" >&2; exit 2; }

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$server/status"; }
echo "== soak: $connections connections for $seconds s against $url ($accounts accounts)"
rss_start="$(rss_kib)"
(
    elapsed=0
    while kill -0 "$server" 2>/dev/null && ((elapsed <= seconds + 5)); do
        echo "$elapsed $(rss_kib)"
        sleep 10
        elapsed=$((elapsed + 10))
    done
) >"$dir/rss.txt" &
sampler=$!
nice -n 19 taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --timeout 10s --latency \
    -s scripts/soak.lua "$url/apiaccess/rest/ccmessaging/v1/itau/codigo" | tee "$dir/wrk.txt"
kill "$sampler" 2>/dev/null || true
rss_end="$(rss_kib)"
metrics="$(curl -sS "$url/metrics")"
kill "$server"
wait "$server" || true

rss_warm="$(awk -v w="$warmup" '$1 >= w { print $2; exit }' "$dir/rss.txt")"
errors="$(grep -E 'Socket errors|Non-2xx' "$dir/wrk.txt" || true)"
store_errors="$(echo "$metrics" | awk '/^itau_codigo_store_errors_total/ { print $2 }')"
non_200="$(echo "$metrics" | grep '^itau_codigo_http_requests_total' | grep -v 'status="200"' | grep -v '/metrics' || true)"
growth="$(awk -v a="$rss_warm" -v b="$rss_end" 'BEGIN { printf "%.1f", (b - a) * 100 / a }')"
echo "== RSS KiB: start $rss_start, after ${warmup}s $rss_warm, end $rss_end (growth since warm-up $growth %)"
echo "== RSS samples (seconds KiB): $(tr '\n' ' ' <"$dir/rss.txt")"
echo "== store errors: $store_errors; non-200 answers counted by the service: ${non_200:-none}"
echo "== wrk errors: ${errors:-none}"
status=0
[[ -z "$errors" && "$store_errors" == "0" && -z "$non_200" ]] || { echo "soak: FAILED (errors)"; status=1; }
awk -v g="$growth" 'BEGIN { exit !(g < 10) }' || { echo "soak: FAILED (RSS grew $growth %)"; status=1; }
((status == 0)) && echo "soak: passed"
exit "$status"
