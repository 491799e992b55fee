use stage_03::FixedClock;

use super::*;

fn writer() -> ResponseWriter<FixedClock> {
    ResponseWriter::with_clock(FixedClock::rfc_example(), "t")
}

const GET11: Request = Request {
    head: false,
    http11: true,
    keep_open: true,
    announce: false,
};

/// Sends a start with `headers`, then each body piece; the wire text.
fn wire(request: Request, code: u16, headers: &[(&str, &str)], pieces: &[&str]) -> String {
    let mut response = Response::new(request);
    let headers: Vec<(&[u8], &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .collect();
    response.start(code, &headers).unwrap();
    let mut out = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let more = i + 1 < pieces.len();
        response
            .body(&writer(), piece.as_bytes(), more, &mut out)
            .unwrap();
    }
    assert!(response.is_complete());
    String::from_utf8(out).unwrap()
}

const DATE: &str = "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: t\r\n";

#[test]
fn a_one_piece_body_gets_a_content_length() {
    let text = wire(GET11, 200, &[("content-type", "text/plain")], &["hello"]);
    let expected = format!(
        "HTTP/1.1 200 OK\r\n{DATE}content-type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    );
    assert_eq!(text, expected);
}

#[test]
fn a_streamed_body_is_chunked_on_11_and_close_delimited_on_10() {
    let text = wire(GET11, 200, &[], &["ab", "", "c"]);
    assert_eq!(
        text,
        format!(
            "HTTP/1.1 200 OK\r\n{DATE}Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"
        )
    );
    let http10 = Request {
        http11: false,
        announce: true,
        ..GET11
    };
    let text = wire(http10, 200, &[], &["ab", "c"]);
    assert_eq!(
        text,
        format!("HTTP/1.1 200 OK\r\n{DATE}Connection: close\r\n\r\nabc")
    );
}

#[test]
fn head_204_and_304_send_no_body_bytes() {
    let head = Request {
        head: true,
        ..GET11
    };
    let text = wire(head, 200, &[], &["hello"]);
    assert_eq!(
        text,
        format!("HTTP/1.1 200 OK\r\n{DATE}Content-Length: 5\r\n\r\n")
    );
    let text = wire(GET11, 204, &[], &[""]);
    assert_eq!(text, format!("HTTP/1.1 204 No Content\r\n{DATE}\r\n"));
    let text = wire(GET11, 304, &[("etag", "\"x\"")], &["", ""]);
    assert_eq!(
        text,
        format!("HTTP/1.1 304 Not Modified\r\n{DATE}etag: \"x\"\r\n\r\n")
    );
}

#[test]
fn the_apps_transfer_encoding_is_dropped_and_its_length_held_to() {
    let text = wire(
        GET11,
        200,
        &[("transfer-encoding", "chunked"), ("content-length", "3")],
        &["a", "bc"],
    );
    assert_eq!(
        text,
        format!("HTTP/1.1 200 OK\r\n{DATE}content-length: 3\r\n\r\nabc")
    );

    let mut response = Response::new(GET11);
    response.start(200, &[(b"content-length", b"3")]).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        response.body(&writer(), b"abcd", false, &mut out),
        Err(Misuse::Overrun(3))
    );
    assert!(
        out.is_empty(),
        "nothing goes out for a body that contradicts its length"
    );
    response.body(&writer(), b"ab", true, &mut out).unwrap();
    assert_eq!(
        response.body(&writer(), b"", false, &mut out),
        Err(Misuse::Underrun(1))
    );
}

#[test]
fn a_later_piece_past_the_apps_length_is_refused_and_nothing_of_it_sent() {
    let mut response = Response::new(GET11);
    response.start(200, &[(b"content-length", b"3")]).unwrap();
    let mut out = Vec::new();
    response.body(&writer(), b"ab", true, &mut out).unwrap();
    let sent = out.len();
    assert_eq!(
        response.body(&writer(), b"cd", false, &mut out),
        Err(Misuse::Overrun(1))
    );
    assert_eq!(
        out.len(),
        sent,
        "the client got exactly the 3 bytes promised, or fewer"
    );
    assert_eq!(response.body_bytes, 2);
    response.body(&writer(), b"c", false, &mut out).unwrap();
    assert!(response.is_complete());
    assert!(String::from_utf8(out).unwrap().ends_with("\r\n\r\nabc"));
}

#[test]
fn misuse_is_refused_and_writes_nothing() {
    let mut response = Response::new(GET11);
    let mut out = Vec::new();
    assert_eq!(
        response.body(&writer(), b"x", false, &mut out),
        Err(Misuse::BodyBeforeStart)
    );
    assert!(matches!(
        response.start(200, &[(b"x", b"a\r\nSet-Cookie: evil")]),
        Err(Misuse::Invalid(_))
    ));
    response.start(200, &[]).unwrap();
    assert_eq!(response.start(200, &[]), Err(Misuse::StartedTwice));
    response.body(&writer(), b"", false, &mut out).unwrap();
    let sent = out.len();
    assert_eq!(
        response.body(&writer(), b"x", false, &mut out),
        Err(Misuse::AfterComplete)
    );
    assert_eq!(out.len(), sent);
}

#[test]
fn connection_close_from_the_app_or_the_client_is_said_once() {
    let close = Request {
        keep_open: false,
        ..GET11
    };
    let text = wire(close, 200, &[], &["x"]);
    assert!(
        text.contains("Content-Length: 1\r\nConnection: close\r\n\r\n"),
        "{text}"
    );
    let mut response = Response::new(GET11);
    response.start(200, &[(b"connection", b"close")]).unwrap();
    assert!(!response.keeps_connection());
}
