#!/usr/bin/env python3
"""Chapter 2 in Python: the request parser anyone writes first, and what it
gets wrong.

    python3 book/python/ch02_naive_parser.py

Runs the parser on a request it handles and on seven it gets wrong, and
prints what happens to each. Stage-02 handles every one of them.
"""


# ANCHOR: parse_request
def parse_request(data: bytes):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8").split("\r\n")
    method, target, version = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, value = line.split(": ")
        headers[name.lower()] = value
    length = int(headers.get("content-length", "0"))
    return method, target, version, headers, body[:length]
# ANCHOR_END: parse_request


# ANCHOR: cases
CASES = [
    ("a request it handles", b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("no space after the colon", b"GET / HTTP/1.1\r\nHost:x\r\n\r\n"),
    ("a latin-1 byte", b"GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\n\r\n"),
    ("two Cookie lines", b"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n"),
    ("Content-Length: abc", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nhello"),
    ("Content-Length: -1", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\nhello"),
    ("a 1 MB header line", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"),
    ("a body still on its way", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello"),
]
# ANCHOR_END: cases

if __name__ == "__main__":
    for name, data in CASES:
        try:
            method, target, version, headers, body = parse_request(data)
            shown = {k: v if len(v) < 20 else f"<{len(v)} characters>" for k, v in headers.items()}
            print(f"{name:26} -> {method} {target} {version} {shown} body={body!r}")
        except Exception as error:
            print(f"{name:26} -> {type(error).__name__}: {error}")
