#!/usr/bin/env bash
# Compares stage-06 with bjoern, Granian and gunicorn on one app (hello world
# unless APP says otherwise, see below): one worker process each,
# keep-alive, wrk on loopback at c=1 and c=32;
# requests/s, p99 latency, the server's CPU time per request at c=32, and
# peak memory (the largest VmHWM of the server's processes), with ratios
# to stage-06.
#
#   bash crates/stage-06-event-loop/benches/compare.sh [SECONDS] [ROUNDS]
#   APP=flask_app:app bash crates/stage-06-event-loop/benches/compare.sh
#   BASELINE=/path/to/older/stage-06 bash crates/stage-06-event-loop/benches/compare.sh
#
# APP names the app in tests/apps as module:callable (hello:application by
# default; flask_app:app serves Flask's "/", and installs Flask in the venv).
# BASELINE names another stage-06 binary (an earlier commit's, built with
# its own CARGO_TARGET_DIR), run as a fifth server: a change is then
# measured against the code before it, in the same rounds.
#
# Needs wrk (apt-get install wrk) and, for bjoern, libev (apt-get install
# libev-dev) to build it. The Python servers are installed from PyPI into
# target/bench6-venv on first use. Loopback only. The machine this runs on
# is shared and noisy: read the ratios within one run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
. "$root/crates/stage-06-event-loop/benches/measure.sh" # tree, cpu_ticks, peak_rss, median, largest
seconds=${1:-10}
rounds=${2:-3}
app=${APP:-hello:application}
module=${app%%:*}
callable=${app#*:}
cd "$root"

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
venv=target/bench6-venv
# The other servers run from a virtualenv of the same python3 that stage-06
# embeds, and it sees the same site-packages: their .pth files run at
# start-up in every one of the four (on some machines they import a good
# deal), so memory is compared like for like.
if ! grep -qs "include-system-site-packages = true" "$venv/pyvenv.cfg" ||
    [ ! -x "$venv/bin/granian" ] || [ ! -x "$venv/bin/gunicorn" ] ||
    ! "$venv/bin/python" -c 'import bjoern' 2>/dev/null; then
    python3 -m venv --clear --system-site-packages "$venv"
    "$venv/bin/pip" install -q bjoern granian gunicorn
fi
if [ "$module" = flask_app ] && ! "$venv/bin/python" -c 'import flask' 2>/dev/null; then
    "$venv/bin/pip" install -q -r tests/requirements.txt
fi
cargo build -q --release -p stage-06

servers=(stage-06 bjoern granian gunicorn)
baseline=${BASELINE:-}
[ -z "$baseline" ] || servers+=(baseline)
pid=

start() {
    local name=$1 port=$2
    cd tests/apps
    case $name in
        stage-06) exec "$root/target/release/stage-06" --bind "127.0.0.1:$port" --workers 1 --no-access-log "$app" ;;
        baseline) exec "$baseline" --bind "127.0.0.1:$port" --workers 1 --no-access-log "$app" ;;
        bjoern) exec "$root/$venv/bin/python" -c "import bjoern, $module; bjoern.run($module.$callable, '127.0.0.1', $port)" ;;
        granian) exec "$root/$venv/bin/granian" --interface wsgi --host 127.0.0.1 --port "$port" --workers 1 --no-ws "$app" ;;
        gunicorn) exec "$root/$venv/bin/gunicorn" --workers 1 --bind "127.0.0.1:$port" "$app" ;;
    esac
}

# Each round runs every server once, one after the other; the figures are
# the medians over the rounds. Interleaving matters on a shared machine:
# a burst of load elsewhere then hurts one round of every server, rather
# than every round of one server.
declare -A rps1 rps32 p99 rss cpu
port=18900
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT
for round in $(seq "$rounds"); do
    for name in "${servers[@]}"; do
        port=$((port + 1))
        url="http://127.0.0.1:$port/"
        (start "$name" "$port") >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 100); do curl -s -o /dev/null "$url" && break; sleep 0.1; done
        curl -sf -o /dev/null "$url" || { echo "$name did not start" >&2; exit 1; }
        one=$(wrk -t1 -c1 -d"${seconds}s" "$url" | awk '/Requests\/sec/ {print $2}')
        before=$(cpu_ticks "$pid")
        out=$(wrk -t2 -c32 -d"${seconds}s" --latency "$url")
        after=$(cpu_ticks "$pid")
        served=$(awk '/requests in/ {print $1}' <<<"$out")
        cpu[$name]+="$(awk -v t=$((after - before)) -v us="$tick_us" -v n="$served" 'BEGIN {printf "%.2f", t * us / n}') "
        grep -E "Socket errors|Non-2xx" <<<"$out" | sed "s/^/$name: /" || true
        rps1[$name]+="$one "
        rps32[$name]+="$(awk '/Requests\/sec/ {print $2}' <<<"$out") "
        p99[$name]+="$(awk '$1 == "99%" {print $2}' <<<"$out") "
        rss[$name]+="$(peak_rss "$pid") "
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=
        echo "round $round/$rounds: $name c=1 $one rps, c=32 $(awk '/Requests\/sec/ {print $2}' <<<"$out") rps" >&2
    done
done


printf '\n%s, one worker process each, wrk %ss runs, median of %s rounds\n' "$app" "$seconds" "$rounds"
printf '%-9s %9s %9s %9s %10s %10s %13s %13s %12s\n' server "rps c=1" "rps c=32" "p99 c=32" "CPU/req" "peak RSS" "c=32 vs s-06" "CPU vs s-06" "RSS vs s-06"
base32=$(median "${rps32[stage-06]}")
base_cpu=$(median "${cpu[stage-06]}")
base_rss=$(largest "${rss[stage-06]}")
for name in "${servers[@]}"; do
    r1=$(median "${rps1[$name]}")
    r32=$(median "${rps32[$name]}")
    lat=$(median "${p99[$name]}")
    per=$(median "${cpu[$name]}")
    mem=$(largest "${rss[$name]}")
    printf '%-9s %9.0f %9.0f %7.2fms %7.2f us %6.1f MiB %12.2fx %12.2fx %+8.1f MiB\n' "$name" "$r1" "$r32" \
        "$(awk -v u="$lat" 'BEGIN {print u / 1000}')" "$per" "$(awk -v k="$mem" 'BEGIN {print k / 1024}')" \
        "$(awk -v a="$r32" -v b="$base32" 'BEGIN {print a / b}')" \
        "$(awk -v a="$per" -v b="$base_cpu" 'BEGIN {print a / b}')" \
        "$(awk -v a="$mem" -v b="$base_rss" 'BEGIN {print (a - b) / 1024}')"
done
