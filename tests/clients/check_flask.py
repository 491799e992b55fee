"""Drives the Flask fixture app through a real HTTP client (http.client).

Usage: python3 check_flask.py HOST:PORT. Exits non-zero on the first
failed check, saying which.
"""

import json
import sys

from httpcheck import Client, check, check_download

request = Client(sys.argv[1]).request

r, body = request("GET", "/")
check(r.status == 200 and body == b"Hello from Flask\n", "GET / answers the index")
check(r.getheader("Content-Length") == str(len(body)), "a Content-Length that matches the body")

payload = json.dumps({"name": "café", "tags": ["a", "b"]})
r, body = request("POST", "/api/items", payload.encode(), {"Content-Type": "application/json"})
check(r.status == 201, f"JSON POST is created (got {r.status})")
check(json.loads(body) == {"created": {"name": "café", "tags": ["a", "b"]}, "content_type": "application/json"},
      f"JSON POST round-trips its body: {body!r}")

r, body = request("POST", "/form", b"name=Ada+Lovelace&lang=en",
                  {"Content-Type": "application/x-www-form-urlencoded"})
check(r.status == 200 and body == b"Hello, Ada Lovelace (2 fields)\n", f"form POST is parsed: {body!r}")

r, body = request("GET", "/nowhere")
check(r.status == 404, f"an unknown path is a 404 (got {r.status})")

r, body = request("GET", "/old")
check(r.status == 302 and r.getheader("Location") == "/new", f"a redirect: {r.status} {r.getheader('Location')}")

r, body = request("GET", "/echo/caf%C3%A9?x=1&x=2")
check(json.loads(body) == {"word": "café", "query": {"x": ["1", "2"]}},
      f"a UTF-8 path decoded through PATH_INFO's latin-1: {body!r}")

r, body = request("HEAD", "/")
check(r.status == 200 and body == b"" and r.getheader("Content-Length") == "17", "HEAD has headers and no body")

check_download(request, "/download")
