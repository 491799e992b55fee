"""Step 3: a router, from a method and a path to a handler.

Routes are paths with parameters, such as /tasks/<int:id>; a path no
route matches is a 404, and a path that matches only with another method
is a 405 that says which methods would do.
"""

import re

from .request import HTTPError

# ANCHOR: compile_path
CONVERTERS = {"str": (r"[^/]+", str), "int": (r"[0-9]+", int)}
PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


def compile_path(path):
    """'/tasks/<int:id>' -> a regex with a group `id`, and its converters."""
    # ANCHOR: ex-07.1-path-parameters
    regex, converters, end = "", {}, 0
    for found in PARAMETER.finditer(path):
        kind, name = found.group(1) or "str", found.group(2)
        pattern, converters[name] = CONVERTERS[kind]
        regex += re.escape(path[end:found.start()]) + f"(?P<{name}>{pattern})"
        end = found.end()
    regex += re.escape(path[end:])
    # ANCHOR_END: ex-07.1-path-parameters
    return re.compile(regex), converters
# ANCHOR_END: compile_path


# ANCHOR: router
class Router:
    def __init__(self):
        self.routes = []

    def add(self, path, handler, methods=("GET",)):
        regex, converters = compile_path(path)
        self.routes.append((regex, converters, set(methods), handler))

    def match(self, method, path):
        """The handler and its parameters, or an HTTPError 404 or 405."""
        allowed = set()
        for regex, converters, methods, handler in self.routes:
            found = regex.fullmatch(path)
            if found is None:
                continue
            if method in methods or (method == "HEAD" and "GET" in methods):
                params = {k: converters[k](v) for k, v in found.groupdict().items()}
                return handler, params
            allowed |= methods
        # ANCHOR: ex-07.2-method-not-allowed
        if "GET" in allowed:
            allowed.add("HEAD")
        if allowed:
            raise HTTPError(405, headers=[("Allow", ", ".join(sorted(allowed)))])
        # ANCHOR_END: ex-07.2-method-not-allowed
        raise HTTPError(404, f"nothing at {path}")
# ANCHOR_END: router
