#!/usr/bin/env bash
# --threads against --threads 1 and gunicorn's gthread worker, one worker
# process each, keep-alive, wrk on loopback; rounds alternate the servers,
# so read the ratios within a round.
#
#   bash crates/stage-06-event-loop/benches/threads.sh SECONDS ROUNDS PATH CONNECTIONS SERVER...
#
# PATH is a path of tests/apps/threads.py: /sleep?0.05 waits 50 ms (as an
# app waits for its database), / is hello world. Each SERVER is NAME=COMMAND
# ARGS, run from tests/apps with --bind added for stage-06 and gunicorn:
#   's06-t8=target/release/stage-06 --workers 1 --threads 8 --no-access-log threads:application'
#   'gthread-8=gunicorn -k gthread --threads 8 -w 1 threads:application'
# Needs wrk. Loopback only.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
seconds=$1 rounds=$2 path=$3 connections=$4
shift 4
cd "$root/tests/apps"
port=18600
for round in $(seq "$rounds"); do
    for server in "$@"; do
        name=${server%%=*}
        command=${server#*=}
        port=$((port + 1))
        # shellcheck disable=SC2086
        $command --bind "127.0.0.1:$port" >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 100); do
            curl -sf "http://127.0.0.1:$port/" >/dev/null && break
            sleep 0.1
        done
        rps=$(wrk -t1 -c"$connections" -d"${seconds}s" "http://127.0.0.1:$port$path" |
            awk '/Requests\/sec/ {print $2}')
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null || true
        echo "round $round  $name  $rps requests/s"
    done
done
