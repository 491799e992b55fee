"""Request: what a handler reads, straight from a built environ."""

import io
import unittest
from wsgiref.util import setup_testing_defaults

from mini import HTTPError, Request


def environ(**extra):
    env = {"REQUEST_METHOD": "GET"}
    env.update(extra)
    setup_testing_defaults(env)
    return env


class RequestTest(unittest.TestCase):
    def test_method_path_and_query(self):
        request = Request(environ(REQUEST_METHOD="post", PATH_INFO="/a/b",
                                  QUERY_STRING="x=1&x=2&y=%C3%A9"))
        self.assertEqual(request.method, "POST")
        self.assertEqual(request.path, "/a/b")
        self.assertEqual(request.query, {"x": ["1", "2"], "y": ["é"]})
        self.assertEqual(request.arg("x"), "1")
        self.assertEqual(request.arg("z", "none"), "none")

    def test_a_utf8_path_arrives_as_latin1_and_is_decoded(self):
        latin1 = "/café".encode().decode("latin-1")  # what a server puts there
        self.assertEqual(Request(environ(PATH_INFO=latin1)).path, "/café")

    def test_headers_by_their_http_names(self):
        request = Request(environ(HTTP_X_TRACE="abc", CONTENT_TYPE="text/plain"))
        self.assertEqual(request.header("x-trace"), "abc")
        self.assertEqual(request.header("Content-Type"), "text/plain")
        self.assertIsNone(request.header("Accept"))

    def test_the_body_is_read_once_and_only_its_length(self):
        stream = io.BytesIO(b'{"a": 1}and more')
        request = Request(environ(CONTENT_LENGTH="8", **{"wsgi.input": stream}))
        self.assertEqual(request.json(), {"a": 1})
        self.assertEqual(request.body(), b'{"a": 1}')
        self.assertEqual(stream.read(), b"and more")

    def test_bad_bodies_are_client_errors(self):
        def status(length, body=b"", limit=10):
            request = Request(environ(CONTENT_LENGTH=length, **{"wsgi.input": io.BytesIO(body)}),
                              max_body=limit)
            with self.assertRaises(HTTPError) as raised:
                request.json()
            return raised.exception.status
        self.assertEqual(status("ten"), 400)
        self.assertEqual(status("-1"), 400)
        self.assertEqual(status("11"), 413)
        self.assertEqual(status("4", b"nope"), 400)
        self.assertEqual(status("2", b"\xff\xfe"), 400)

    def test_form_and_cookies(self):
        body = b"title=Buy+milk&done=%C3%A9"
        request = Request(environ(CONTENT_LENGTH=str(len(body)),
                                  CONTENT_TYPE="application/x-www-form-urlencoded",
                                  HTTP_COOKIE='visits=3; theme="dark"',
                                  **{"wsgi.input": io.BytesIO(body)}))
        self.assertEqual(request.form()["title"], "Buy milk")
        self.assertEqual(request.cookies(), {"visits": "3", "theme": "dark"})
        # http.cookies stops at the first cookie it cannot parse.
        mixed = Request(environ(HTTP_COOKIE="ok=1; bad\\x=2; also=3"))
        self.assertEqual(mixed.cookies(), {"ok": "1"})
