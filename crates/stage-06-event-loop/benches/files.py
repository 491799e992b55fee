"""Downloads one large file over loopback from stage-06 (with sendfile and
with the body iterated), gunicorn (sync worker, which uses sendfile for
wsgi.file_wrapper too) and nginx (sendfile on): MB/s, and the server's CPU
seconds per download (utime + stime of all its processes, from /proc).

    python3 crates/stage-06-event-loop/benches/files.py STAGE06 [SIZE_MIB] [ROUNDS]

STAGE06 is a release build of stage-06. The file (SIZE_MIB, 1024 by
default, of random bytes) is made in a temporary folder. gunicorn is taken
from $GUNICORN (default: gunicorn on PATH); nginx from $NGINX (default:
nginx on PATH); either is skipped when missing. curl is the client, writing
to /dev/null. Loopback only. The machine this runs on is shared and noisy:
compare the figures within one run, as ratios.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

APP = '''
import os

PATH = os.environ["BENCH_FILE"]


def application(environ, start_response):
    f = open(PATH, "rb")
    size = os.fstat(f.fileno()).st_size
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])
    wrapper = environ["wsgi.file_wrapper"](f, int(environ["QUERY_STRING"] or 8192))
    if environ["PATH_INFO"] == "/iterate":
        return Through(wrapper)  # not the server's wrapper: iterated
    return wrapper


class Through:
    def __init__(self, inner):
        self.inner = inner

    def __iter__(self):
        return iter(self.inner)

    def close(self):
        self.inner.close()
'''

NGINX_CONF = '''
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {dir};
    }}
}}
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, process):
    for _ in range(200):
        if process.poll() is not None:
            sys.exit(f"the server exited: {process.args}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}: {process.args}")


def tree(pid):
    """pid and all its descendants."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return pids


def cpu_seconds(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def download(url, size):
    start = time.perf_counter()
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", url],
                         capture_output=True, text=True, check=True).stdout
    elapsed = time.perf_counter() - start
    if int(out) != size:
        sys.exit(f"{url}: {out} bytes, not {size}")
    return elapsed


def measure(name, command, url_path, port, size, rounds, env=None):
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        wait_listening(port, process)
        url = f"http://127.0.0.1:{port}{url_path}"
        download(url, size)  # warm-up: the page cache, the app's imports
        before = cpu_seconds(process.pid)
        times = [download(url, size) for _ in range(rounds)]
        cpu = (cpu_seconds(process.pid) - before) / rounds
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    best = min(times)
    return name, size / best / 1e6, sum(times) / rounds, cpu


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    stage06 = os.path.abspath(sys.argv[1])
    size = int(sys.argv[2] if len(sys.argv) > 2 else 1024) << 20
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    work = tempfile.mkdtemp(prefix="bench-files-")
    os.chmod(work, 0o755)  # nginx's worker may run as another user
    try:
        data = os.path.join(work, "big.bin")
        with open(data, "wb") as f:
            for _ in range(size >> 20):
                f.write(os.urandom(1 << 20))
        os.chmod(data, 0o644)
        with open(os.path.join(work, "benchapp.py"), "w") as f:
            f.write(APP)
        env = dict(os.environ, BENCH_FILE=data, PYTHONPATH=work)
        runs = []
        port = free_port()
        runs.append((f"stage-06 sendfile", [stage06, "--workers", "1", "--no-access-log", "--bind",
                                            f"127.0.0.1:{port}", "benchapp:application"], "/", port, env))
        for block in (8192, 65536):
            port = free_port()
            runs.append((f"stage-06 iterated, {block // 1024} KiB blocks",
                         [stage06, "--workers", "1", "--no-access-log", "--bind", f"127.0.0.1:{port}",
                          "benchapp:application"], f"/iterate?{block}", port, env))
        gunicorn = os.environ.get("GUNICORN") or shutil.which("gunicorn")
        if gunicorn:
            for name, path in (("gunicorn sendfile", "/"), ("gunicorn iterated, 8 KiB blocks", "/iterate?8192")):
                port = free_port()
                runs.append((name, [gunicorn, "-w", "1", "-b", f"127.0.0.1:{port}", "--chdir", work,
                                    "benchapp:application"], path, port, env))
        nginx = os.environ.get("NGINX") or shutil.which("nginx")
        if nginx:
            port = free_port()
            conf = os.path.join(work, "nginx.conf")
            with open(conf, "w") as f:
                f.write(NGINX_CONF.format(dir=work, port=port))
            runs.append(("nginx sendfile", [nginx, "-p", work, "-c", conf], "/big.bin", port, env))
        results = [measure(name, command, path, port, size, rounds, env)
                   for name, command, path, port, env in runs]
        base = results[0]
        print(f"{size >> 20} MiB over loopback, curl -o /dev/null, best of {rounds} (MB/s), "
              f"server CPU per download; ratios to {base[0]}")
        print(f"{'server':34} {'MB/s':>8} {'ratio':>6} {'mean s':>7} {'CPU s':>6} {'ratio':>6}")
        for name, rate, mean, cpu in results:
            print(f"{name:34} {rate:8.0f} {rate / base[1]:6.2f} {mean:7.2f} {cpu:6.2f} "
                  f"{cpu / base[3] if base[3] else float('nan'):6.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
