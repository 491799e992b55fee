"""The tasks app, called in-process, each request through wsgiref.validate."""

import json
import unittest
import warnings
import zlib
from wsgiref.validate import validator

import tasks
from mini.middleware import gzip, mount, timing
from mini.testing import call


# ANCHOR: tasks_test
class TasksTest(unittest.TestCase):
    def setUp(self):
        # A fresh task list, composed as tasks.application is; the
        # validator raises on anything PEP 3333 forbids, from either side.
        self.app = validator(timing(gzip(tasks.create_app())))
        warnings.simplefilter("error")  # the validator's warnings fail too
        self.addCleanup(warnings.resetwarnings)

    def ask(self, method, target, body=None, **headers):
        data = json.dumps(body).encode() if body is not None else b""
        if body is not None:
            headers["Content-Type"] = "application/json"
        return call(self.app, method, target, data, headers)

    def test_list_add_show_update(self):
        self.assertEqual(len(json.loads(self.ask("GET", "/tasks").body)), 1)
        added = self.ask("POST", "/tasks", {"title": "Write a middleware"})
        self.assertEqual(added.status, "201 Created")
        self.assertIn(("Location", "/tasks/2"), added.headers)
        self.assertEqual(json.loads(self.ask("GET", "/tasks/2").body)["title"],
                         "Write a middleware")
        self.ask("PATCH", "/tasks/2", {"done": True})
        done = json.loads(self.ask("GET", "/tasks?done=true").body)
        self.assertEqual([task["id"] for task in done], [2])
# ANCHOR_END: tasks_test

    def test_errors(self):
        self.assertEqual(self.ask("GET", "/tasks/9").status, "404 Not Found")
        self.assertEqual(self.ask("GET", "/nothing").status, "404 Not Found")
        refused = self.ask("DELETE", "/tasks")
        self.assertEqual(refused.status, "405 Method Not Allowed")
        self.assertIn(("Allow", "GET, HEAD, POST"), refused.headers)
        self.assertEqual(self.ask("POST", "/tasks", {"name": "x"}).status, "400 Bad Request")
        self.assertEqual(self.ask("POST", "/tasks", [1]).status, "400 Bad Request")
        self.assertEqual(self.ask("PATCH", "/tasks/1", [1]).status, "400 Bad Request")

    def test_streamed_and_gzipped(self):
        plain = self.ask("GET", "/tasks.txt")
        self.assertEqual(plain.body, b"[ ] Read the middleware chapter\n")
        small = self.ask("GET", "/tasks", **{"Accept-Encoding": "gzip"})
        self.assertNotIn("Content-Encoding", dict(small.headers))  # under 100 bytes
        self.ask("POST", "/tasks", {"title": "Compress me"})
        squeezed = self.ask("GET", "/tasks", **{"Accept-Encoding": "gzip"})
        self.assertIn(("Content-Encoding", "gzip"), squeezed.headers)
        self.assertEqual(len(json.loads(zlib.decompress(squeezed.body, 31))), 2)

    def test_the_visits_cookie(self):
        first = self.ask("GET", "/")
        self.assertIn(("Set-Cookie", "visits=1; HttpOnly; Path=/; SameSite=Lax"), first.headers)
        second = self.ask("GET", "/", Cookie="visits=1")
        self.assertIn(b"visit 2", second.body)

    def test_mounted_under_a_prefix(self):
        app = validator(mount("/api", timing(gzip(tasks.create_app()))))
        added = call(app, "POST", "/api/tasks", b'{"title": "t"}')
        self.assertIn(("Location", "/api/tasks/2"), added.headers)
        self.assertEqual(call(app, "GET", "/tasks").status, "404 Not Found")

    def test_the_module_level_apps_answer(self):
        self.assertEqual(call(validator(tasks.application), "GET", "/tasks").status, "200 OK")
        self.assertEqual(call(validator(tasks.mounted), "GET", "/api/tasks").status, "200 OK")
