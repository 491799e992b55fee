//! Stage-04 over real loopback sockets: the exact bytes of representative
//! exchanges, with every fixture app run under wsgiref's validator.

mod common;

use common::{get, serve};
use testkit::{assert_ends_with, assert_lacks, assert_starts_with, exchange, status_of, visible};

/// The request and the response, both with CR and LF visible.
fn exchange_shown(fixture: &common::Fixture, request: &[u8]) -> String {
    let response = exchange(fixture.addr, request);
    let (_, outcome) = fixture.next_outcome();
    assert!(
        outcome
            .error
            .as_deref()
            .is_none_or(|e| !e.contains("AssertionError")),
        "wsgiref.validate found a breach of PEP 3333:\n{}",
        outcome.error.unwrap_or_default()
    );
    format!(
        "--> request\n{}\n<-- response\n{}",
        visible(request),
        visible(&response)
    )
}

#[test]
fn exchanges_are_pinned() {
    let app = serve("wire.py", true);
    insta::assert_snapshot!("get", exchange_shown(&app, &get("/hello")));
    insta::assert_snapshot!(
        "head",
        exchange_shown(&app, b"HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n")
    );
    insta::assert_snapshot!(
        "post_with_body",
        exchange_shown(
            &app,
            b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 14\r\n\r\nname=caf%C3%A9"
        )
    );
    insta::assert_snapshot!("generator_body", exchange_shown(&app, &get("/stream")));
    insta::assert_snapshot!("write_callable", exchange_shown(&app, &get("/write")));
    insta::assert_snapshot!("not_found", exchange_shown(&app, &get("/nowhere")));
    insta::assert_snapshot!(
        "error_before_headers",
        exchange_shown(&app, &get("/fail-before"))
    );
    insta::assert_snapshot!(
        "exc_info_error_page",
        exchange_shown(&app, &get("/change-of-mind"))
    );
    insta::assert_snapshot!("no_content", exchange_shown(&app, &get("/no-content")));
}

#[test]
fn an_error_before_headers_is_a_500_and_a_logged_traceback() {
    let app = serve("wire.py", true);
    let response = exchange(app.addr, &get("/fail-before"));
    assert_eq!(status_of(&response), Some(500));
    let (entry, outcome) = app.next_outcome();
    assert_eq!(entry.status, 500);
    let traceback = outcome.error.unwrap();
    assert!(
        traceback.contains("Traceback")
            && traceback.contains("RuntimeError: the application failed before"),
        "{traceback}"
    );
    assert_eq!(
        status_of(&exchange(app.addr, &get("/hello"))),
        Some(200),
        "the server goes on"
    );
}

#[test]
fn an_error_after_headers_aborts_the_connection() {
    let app = serve("wire.py", true);
    let response = exchange(app.addr, &get("/fail-after"));
    // The head and the first piece went out; then a reset, not a clean end
    // that would make the cut body look complete.
    let text = String::from_utf8_lossy(&response);
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("a first piece that went out\n"),
        "{text}"
    );
    let (_, outcome) = app.next_outcome();
    assert!(outcome.abort, "{outcome:?}");
    assert!(outcome.error.unwrap().contains("failed halfway"));
    assert_eq!(status_of(&exchange(app.addr, &get("/hello"))), Some(200));
}

fn closed_count(app: &common::Fixture) -> String {
    let response = exchange(app.addr, &get("/closed-count"));
    app.next_outcome();
    let text = String::from_utf8_lossy(&response).into_owned();
    text.rsplit("\r\n\r\n").next().unwrap().trim().to_string()
}

#[test]
fn close_is_called_once_on_success_on_error_and_when_the_client_leaves() {
    let app = serve("wire.py", true);
    assert_eq!(closed_count(&app), "0");

    exchange(app.addr, &get("/counted"));
    app.next_outcome();
    assert_eq!(closed_count(&app), "1", "after a normal response");

    exchange(app.addr, &get("/counted-failing"));
    assert!(app.next_outcome().1.abort);
    assert_eq!(closed_count(&app), "2", "after the body raised");

    // A client that reads a little of a 128 MB body and hangs up.
    {
        use std::io::{Read, Write};
        let mut stream = testkit::connect(app.addr);
        stream.write_all(&get("/counted-endless")).unwrap();
        let mut first = [0u8; 1024];
        stream.read_exact(&mut first).unwrap();
    }
    let (_, outcome) = app.next_outcome();
    assert!(outcome.client_gone, "{outcome:?}");
    assert!(
        outcome.body_bytes < 2000 * 65536,
        "the server stopped sending"
    );
    assert_eq!(closed_count(&app), "3", "after the client left mid-stream");
}

