"""Drives the Django fixture app through a real HTTP client (http.client).

Usage: python3 check_django.py HOST:PORT.
"""

import http.client
import json
import sys

HOST, PORT = sys.argv[1].rsplit(":", 1)


def request(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(HOST, int(PORT), timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


r, body = request("GET", "/")
check(r.status == 200 and body == b"Hello from Django\n", f"GET / answers the index: {r.status} {body!r}")

r, body = request("POST", "/api/items", json.dumps({"n": 1}).encode(), {"Content-Type": "application/json"})
check(r.status == 201 and json.loads(body) == {"created": {"n": 1}, "path": "/api/items"}, f"JSON POST: {body!r}")

r, body = request("GET", "/api/items")
check(r.status == 405, f"the wrong method is a 405 (got {r.status})")

r, body = request("GET", "/search?q=wsgi&q=rust", headers={"User-Agent": "check-django/1"})
check(json.loads(body) == {"q": ["wsgi", "rust"], "agent": "check-django/1"}, f"query and headers: {body!r}")

r, body = request("GET", "/missing")
check(r.status == 404, f"an unknown path is a 404 (got {r.status})")
