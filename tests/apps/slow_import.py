"""An app that takes its time to import, as apps that connect to a database
at import time do: stage-06's workers are still loading it for a while
after the fork."""

import time

time.sleep(1.5)


def application(environ, start_response):
    body = b"loaded at last\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
