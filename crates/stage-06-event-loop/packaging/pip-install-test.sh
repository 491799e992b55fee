#!/usr/bin/env bash
# What a Python developer does, checked: `pip install` the server into a
# fresh virtualenv, then run the installed `stage-06` command, without
# activating the virtualenv, from an app's folder, with an app that imports
# a module only that virtualenv has. .ci/run runs this; it takes a couple of
# minutes, the time of a release build. Loopback only; the server is
# stopped whatever happens.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
venv="$work/venv"
server=""
cleanup() {
    if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

python3 -m venv "$venv"
# A quicker optimised build than the release profile's (no cross-crate
# LTO): this checks the packaging, not the speed.
CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    "$venv/bin/pip" install --quiet "$root/crates/stage-06-event-loop"
test -x "$venv/bin/stage-06" || { echo "pip installed no stage-06 command" >&2; exit 1; }

# A module in the virtualenv's site-packages and nowhere else.
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo 'GREETING = "hello from the virtualenv"' > "$site/only_in_this_venv.py"
mkdir "$work/app"
cat > "$work/app/app.py" <<'PY'
from only_in_this_venv import GREETING


def application(environ, start_response):
    body = GREETING.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
PY

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cd "$work/app"
env -u VIRTUAL_ENV "$venv/bin/stage-06" --bind "127.0.0.1:$port" --workers 1 app:application \
    > "$work/server.log" 2>&1 &
server=$!
body=""
for _ in $(seq 1 60); do
    body=$(curl -s --max-time 2 "http://127.0.0.1:$port/" || true)
    [ -n "$body" ] && break
    sleep 0.5
done
if [ "$body" != "hello from the virtualenv" ]; then
    echo "the installed server answered: ${body:-nothing}" >&2
    cat "$work/server.log" >&2
    exit 1
fi
echo "pip install: the installed stage-06 serves an app with its virtualenv's packages"
