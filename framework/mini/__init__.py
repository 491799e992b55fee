"""mini: a small WSGI framework in the standard library, built in steps.

request.py (step 1), response.py (2), routing.py (3), app.py (4),
middleware.py (5), testing.py (testing by calling the app).
"""

from .app import App
from .request import HTTPError, Request
from .response import Response

__all__ = ["App", "HTTPError", "Request", "Response"]
