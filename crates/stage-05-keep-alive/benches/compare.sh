#!/usr/bin/env bash
# Compares stage-05 with gunicorn and waitress on a hello-world app: wrk on
# loopback, one connection by default, keep-alive as each server allows.
#
#   bash crates/stage-05-keep-alive/benches/compare.sh [SECONDS] [CONNECTIONS]
#
# Needs wrk (Debian/Ubuntu: apt-get install wrk). gunicorn and waitress are
# installed from PyPI into target/bench-venv on first use. Every server gets
# the same app (tests/apps/hello.py), one process, on 127.0.0.1 only. The
# machine this runs on is shared and noisy: compare the ratios within one
# run, not figures across runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
seconds=${1:-10}
connections=${2:-1}
cd "$root"

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
venv=target/bench-venv
if [ ! -x "$venv/bin/gunicorn" ] || [ ! -x "$venv/bin/waitress-serve" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q gunicorn waitress
fi
cargo build -q --release -p stage-05

servers=(stage-05 gunicorn waitress)
declare -A rps p99
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT

# Each server runs from tests/apps, so that `hello` imports.
start() {
    local name=$1 address=$2
    cd tests/apps
    case $name in
        stage-05) exec "$root/target/release/stage-05" --bind "$address" hello:application ;;
        gunicorn) exec "$root/$venv/bin/gunicorn" --workers 1 --bind "$address" hello:application ;;
        waitress) exec "$root/$venv/bin/waitress-serve" --listen="$address" --threads=1 hello:application ;;
    esac
}

port=18700
for name in "${servers[@]}"; do
    port=$((port + 1))
    url="http://127.0.0.1:$port/"
    (start "$name" "127.0.0.1:$port") >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null "$url" && break; sleep 0.1; done
    curl -sf -o /dev/null "$url" || { echo "$name did not start" >&2; exit 1; }
    out=$(wrk -t1 -c"$connections" -d"${seconds}s" --latency "$url")
    rps[$name]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99[$name]=$(awk '$1 == "99%" {print $2}' <<<"$out")
    grep -E "Socket errors|Non-2xx" <<<"$out" | sed "s/^/$name: /" || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
done

printf '\nhello world: wrk -t1 -c%s -d%ss, one server process each\n' "$connections" "$seconds"
printf '%-10s %12s %10s %12s\n' server requests/s p99 "vs stage-05"
for name in "${servers[@]}"; do
    ratio=$(awk -v a="${rps[$name]}" -v b="${rps[stage-05]}" 'BEGIN {printf "%.2f", a / b}')
    printf '%-10s %12s %10s %11sx\n' "$name" "${rps[$name]}" "${p99[$name]}" "$ratio"
done
