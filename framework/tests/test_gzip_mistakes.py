"""The classic mistakes of a gzip middleware, each shown failing a test
that mini.middleware.gzip passes."""

import unittest
import zlib

from mini.middleware import gzip
from mini.testing import call

from .test_middleware import GZIP, TEXT, Recorder, changes_its_mind, generator_app


# ANCHOR: buffering_gzip
def buffering_gzip(app):
    """Short, plausible, and wrong four ways."""
    def compressing(environ, start_response):
        seen = {}

        def remember(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            # (1) returns None: an app that calls write() crashes

        # (2) waits for the whole body before sending a byte,
        # (3) and never calls the body's close()
        body = b"".join(app(environ, remember))
        # (4) keeps the Content-Length of the uncompressed body
        headers = seen["headers"] + [("Content-Encoding", "gzip")]
        start_response(seen["status"], headers)
        return [zlib.compress(body, wbits=31)]
    return compressing
# ANCHOR_END: buffering_gzip


# ANCHOR: hasty_gzip
def hasty_gzip(app):
    """Streams, and is still wrong three ways."""
    def compressing(environ, start_response):
        called = []

        def wrapped(status, headers, exc_info=None):
            called.append(status)
            headers = [h for h in headers if h[0].lower() != "content-length"]
            # (5) drops exc_info: an app's second call is refused
            return start_response(status, headers + [("Content-Encoding", "gzip")])

        result = app(environ, wrapped)
        if not called:  # (6) a generator app calls it later: sent as it is,
            return result  # under a Content-Encoding: gzip header
        squeeze = zlib.compressobj(wbits=31)

        def chunks():
            try:
                for chunk in result:
                    yield squeeze.compress(chunk) + squeeze.flush(zlib.Z_SYNC_FLUSH)
                yield squeeze.flush()
            finally:  # (7) never runs if closed before the first next()
                if hasattr(result, "close"):
                    result.close()
        return chunks()
    return compressing
# ANCHOR_END: hasty_gzip


def legacy_write(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"written\n" * 40)
    return []


def recorded(events):
    def app(environ, start_response):
        start_response("200 OK", TEXT)
        return Recorder([b"x" * 300], events)
    return app


class MistakesTest(unittest.TestCase):
    def test_1_write_is_gone(self):
        with self.assertRaises(TypeError):
            call(buffering_gzip(legacy_write), headers=GZIP)
        self.assertEqual(call(gzip(legacy_write), headers=GZIP).status, "200 OK")

    def test_2_the_whole_body_before_the_first_byte(self):
        for middleware, streams in ((buffering_gzip, False), (gzip, True)):
            events = []
            middleware(generator_app(events))({"HTTP_ACCEPT_ENCODING": "gzip"},
                                              lambda s, h, e=None: None)
            # Nothing has been asked of the body yet.
            self.assertEqual(events == [], streams, middleware.__name__)

    def test_3_close_is_lost(self):
        for middleware, closes in ((buffering_gzip, False), (gzip, True)):
            events = []
            call(middleware(recorded(events)), headers=GZIP)
            self.assertEqual("closed" in events, closes, middleware.__name__)

    def test_4_a_stale_content_length(self):
        def sized(environ, start_response):
            start_response("200 OK", TEXT + [("Content-Length", "400")])
            return [b"y" * 400]
        for middleware, stale in ((buffering_gzip, True), (gzip, False)):
            headers = dict(call(middleware(sized), headers=GZIP).headers)
            self.assertEqual("Content-Length" in headers, stale, middleware.__name__)

    def test_5_exc_info_dropped(self):
        with self.assertRaisesRegex(AssertionError, "without exc_info"):
            call(hasty_gzip(changes_its_mind), headers=GZIP)
        self.assertEqual(call(gzip(changes_its_mind), headers=GZIP).status,
                         "500 Internal Server Error")

    def test_6_deciding_before_start_response(self):
        result = call(hasty_gzip(generator_app([])), headers=GZIP)
        self.assertEqual(dict(result.headers)["Content-Encoding"], "gzip")
        with self.assertRaises(zlib.error):  # the body is not gzip at all
            zlib.decompress(result.body, 31)

    def test_7_closed_before_the_first_next(self):
        for middleware, closes in ((hasty_gzip, False), (gzip, True)):
            events = []
            body = middleware(recorded(events))({"HTTP_ACCEPT_ENCODING": "gzip"},
                                                lambda s, h, e=None: None)
            body.close()
            self.assertEqual(events == ["closed"], closes, middleware.__name__)
