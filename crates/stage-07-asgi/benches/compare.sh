#!/usr/bin/env bash
# Compares stage-07 with uvicorn, Granian and hypercorn on three ASGI apps
# (benches/apps.py: a raw ASGI hello, a Starlette PlainTextResponse, a
# FastAPI JSON route): one worker process each, keep-alive, wrk on
# loopback at c=1 and c=32; requests/s, p99 latency at c=32, the server's
# CPU time per request at c=32 (utime + stime of the server's processes
# over the run, from /proc, divided by the requests wrk counted), and peak
# memory (the largest VmHWM among the server's processes). Markdown
# tables, with ratios to stage-07.
#
#   bash crates/stage-07-asgi/benches/compare.sh [SECONDS] [ROUNDS]
#   APPS="hello fastapi" bash crates/stage-07-asgi/benches/compare.sh 5 2
#
# The servers, each as its users would run it for speed:
#   stage-07   --workers 1 (a master and one worker; the master is idle),
#              uvloop (its default when installed), no access log
#   uvicorn    --http httptools --loop uvloop, one process, no access log
#   granian    --interface asgi --workers 1, its defaults otherwise: one
#              runtime thread (--runtime-threads 1), the loop "auto"
#              (uvloop when installed), no access log (its default)
#   hypercorn  --workers 1 --worker-class uvloop, no access log (default)
# Each round runs every server on every app, one after the other; the
# figures are medians over the rounds (peak RSS: the largest). On a shared
# machine a burst of load elsewhere then hurts one round of every server
# rather than every round of one. wrk runs one thread (-t1), leaving the
# second core of a two-core machine to the server.
#
# Needs wrk (apt-get install wrk), and uvicorn, httptools, uvloop,
# granian, hypercorn, starlette and fastapi importable by python3 (the
# interpreter stage-07 embeds). Loopback only.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
here="$root/crates/stage-07-asgi/benches"
. "$root/crates/stage-06-event-loop/benches/measure.sh" # tree, cpu_ticks, peak_rss, median, largest
seconds=${1:-5}
rounds=${2:-2}
apps=(${APPS:-hello starlette fastapi})
servers=(stage-07 uvicorn granian hypercorn)
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
python3 -c 'import uvicorn, httptools, uvloop, granian, hypercorn, starlette, fastapi' ||
    { echo "pip install uvicorn httptools uvloop granian hypercorn starlette fastapi" >&2; exit 1; }
cd "$root"
cargo build -q --release -p stage-07
target=${CARGO_TARGET_DIR:-$root/target}
stage07="$target/release/stage-07"

start() { # server port app
    local name=$1 port=$2 app=apps:$3
    cd "$here"
    case $name in
        stage-07) exec "$stage07" --bind "127.0.0.1:$port" --workers 1 --no-access-log \
            --log-level warning "$app" ;;
        uvicorn) exec python3 -m uvicorn --host 127.0.0.1 --port "$port" --http httptools \
            --loop uvloop --no-access-log --log-level warning "$app" ;;
        granian) exec python3 -m granian --interface asgi --host 127.0.0.1 --port "$port" \
            --workers 1 --no-ws --log-level warning "$app" ;;
        hypercorn) exec python3 -m hypercorn --bind "127.0.0.1:$port" --workers 1 \
            --worker-class uvloop --log-level warning "$app" ;;
    esac
}

declare -A rps1 rps32 p99 rss cpu
port=19700
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT
for round in $(seq "$rounds"); do
    for app in "${apps[@]}"; do
        for name in "${servers[@]}"; do
            port=$((port + 1))
            url="http://127.0.0.1:$port/"
            (start "$name" "$port" "$app") >/dev/null 2>&1 &
            pid=$!
            for _ in $(seq 100); do curl -s -o /dev/null "$url" && break; sleep 0.1; done
            curl -sf -o /dev/null "$url" || { echo "$name did not start on $app" >&2; exit 1; }
            wrk -t1 -c32 -d1s "$url" >/dev/null # warm up
            one=$(wrk -t1 -c1 -d"${seconds}s" "$url" | awk '/Requests\/sec/ {print $2}')
            before=$(cpu_ticks "$pid")
            out=$(wrk -t1 -c32 -d"${seconds}s" --latency "$url")
            after=$(cpu_ticks "$pid")
            served=$(awk '/requests in/ {print $1}' <<<"$out")
            key="$app/$name"
            cpu[$key]+="$(awk -v t=$((after - before)) -v us="$tick_us" -v n="$served" 'BEGIN {printf "%.2f", t * us / n}') "
            grep -E "Socket errors|Non-2xx" <<<"$out" | sed "s|^|$key: |" >&2 || true
            rps1[$key]+="$one "
            rps32[$key]+="$(awk '/Requests\/sec/ {print $2}' <<<"$out") "
            p99[$key]+="$(awk '$1 == "99%" {print $2}' <<<"$out") "
            rss[$key]+="$(peak_rss "$pid") "
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            pid=
            echo "round $round/$rounds: $key c=1 $one rps, c=32 $(awk '/Requests\/sec/ {print $2}' <<<"$out") rps" >&2
        done
    done
done


printf '\nOne worker process each, keep-alive, wrk -t1 %ss runs, median of %s rounds.\n' "$seconds" "$rounds"
printf 'Ratios: stage-07 rps at c=32 / this server'"'"'s; this server'"'"'s CPU per request / stage-07'"'"'s.\n'
for app in "${apps[@]}"; do
    printf '\n**%s**\n\n' "$app"
    printf '| server | rps c=1 | rps c=32 | p99 c=32 | CPU/request | peak RSS | stage-07 rps ÷ this | CPU ÷ stage-07 |\n'
    printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
    base32=$(median "${rps32[$app/stage-07]}")
    base_cpu=$(median "${cpu[$app/stage-07]}")
    for name in "${servers[@]}"; do
        key="$app/$name"
        r1=$(median "${rps1[$key]}")
        r32=$(median "${rps32[$key]}")
        lat=$(median "${p99[$key]}")
        per=$(median "${cpu[$key]}")
        mem=$(largest "${rss[$key]}")
        printf '| %s | %.0f | %.0f | %.2f ms | %.1f µs | %.1f MiB | %.2f× | %.2f× |\n' "$name" "$r1" "$r32" \
            "$(awk -v u="$lat" 'BEGIN {print u / 1000}')" "$per" "$(awk -v k="$mem" 'BEGIN {print k / 1024}')" \
            "$(awk -v a="$base32" -v b="$r32" 'BEGIN {print a / b}')" \
            "$(awk -v a="$per" -v b="$base_cpu" 'BEGIN {print a / b}')"
    done
done
