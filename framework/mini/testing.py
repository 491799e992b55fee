"""Testing by calling the app: no server, no socket."""

import io
from types import SimpleNamespace
from urllib.parse import unquote
from wsgiref.util import setup_testing_defaults


# ANCHOR: call
def call(app, method="GET", target="/", body=b"", headers=()):
    """Calls a WSGI app as a server would; returns status, headers, body."""
    path, _, query = target.partition("?")
    errors = io.StringIO()
    environ = {"REQUEST_METHOD": method, "QUERY_STRING": query, "SCRIPT_NAME": "",
               "PATH_INFO": unquote(path, encoding="latin-1"),
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
               "wsgi.errors": errors}
    for name, value in dict(headers).items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    setup_testing_defaults(environ)  # SERVER_NAME, wsgi.version, ...
    seen = SimpleNamespace(status=None, headers=None, chunks=[])

    def start_response(status, response_headers, exc_info=None):
        if exc_info and seen.chunks:  # too late to change: re-raise
            raise exc_info[1].with_traceback(exc_info[2])
        if seen.status and not exc_info:  # what every server refuses
            raise AssertionError("start_response called twice without exc_info")
        seen.status, seen.headers = status, response_headers
        return seen.chunks.append  # the legacy write()

    result = app(environ, start_response)
    try:
        for chunk in result:
            seen.chunks.append(chunk)
    finally:
        if hasattr(result, "close"):
            result.close()
    seen.body = b"".join(seen.chunks)
    seen.errors = errors.getvalue()
    return seen
# ANCHOR_END: call
