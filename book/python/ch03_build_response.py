#!/usr/bin/env python3
"""Chapter 3 in Python: a response is a status line, headers, an empty line
and a body, and the receiver must be told where the body ends.

    python3 book/python/ch03_build_response.py | cat -e

Writes one response to standard output, as the bytes a server would send
(`cat -e` shows each CR as ^M and each line end as $).
"""

import sys
from email.utils import formatdate


# ANCHOR: build_response
def build_response(status: str, headers: list, body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status}",                       # "200 OK"
             f"Date: {formatdate(usegmt=True)}",         # required, in GMT
             "Server: ch03_build_response.py"]
    for name, value in headers:
        if any(c in value for c in "\r\n\0"):            # header injection:
            raise ValueError(f"{name} contains CR, LF or NUL")  # refuse it
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")         # where the body ends
    head = "\r\n".join(lines) + "\r\n\r\n"               # CR LF, then an empty line
    return head.encode("latin-1") + body                 # one byte per character
# ANCHOR_END: build_response


if __name__ == "__main__":
    body = b"Hello, world!\n"
    sys.stdout.buffer.write(build_response("200 OK", [("Content-Type", "text/plain")], body))
