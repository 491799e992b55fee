#!/usr/bin/env bash
# Compares stage-06 with bjoern, Granian and gunicorn on a hello-world app:
# one worker process each, keep-alive, wrk on loopback at c=1 and c=32;
# requests/s, p99 latency and peak memory (the largest VmHWM of the
# server's processes), with ratios to stage-06.
#
#   bash crates/stage-06-event-loop/benches/compare.sh [SECONDS]
#
# Needs wrk (apt-get install wrk) and, for bjoern, libev (apt-get install
# libev-dev) to build it. The Python servers are installed from PyPI into
# target/bench6-venv on first use. Loopback only. The machine this runs on
# is shared and noisy: read the ratios within one run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
seconds=${1:-10}
cd "$root"

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
venv=target/bench6-venv
if [ ! -x "$venv/bin/granian" ] || [ ! -x "$venv/bin/gunicorn" ] || ! "$venv/bin/python" -c 'import bjoern' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q bjoern granian gunicorn
fi
cargo build -q --release -p stage-06

servers=(stage-06 bjoern granian gunicorn)
pid=

start() {
    local name=$1 port=$2
    cd tests/apps
    case $name in
        stage-06) exec "$root/target/release/stage-06" --bind "127.0.0.1:$port" --workers 1 --no-access-log hello:application ;;
        bjoern) exec "$root/$venv/bin/python" -c "import bjoern, hello; bjoern.run(hello.application, '127.0.0.1', $port)" ;;
        granian) exec "$root/$venv/bin/granian" --interface wsgi --host 127.0.0.1 --port "$port" --workers 1 --no-ws hello:application ;;
        gunicorn) exec "$root/$venv/bin/gunicorn" --workers 1 --bind "127.0.0.1:$port" hello:application ;;
    esac
}

# The largest peak RSS, in KiB, among a process and its children.
peak_rss() {
    local pids="$1 $(pgrep -P "$1" | tr '\n' ' ')" max=0
    for p in $pids; do
        kb=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        [ "${kb:-0}" -gt "$max" ] && max=$kb
    done
    echo "$max"
}

declare -A rps1 rps32 p99 rss
port=18900
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT
for name in "${servers[@]}"; do
    port=$((port + 1))
    url="http://127.0.0.1:$port/"
    (start "$name" "$port") >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null "$url" && break; sleep 0.1; done
    curl -sf -o /dev/null "$url" || { echo "$name did not start" >&2; exit 1; }
    rps1[$name]=$(wrk -t1 -c1 -d"${seconds}s" "$url" | awk '/Requests\/sec/ {print $2}')
    out=$(wrk -t2 -c32 -d"${seconds}s" --latency "$url")
    rps32[$name]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99[$name]=$(awk '$1 == "99%" {print $2}' <<<"$out")
    grep -E "Socket errors|Non-2xx" <<<"$out" | sed "s/^/$name: /" || true
    rss[$name]=$(peak_rss "$pid")
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
done

printf '\nhello world, one worker process each, wrk %ss runs\n' "$seconds"
printf '%-9s %11s %11s %9s %10s %14s %12s\n' server "rps c=1" "rps c=32" "p99 c=32" "peak RSS" "c=32 vs s-06" "RSS vs s-06"
for name in "${servers[@]}"; do
    ratio=$(awk -v a="${rps32[$name]}" -v b="${rps32[stage-06]}" 'BEGIN {printf "%.2f", a / b}')
    mem=$(awk -v a="${rss[$name]}" -v b="${rss[stage-06]}" 'BEGIN {printf "%+.1f MiB", (a - b) / 1024}')
    printf '%-9s %11s %11s %9s %7s MiB %13sx %12s\n' "$name" "${rps1[$name]}" "${rps32[$name]}" "${p99[$name]}" \
        "$(awk -v k="${rss[$name]}" 'BEGIN {printf "%.1f", k / 1024}')" "$ratio" "$mem"
done
