"""Step 4: the application, one callable tying the steps together.

App is what Flask's Flask and Django's WSGIHandler are at heart: a class
whose __call__(environ, start_response) makes a Request, asks the router
for a handler, calls it, and lets the Response answer.
"""

import traceback

from .request import HTTPError, Request
from .response import Response
from .routing import Router


# ANCHOR: app
class App:
    def __init__(self):
        self.router = Router()

    def route(self, path, methods=("GET",)):
        """A decorator: @app.route("/tasks", methods=["POST"])."""
        def register(handler):
            self.router.add(path, handler, methods)
            return handler
        return register

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            handler, request.params = self.router.match(request.method, request.path)
            response = as_response(handler(request))
        except HTTPError as error:
            response = Response.json({"error": error.message}, error.status,
                                     error.headers)
        except Exception:
            # The traceback goes to the server's log; the client learns
            # nothing about the code.
            environ["wsgi.errors"].write(traceback.format_exc())
            response = Response("Internal Server Error\n", 500)
        return response(environ, start_response)


def as_response(value):
    """What a handler returned, as a Response: dicts and lists become JSON."""
    if isinstance(value, Response):
        return value
    if isinstance(value, (dict, list)):
        return Response.json(value)
    return Response(value)
# ANCHOR_END: app