#[test]
fn wsgi_input_reads_exactly_the_body() {
    let app = serve("wire.py", true);
    let body = "line one\nABCDline two\nthree\nfour";
    let request = format!(
        "POST /input HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = String::from_utf8(exchange(app.addr, request.as_bytes())).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    let expected = r#"{"readline": "line one\n", "read(4)": "ABCD", "readline(3)": "lin", "readlines": ["e two\n", "three\n", "four"], "read at EOF": ""}"#;
    assert!(
        response.ends_with(&format!("\r\n\r\n{expected}\n")),
        "{response}"
    );
    let request = "POST /iterate-input HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\na\nb\nc\n";
    assert!(
        String::from_utf8_lossy(&exchange(app.addr, request.as_bytes())).ends_with("3 lines\n")
    );
}

#[test]
fn environ_follows_pep_3333_and_cgi() {
    let app = serve("wire.py", true);
    let request = b"GET /environ/caf%C3%A9/a%2Fb?x=1&y=%20 HTTP/1.1\r\nHost: example.test:8080\r\n\
X-Forwarded-For: 10.0.0.1\r\nX_Forwarded_For: spoofed\r\nCookie: a=1\r\nAccept: text/html\r\n\
Cookie: b=2\r\nAccept: */*\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nX-Name: caf\xe9\r\n\r\n";
    let response = exchange(app.addr, request);
    let json = String::from_utf8(response).unwrap();
    let json = json.split("\r\n\r\n").nth(1).unwrap();
    let expect = |line: &str| assert!(json.contains(line), "missing {line} in {json}");
    expect(r#""REQUEST_METHOD": "GET""#);
    expect(r#""SCRIPT_NAME": """#);
    // Percent-decoded, then each byte as one latin-1 char: é is C3 A9.
    expect(r#""PATH_INFO": "/environ/caf\u00c3\u00a9/a/b""#);
    expect(r#""QUERY_STRING": "x=1&y=%20""#);
    expect(r#""SERVER_PROTOCOL": "HTTP/1.1""#);
    expect(r#""SERVER_NAME": "127.0.0.1""#);
    expect(r#""REMOTE_ADDR": "127.0.0.1""#);
    expect(r#""CONTENT_TYPE": "text/plain""#);
    expect(r#""CONTENT_LENGTH": "0""#);
    expect(r#""HTTP_HOST": "example.test:8080""#);
    expect(r#""HTTP_X_FORWARDED_FOR": "10.0.0.1""#);
    expect(r#""HTTP_COOKIE": "a=1; b=2""#);
    expect(r#""HTTP_ACCEPT": "text/html, */*""#);
    expect(r#""HTTP_X_NAME": "caf\u00e9""#);
    expect(r#""wsgi.url_scheme": "http""#);
    expect(
        r#""wsgi.version": [
  1,
  0
 ]"#,
    );
    expect(r#""wsgi.multithread": false"#);
    expect(r#""wsgi.input_terminated": true"#);
    assert!(
        !json.contains("HTTP_CONTENT_TYPE") && !json.contains("HTTP_CONTENT_LENGTH"),
        "{json}"
    );
    assert!(
        !json.contains("spoofed"),
        "a header with _ in its name must be dropped: {json}"
    );
    assert!(json.contains(r#""SERVER_PORT": ""#) && json.contains(r#""REMOTE_PORT": ""#));
}

#[test]
fn misbehaving_apps_are_contained() {
    let app = serve("misbehaving.py", false);
    for (path, status, error) in [
        ("/str-body", 500, "must yield bytes, not str"),
        ("/injected-header", 500, "control character"),
        ("/hop-by-hop", 500, "hop-by-hop header"),
        ("/two-lengths", 500, "two different Content-Length headers"),
        ("/length-not-a-number", 500, "is not a number"),
        ("/bad-status", 500, "must look like"),
        ("/headers-not-a-list", 500, "headers must be a list"),
        ("/twice", 500, "a second time without exc_info"),
        ("/no-start-response", 500, "before calling start_response"),
        ("/exits", 500, "SystemExit"),
    ] {
        let response = exchange(app.addr, &get(path));
        assert_eq!(
            status_of(&response),
            Some(status),
            "{path}: {}",
            visible(&response)
        );
        let (_, outcome) = app.next_outcome();
        let logged = outcome.error.unwrap_or_default();
        assert!(
            logged.contains(error),
            "{path}: expected {error:?} in\n{logged}"
        );
    }
}

#[test]
fn a_body_longer_or_shorter_than_its_content_length_is_cut_and_aborted() {
    let app = serve("misbehaving.py", false);
    let response = exchange(app.addr, &get("/too-long"));
    assert!(
        response.ends_with(b"\r\n\r\n01234"),
        "never more than Content-Length: {}",
        visible(&response)
    );
    assert!(app.next_outcome().1.abort);

    let response = exchange(app.addr, &get("/too-short"));
    assert!(
        response.ends_with(b"\r\n\r\n01234"),
        "{}",
        visible(&response)
    );
    let (_, outcome) = app.next_outcome();
    assert!(
        outcome.abort
            && outcome
                .error
                .unwrap()
                .contains("sent 5 bytes but its Content-Length said 10")
    );

    let response = exchange(app.addr, &get("/late-exc-info"));
    assert!(String::from_utf8_lossy(&response).ends_with("head and a first piece are out\n"));
    let (_, outcome) = app.next_outcome();
    assert!(
        outcome.abort && outcome.error.unwrap().contains("KeyError"),
        "exc_info after the head re-raises"
    );
}

#[test]
fn an_app_can_change_its_mind_before_the_first_chunk() {
    let app = serve("wire.py", true);
    let response = exchange(app.addr, &get("/change-of-mind"));
    assert_starts_with(&response, "HTTP/1.1 503 Service Unavailable\r\n");
    assert_lacks(
        &response,
        "200 OK",
        "the first status must never reach the wire",
    );
    assert_ends_with(&response, "\r\n\r\nsorry, an error page instead\n");
}

#[test]
fn exc_info_after_the_head_re_raises() {
    let app = serve("misbehaving.py", false);
    let response = exchange(app.addr, &get("/late-exc-info"));
    assert_ends_with(&response, "head and a first piece are out\n");
    assert_lacks(
        &response,
        "never sent",
        "once the head is out, exc_info re-raises: no error page follows",
    );
    let (_, outcome) = app.next_outcome();
    assert!(outcome.abort, "{outcome:?}");
    assert!(
        outcome
            .error
            .unwrap_or_default()
            .contains("KeyError: 'too late'")
    );
}
