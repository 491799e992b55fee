#!/usr/bin/env python3
"""Chapter 1 in Python: an HTTP request is a few lines of text on a socket.

    python3 book/python/ch01_raw_client.py [URL]

Fetches URL (default http://127.0.0.1:8000/) and prints the response as
received. No HTTP library: only a socket.
"""

import socket
import sys
from urllib.parse import urlsplit


# ANCHOR: fetch
def fetch(url):
    parts = urlsplit(url)                       # http://host:port/path?query
    host, port = parts.hostname, parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    request = (f"GET {target} HTTP/1.1\r\n"     # the request line
               f"Host: {parts.netloc}\r\n"      # the one header 1.1 requires
               "Connection: close\r\n"          # close after answering...
               "\r\n")                          # the empty line ends the head
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(request.encode("ascii"))
        response = b""
        while chunk := sock.recv(4096):         # ...so the response ends at EOF
            response += chunk
    return response
# ANCHOR_END: fetch


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/"
    try:
        response = fetch(url)
    except ConnectionRefusedError:
        sys.exit(f"nothing listens at {url}: start a server first, "
                 "for example `cargo run -p stage-03` in another terminal")
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):          # the head, CR LF made visible
        print(line.decode("latin-1") + "\\r\\n")
    print("\\r\\n")
    sys.stdout.flush()
    sys.stdout.buffer.write(body)               # the body, as it came
