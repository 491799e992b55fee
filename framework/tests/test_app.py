"""Response, routing and the App, tested by calling them."""

import json
import unittest

from mini import App, HTTPError, Response
from mini.routing import Router
from mini.testing import call


def app_with_routes():
    app = App()

    @app.route("/items/<int:id>")
    def item(request):
        return {"id": request.params["id"]}

    @app.route("/items/<int:id>", methods=["DELETE"])
    def delete(request):
        return Response(b"", 204)

    @app.route("/hello/<name>")
    def hello(request):
        return f"Hello, {request.params['name']}!\n"

    @app.route("/boom")
    def boom(request):
        raise RuntimeError("the handler broke")

    @app.route("/teapot")
    def teapot(request):
        raise HTTPError(418, "short and stout")

    @app.route("/stream")
    def stream(request):
        def chunks():
            try:
                yield b"one\n"
                yield b"two\n"
            finally:
                events.append("closed")
        return Response(chunks())

    events = []
    app.events = events
    return app


class RoutingTest(unittest.TestCase):
    def test_parameters_are_converted(self):
        router = Router()
        router.add("/a/<int:id>/<name>", "handler")
        self.assertEqual(router.match("GET", "/a/12/x.y"), ("handler", {"id": 12, "name": "x.y"}))
        with self.assertRaises(HTTPError) as raised:
            router.match("GET", "/a/twelve/x")
        self.assertEqual(raised.exception.status, 404)

    def test_literal_parts_are_not_patterns(self):
        router = Router()
        router.add("/tasks.txt", "handler")
        with self.assertRaises(HTTPError):
            router.match("GET", "/tasksxtxt")


class AppTest(unittest.TestCase):
    def setUp(self):
        self.app = app_with_routes()

    def test_a_dict_becomes_json(self):
        result = call(self.app, "GET", "/items/7")
        self.assertEqual(result.status, "200 OK")
        self.assertIn(("Content-Type", "application/json"), result.headers)
        self.assertIn(("Content-Length", str(len(result.body))), result.headers)
        self.assertEqual(json.loads(result.body), {"id": 7})

    def test_a_str_is_utf8_text(self):
        result = call(self.app, "GET", "/hello/w%C3%B6rld")
        self.assertEqual(result.body, "Hello, wörld!\n".encode())

    def test_404_and_405_with_allow(self):
        self.assertEqual(call(self.app, "GET", "/nowhere").status, "404 Not Found")
        result = call(self.app, "POST", "/items/7")
        self.assertEqual(result.status, "405 Method Not Allowed")
        self.assertIn(("Allow", "DELETE, GET, HEAD"), result.headers)

    def test_head_is_answered_by_get(self):
        self.assertEqual(call(self.app, "HEAD", "/items/7").status, "200 OK")

    def test_an_exception_is_a_500_and_a_logged_traceback(self):
        result = call(self.app, "GET", "/boom")
        self.assertEqual(result.status, "500 Internal Server Error")
        self.assertNotIn(b"broke", result.body)
        self.assertIn("RuntimeError: the handler broke", result.errors)

    def test_http_errors_answer_with_their_status(self):
        result = call(self.app, "GET", "/teapot")
        self.assertEqual(result.status, "418 I'm a Teapot")
        self.assertEqual(json.loads(result.body), {"error": "short and stout"})

    def test_streaming_has_no_length_and_is_closed(self):
        result = call(self.app, "GET", "/stream")
        self.assertEqual(result.body, b"one\ntwo\n")
        self.assertNotIn("Content-Length", dict(result.headers))
        self.assertEqual(self.app.events, ["closed"])

    def test_set_cookie(self):
        response = Response("hi")
        response.set_cookie("visits", "2", max_age=60)
        result = call(response)  # a Response is a WSGI app too
        self.assertIn(("Set-Cookie", "visits=2; HttpOnly; Max-Age=60; Path=/; SameSite=Lax"),
                      result.headers)
