"""The demo app stage-04 serves when no APP is given.

A plain WSGI application, no framework: a hello page and a small JSON API
of tasks kept in memory. It is here so that `cargo run -p stage-04` shows
something real, and so that its source shows how little a WSGI app needs.
"""

import json
from urllib.parse import parse_qs

TASKS = [{"id": 1, "title": "Read chapter 4", "done": False}]

HOME = """<!doctype html>
<html><head><meta charset="utf-8"><title>WSGI demo</title></head>
<body>
<h1>Hello from a WSGI app</h1>
<p>This page was produced by a Python function called by a Rust server.</p>
<ul>
<li><a href="/hello?name=WSGI">/hello?name=WSGI</a>: plain text</li>
<li><a href="/tasks">/tasks</a>: a JSON list; POST a JSON object with a "title" to add one</li>
<li><a href="/environ">/environ</a>: the environ dictionary this request produced</li>
</ul>
</body></html>
"""


def respond(start_response, status, body, content_type):
    start_response(status, [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
    ])
    return [body]


def as_json(start_response, status, value):
    body = json.dumps(value, indent=2).encode() + b"\n"
    return respond(start_response, status, body, "application/json")


def read_json(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return json.loads(environ["wsgi.input"].read(length) or b"null")


def tasks(environ, start_response):
    method = environ["REQUEST_METHOD"]
    if method in ("GET", "HEAD"):
        return as_json(start_response, "200 OK", TASKS)
    if method != "POST":
        return as_json(start_response, "405 Method Not Allowed", {"error": "use GET or POST"})
    try:
        title = read_json(environ)["title"]
        if not isinstance(title, str) or not title:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return as_json(start_response, "400 Bad Request", {"error": 'send {"title": "..."}'})
    task = {"id": len(TASKS) + 1, "title": title, "done": False}
    TASKS.append(task)
    return as_json(start_response, "201 Created", task)


def application(environ, start_response):
    # PATH_INFO holds the bytes of the path decoded as latin-1 (PEP 3333);
    # re-encoding recovers them, and the bytes are really UTF-8.
    path = environ["PATH_INFO"].encode("latin-1").decode("utf-8", "replace")
    if path == "/":
        return respond(start_response, "200 OK", HOME.encode(), "text/html; charset=utf-8")
    if path == "/hello":
        query = parse_qs(environ["QUERY_STRING"])
        name = query.get("name", ["world"])[0]
        return respond(start_response, "200 OK", f"Hello, {name}!\n".encode(), "text/plain; charset=utf-8")
    if path == "/tasks":
        return tasks(environ, start_response)
    if path == "/environ":
        shown = {key: repr(value) for key, value in sorted(environ.items())}
        return as_json(start_response, "200 OK", shown)
    body = f"Not found: {path}\n".encode()
    return respond(start_response, "404 Not Found", body, "text/plain; charset=utf-8")
