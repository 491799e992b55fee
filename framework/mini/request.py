"""Step 1: a Request, read from environ.

Everything a handler needs to know about the request is already in the
environ dictionary the server built; this class only gives it names, and
reads the body once, within a limit.
"""

import json
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs


# ANCHOR: http_error
class HTTPError(Exception):
    """Raised anywhere in a handler to answer with an error status."""

    def __init__(self, status, message=None, headers=()):
        super().__init__(status)
        self.status = status
        self.message = message or HTTPStatus(status).phrase
        self.headers = list(headers)
# ANCHOR_END: http_error


# ANCHOR: request
class Request:
    def __init__(self, environ, max_body=1024 * 1024):
        self.environ = environ
        self.method = environ["REQUEST_METHOD"].upper()
        # PEP 3333: PATH_INFO holds the path's bytes decoded as latin-1,
        # and browsers send UTF-8; re-encoding gives the bytes back.
        raw_path = environ.get("PATH_INFO", "").encode("latin-1")
        self.path = raw_path.decode("utf-8", "replace") or "/"
        # Where the app is mounted (empty at the root): links start here.
        self.script_name = environ.get("SCRIPT_NAME", "")
        self.query = parse_qs(environ.get("QUERY_STRING", ""))
        self.params = {}  # filled by the router: /tasks/<int:id> -> {"id": 3}
        self.max_body = max_body
        self._body = None

    def header(self, name, default=None):
        """A request header by its HTTP name, such as "Content-Type"."""
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        return self.environ.get(key, default)

    def arg(self, name, default=None):
        """The first value of a query parameter: ?name=value."""
        return self.query.get(name, [default])[0]
# ANCHOR_END: request

    # ANCHOR: body
    def body(self):
        """The request body as bytes, read once, at most max_body bytes."""
        if self._body is None:
            # ANCHOR: ex-07.3-read-the-body
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                raise HTTPError(400, "Content-Length is not a number") from None
            if length < 0:
                raise HTTPError(400, "Content-Length is negative")
            if length > self.max_body:
                raise HTTPError(413, f"the body is over {self.max_body} bytes")
            # Never read() without a size: PEP 3333 lets wsgi.input block
            # for more than the client sent.
            stream = self.environ["wsgi.input"]
            self._body = stream.read(length) if length else b""
            # ANCHOR_END: ex-07.3-read-the-body
        return self._body

    def json(self):
        try:
            return json.loads(self.body())
        except ValueError:  # a UnicodeDecodeError is one too
            raise HTTPError(400, "the body is not JSON") from None

    def form(self):
        """An HTML form's fields, from a urlencoded body."""
        content_type = self.header("Content-Type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return {}
        text = self.body().decode("latin-1")
        return {k: v[0] for k, v in parse_qs(text).items()}

    def cookies(self):
        jar = SimpleCookie()
        try:
            jar.load(self.header("Cookie", ""))
        except CookieError:
            return {}
        return {name: morsel.value for name, morsel in jar.items()}
    # ANCHOR_END: body
