"""Step 2: a Response that is itself a WSGI application.

A handler returns one; the framework calls it with environ and
start_response, and it answers like any WSGI app.
"""

import json
from http import HTTPStatus
from http.cookies import SimpleCookie


# ANCHOR: response
class Response:
    def __init__(self, body=b"", status=200, headers=(),
                 content_type="text/plain; charset=utf-8"):
        self.body = body  # bytes, str, or an iterable of bytes (streamed)
        self.status = status
        self.headers = [("Content-Type", content_type), *headers]

    @classmethod
    def json(cls, value, status=200, headers=()):
        body = json.dumps(value, indent=2).encode() + b"\n"
        return cls(body, status, headers, content_type="application/json")

    def set_cookie(self, name, value, path="/", max_age=None):
        jar = SimpleCookie()
        jar[name] = value
        jar[name]["path"] = path
        jar[name]["httponly"] = True
        jar[name]["samesite"] = "Lax"
        if max_age is not None:
            jar[name]["max-age"] = max_age
        self.headers.append(("Set-Cookie", jar[name].OutputString()))

    def __call__(self, environ, start_response):
        status = f"{self.status} {HTTPStatus(self.status).phrase}"
        body = self.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        if isinstance(body, bytes):
            length = ("Content-Length", str(len(body)))
            start_response(status, self.headers + [length])
            return [body]
        # A generator: no length is known, so the server frames it
        # (chunked, or closing the connection). Returned as it is, so
        # that the server's close() reaches it and runs its finally.
        start_response(status, self.headers)
        return body
# ANCHOR_END: response
