"""WSGI apps that break PEP 3333 on purpose. The server must refuse or cope,
log, and go on serving. (Not run under the validator: it would rightly
reject them first.)"""


def str_body(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ["a str, not bytes"]


def too_long(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"0123456789"]


def too_short(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"01234"]


def two_lengths(environ, start_response):
    start_response("200 OK", [("Content-Length", "5"), ("Content-Length", "6")])
    return [b"never sent"]


def length_not_a_number(environ, start_response):
    start_response("200 OK", [("Content-Length", "five")])
    return [b"never sent"]


def injected_header(environ, start_response):
    start_response("200 OK", [("X-Evil", "a\r\nSet-Cookie: stolen=1")])
    return [b"never sent"]


def hop_by_hop(environ, start_response):
    start_response("200 OK", [("Connection", "keep-alive")])
    return [b"never sent"]


def bad_status(environ, start_response):
    start_response("OK", [])
    return [b"never sent"]


def headers_not_a_list(environ, start_response):
    start_response("200 OK", (("Content-Type", "text/plain"),))
    return [b"never sent"]


def twice_without_exc_info(environ, start_response):
    start_response("200 OK", [])
    start_response("500 Oops", [])
    return [b"never sent"]


def no_start_response(environ, start_response):
    return [b"body without a status"]


def late_exc_info(environ, start_response):
    """exc_info after the head went out: start_response re-raises it."""
    import sys
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"head and a first piece are out\n")
    try:
        raise KeyError("too late")
    except KeyError:
        start_response("500 Internal Server Error", [], sys.exc_info())
    return [b"never sent"]


def exits(environ, start_response):
    raise SystemExit(3)


ROUTES = {
    "/str-body": str_body, "/too-long": too_long, "/too-short": too_short,
    "/two-lengths": two_lengths, "/length-not-a-number": length_not_a_number,
    "/injected-header": injected_header, "/hop-by-hop": hop_by_hop, "/bad-status": bad_status,
    "/headers-not-a-list": headers_not_a_list, "/twice": twice_without_exc_info,
    "/no-start-response": no_start_response, "/late-exc-info": late_exc_info, "/exits": exits,
}


def application(environ, start_response):
    return ROUTES[environ["PATH_INFO"]](environ, start_response)
