#!/usr/bin/env bash
# Compares stage-07 with uvicorn (httptools, uvloop) and Granian (ASGI) on
# loopback, in the same run, one worker each, keep-alive: wrk's requests
# per second and p99 latency, and the server's CPU time per request
# (utime + stime of the process and its children over the run, divided by
# the requests served). Granian is skipped when it is not installed.
#
#   cargo build --release -p stage-07
#   python3 -m pip install uvicorn httptools uvloop starlette granian
#   crates/stage-07-asgi/bench/compare.sh [seconds] [connections]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${STAGE07:-$here/../../../target/release/stage-07}
[ -x "$bin" ] || bin=${CARGO_TARGET_DIR:-/nonexistent}/release/stage-07
seconds=${1:-5}
connections=${2:-32}
tick=$(getconf CLK_TCK)
cd "$here"

# The process's CPU ticks and its children's (a worker under a master).
cpu_ticks() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}

measure() { # name port pid
  local name=$1 port=$2 pid=$3
  wrk -t1 -c"$connections" -d1s "http://127.0.0.1:$port/" > /dev/null # warm up
  local before; before=$(cpu_ticks "$pid")
  local out; out=$(wrk -t1 -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$port/")
  local after; after=$(cpu_ticks "$pid")
  local requests; requests=$(echo "$out" | awk '/requests in/ {print $1}')
  local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local p99; p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  local cpu_us; cpu_us=$(awk -v t=$((after - before)) -v k="$tick" -v r="$requests" 'BEGIN {printf "%.1f", t / k * 1e6 / r}')
  printf '%-28s %10s rps  p99 %8s  %6s us CPU/request\n' "$name" "$rps" "$p99" "$cpu_us"
}

serve_and_measure() { # name port command...
  local name=$1 port=$2; shift 2
  "$@" > /dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
  done
  measure "$name" "$port" "$pid"
  kill -TERM "$pid"
  wait "$pid" 2> /dev/null || true
}

for app in hello starlette; do
  serve_and_measure "stage-07 $app (uvloop)" 8871 \
    "$bin" --bind 127.0.0.1:8871 --workers 0 --no-access-log --lifespan off "apps:$app"
  serve_and_measure "stage-07 $app (asyncio)" 8872 \
    "$bin" --bind 127.0.0.1:8872 --workers 0 --no-access-log --lifespan off --loop asyncio "apps:$app"
  serve_and_measure "uvicorn $app (httptools)" 8873 \
    python3 -m uvicorn --host 127.0.0.1 --port 8873 --no-access-log --lifespan off \
    --http httptools --loop uvloop "apps:$app"
  if python3 -c "import granian" 2> /dev/null; then
    serve_and_measure "granian $app (asgi)" 8874 \
      python3 -m granian --host 127.0.0.1 --port 8874 --interface asgi --workers 1 \
      --http 1 --no-ws --no-access-log --log-level warning "apps:$app"
  fi
done
