"""Drives the Django fixture app through a real HTTP client (http.client).

Usage: python3 check_django.py HOST:PORT.
"""

import json
import sys

from httpcheck import Client, check, check_download

request = Client(sys.argv[1]).request

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

check_download(request, "/download")
