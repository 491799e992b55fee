"""The middleware, each tested by calling it around a small app."""

import sys
import unittest
import zlib

from mini.middleware import accepts_gzip, catch_errors, gzip, mount, timing
from mini.testing import call

GZIP = {"Accept-Encoding": "gzip"}
TEXT = [("Content-Type", "text/plain")]


def text_app(body, headers=TEXT):
    def app(environ, start_response):
        start_response("200 OK", headers + [("Content-Length", str(len(body)))])
        return [body]
    return app


class Recorder:
    """A body that records being iterated and closed."""

    def __init__(self, chunks, events):
        self.chunks, self.events = chunks, events

    def __iter__(self):
        for chunk in self.chunks:
            self.events.append(f"yield {chunk!r}")
            yield chunk

    def close(self):
        self.events.append("closed")


def generator_app(events, chunks=(b"first\n" * 50, b"second\n" * 50)):
    """start_response runs at the first next(), as in any generator app."""
    def app(environ, start_response):
        def body():
            events.append("start_response")
            start_response("200 OK", TEXT)
            try:
                for chunk in chunks:
                    events.append(f"yield {chunk!r}")
                    yield chunk
            finally:
                events.append("closed")
        return body()
    return app


def changes_its_mind(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html")])
    try:
        raise ValueError("rendering failed")
    except ValueError:
        start_response("500 Internal Server Error", TEXT, sys.exc_info())
    return [b"An error page\n" * 20]


class TimingTest(unittest.TestCase):
    def test_a_header_and_a_log_line(self):
        ticks = iter([1.0, 1.002, 1.005])
        app = timing(text_app(b"hi"), clock=lambda: next(ticks))
        result = call(app, "GET", "/x")
        self.assertEqual(result.headers[-1], ("Server-Timing", "app;dur=2.0"))
        self.assertEqual(result.errors, "GET /x 200 5.0ms\n")

    def test_the_log_line_waits_for_close(self):
        events = []
        app = timing(generator_app(events))
        result = call(app)
        self.assertEqual(result.status, "200 OK")
        self.assertEqual(events[-1], "closed")
        self.assertRegex(result.errors, r"^GET / 200 [0-9.]+ms\n$")


class CatchErrorsTest(unittest.TestCase):
    def test_an_exception_becomes_a_500_even_after_start_response(self):
        def broken(environ, start_response):
            start_response("200 OK", TEXT)
            raise KeyError("missing")
        result = call(catch_errors(broken))
        self.assertEqual(result.status, "500 Internal Server Error")
        self.assertIn("KeyError: 'missing'", result.errors)


class GzipTest(unittest.TestCase):
    def test_compresses_when_accepted(self):
        body = b"hello gzip\n" * 40
        result = call(gzip(text_app(body)), headers=GZIP)
        headers = dict(result.headers)
        self.assertEqual(headers["Content-Encoding"], "gzip")
        self.assertEqual(headers["Vary"], "Accept-Encoding")
        self.assertNotIn("Content-Length", headers)  # it was the length before
        self.assertEqual(zlib.decompress(result.body, 31), body)

    def test_leaves_alone_what_it_should(self):
        cases = {
            "not accepted": (text_app(b"x" * 500), {}),
            "refused with q=0": (text_app(b"x" * 500), {"Accept-Encoding": "gzip;q=0"}),
            "too small": (text_app(b"x" * 50), GZIP),
            "not text": (text_app(b"x" * 500, [("Content-Type", "image/png")]), GZIP),
        }
        for name, (app, headers) in cases.items():
            with self.subTest(name):
                result = call(gzip(app), headers=headers)
                self.assertNotIn("Content-Encoding", dict(result.headers))
                self.assertEqual(result.body[:1], b"x")

    def test_accept_encoding_values(self):
        self.assertTrue(accepts_gzip("deflate, gzip;q=0.5, br"))
        self.assertTrue(accepts_gzip("*"))
        self.assertFalse(accepts_gzip("gzip;q=0.0"))
        self.assertFalse(accepts_gzip("identity"))

    def test_deferred_start_response_is_seen(self):
        events = []
        result = call(gzip(generator_app(events)), headers=GZIP)
        self.assertEqual(dict(result.headers)["Content-Encoding"], "gzip")
        self.assertEqual(zlib.decompress(result.body, 31), b"first\n" * 50 + b"second\n" * 50)

    def test_streams_chunk_by_chunk(self):
        events = []
        body = gzip(generator_app(events))({"HTTP_ACCEPT_ENCODING": "gzip"}, lambda s, h, e=None: None)
        first = next(iter(body))
        # The first chunk decompresses on its own, before the app made the second.
        self.assertEqual(zlib.decompressobj(31).decompress(first), b"first\n" * 50)
        self.assertNotIn("yield " + repr(b"second\n" * 50), events)
        body.close()
        self.assertEqual(events[-1], "closed")  # the app's generator closed too

    def test_exc_info_replaces_the_headers(self):
        result = call(gzip(changes_its_mind), headers=GZIP)
        self.assertEqual(result.status, "500 Internal Server Error")
        self.assertEqual(zlib.decompress(result.body, 31), b"An error page\n" * 20)

    def test_close_reaches_a_body_that_was_never_iterated(self):
        events = []

        def app(environ, start_response):
            start_response("200 OK", TEXT)
            return Recorder([b"x"], events)
        gzip(app)({"HTTP_ACCEPT_ENCODING": "gzip"}, lambda s, h, e=None: None).close()
        self.assertEqual(events, ["closed"])

    def test_write_is_compressed_into_the_same_stream(self):
        def legacy(environ, start_response):
            write = start_response("200 OK", TEXT)
            write(b"written, " * 30)
            return [b"then returned\n" * 10]
        result = call(gzip(legacy), headers=GZIP)
        self.assertEqual(zlib.decompress(result.body, 31),
                         b"written, " * 30 + b"then returned\n" * 10)


class MountTest(unittest.TestCase):
    def seen_by(self, target):
        def app(environ, start_response):
            start_response("200 OK", TEXT)
            return [f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode()]
        return call(mount("/api", app), "GET", target)

    def test_the_prefix_moves_to_script_name(self):
        self.assertEqual(self.seen_by("/api/tasks/2").body, b"/api|/tasks/2")
        self.assertEqual(self.seen_by("/api").body, b"/api|")

    def test_outside_the_prefix_is_not_found(self):
        self.assertEqual(self.seen_by("/apiary").status, "404 Not Found")
        self.assertEqual(self.seen_by("/").status, "404 Not Found")


class CompositionTest(unittest.TestCase):
    def test_the_outermost_adds_its_headers_last(self):
        app = text_app(b"x" * 500)
        outside = [n for n, _ in call(timing(gzip(app)), headers=GZIP).headers]
        inside = [n for n, _ in call(gzip(timing(app)), headers=GZIP).headers]
        self.assertEqual(outside[-3:], ["Content-Encoding", "Vary", "Server-Timing"])
        self.assertEqual(inside[-3:], ["Server-Timing", "Content-Encoding", "Vary"])
