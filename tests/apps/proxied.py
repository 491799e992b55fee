"""What an app behind a reverse proxy sees: the entries of environ that
the proxy's headers may change, and the path, one per line."""

import os


def application(environ, start_response):
    if environ["PATH_INFO"] == "/pid":
        body = f"{os.getpid()}\n".encode()
    else:
        keys = ["REMOTE_ADDR", "REMOTE_PORT", "wsgi.url_scheme", "PATH_INFO",
                "QUERY_STRING", "SERVER_NAME", "SERVER_PORT", "HTTP_X_FORWARDED_FOR"]
        body = "".join(f"{key}={environ.get(key, '<absent>')}\n" for key in keys).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
