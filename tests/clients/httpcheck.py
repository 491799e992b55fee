"""What the client check scripts share: one request per connection through
http.client, and a check that stops at the first failure, saying which."""

import hashlib
import http.client
import os
import sys
import tempfile
from urllib.parse import quote


class Client:
    def __init__(self, address):
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response, data


def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


def check_download(request, route):
    """Downloads a file of a few MiB the script makes through `route`
    (which takes its path as `?path=`), and checks it by hash, then that
    HEAD gives its length and no body."""
    data = os.urandom((5 << 20) + 12345)
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(data)
        f.flush()
        target = f"{route}?path={quote(f.name)}"
        r, body = request("GET", target)
        check(r.status == 200, f"the download is a 200 (got {r.status})")
        check(r.getheader("Content-Length") == str(len(data)), f"its Content-Length is the file's size: {r.getheader('Content-Length')}")
        check(hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest(),
              f"the {len(body)} bytes downloaded are the file's {len(data)}, by SHA-256")
        r, body = request("HEAD", target)
        check(r.status == 200 and body == b"" and r.getheader("Content-Length") == str(len(data)),
              "HEAD of the download has its length and no body")
