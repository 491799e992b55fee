//! The exact bytes the response writer produces.

use proptest::prelude::*;
use stage_01::{split_response, visible};
use stage_03::chunked::{LAST_CHUNK, encode_chunk};
use stage_03::headers::InvalidResponse;
use stage_03::{FixedClock, Framing, HeaderLines, Response, ResponseWriter, Status, body_allowed};

fn writer() -> ResponseWriter<FixedClock> {
    ResponseWriter::with_clock(FixedClock::rfc_example(), "stage-03")
}

fn written(response: &Response, method: &str) -> String {
    visible(&writer().write(response, method).unwrap())
}

#[test]
fn responses_are_pinned() {
    let hello = Response::text(200, "Hello, world!\n").header("Connection", "close");
    insta::assert_snapshot!("text_200", written(&hello, "GET"));
    insta::assert_snapshot!("head_200", written(&hello, "HEAD"));
    insta::assert_snapshot!("no_content_204", written(&Response::new(204), "GET"));
    insta::assert_snapshot!(
        "not_modified_304",
        written(&Response::new(304).header("ETag", "\"v1\""), "GET")
    );
    let custom = Response {
        status: Status::parse("299 Totally Fine").unwrap(),
        headers: vec![
            ("Set-Cookie".into(), "a=1".into()),
            ("Set-Cookie".into(), "b=2".into()),
        ],
        body: b"caf\xe9".to_vec(),
    };
    insta::assert_snapshot!("custom_reason_repeated_headers", written(&custom, "GET"));
}

#[test]
fn streamed_bodies_are_pinned() {
    let headers = vec![("Content-Type".to_string(), "text/plain".to_string())];
    let mut chunked = writer()
        .head(&Status::new(200), &headers, Framing::Chunked)
        .unwrap();
    encode_chunk(&mut chunked, b"Hello, ");
    encode_chunk(&mut chunked, b"");
    encode_chunk(&mut chunked, b"world!\n");
    chunked.extend_from_slice(LAST_CHUNK);
    insta::assert_snapshot!("chunked_200", visible(&chunked));

    let mut closing = writer()
        .head(&Status::new(200), &headers, Framing::Close)
        .unwrap();
    closing.extend_from_slice(b"the end is the close\n");
    insta::assert_snapshot!("close_delimited_200", visible(&closing));
}

#[test]
fn head_gets_the_headers_of_get_without_the_body() {
    let response = Response::text(200, "twelve bytes");
    let get = writer().write(&response, "GET").unwrap();
    let head = writer().write(&response, "HEAD").unwrap();
    assert_eq!(get.len() - head.len(), 12);
    assert!(get.starts_with(&head));
    assert!(visible(&head).contains("Content-Length: 12"));
}

#[test]
fn statuses_without_a_body_have_no_length_and_refuse_a_body() {
    for code in [100, 204, 304] {
        let bytes = writer().write(&Response::new(code), "GET").unwrap();
        assert!(!visible(&bytes).contains("Content-Length"), "{code}");
        assert!(bytes.ends_with(b"\r\n\r\n"));
        let with_body = Response::new(code).body(b"x".to_vec());
        assert_eq!(
            writer().write(&with_body, "GET"),
            Err(InvalidResponse::BodyNotAllowed(code))
        );
    }
}

#[test]
fn the_caller_may_set_date_and_server_itself() {
    let response = Response::new(200)
        .header("Server", "mine")
        .header("Date", "then");
    let text = written(&response, "GET");
    assert_eq!(text.matches("Server:").count(), 1);
    assert!(text.contains("Server: mine") && text.contains("Date: then"));
}

#[test]
fn injected_headers_are_refused_and_nothing_is_written() {
    let cases = [
        ("X-Name", "a\r\nSet-Cookie: session=stolen"),
        ("X-Name", "a\n\n<script>"),
        ("X-Name", "a\0b"),
        ("Bad Name", "v"),
        ("X:Y", "v"),
        ("", "v"),
    ];
    for (name, value) in cases {
        let result = writer().write(&Response::new(200).header(name, value), "GET");
        assert!(
            matches!(
                result,
                Err(InvalidResponse::BadHeaderName(_) | InvalidResponse::BadHeaderValue { .. })
            ),
            "{name:?}: {value:?} gave {result:?}"
        );
    }
    let bad_status = Status {
        code: 200,
        reason: "OK\r\nX: y".into(),
    };
    assert!(writer().head(&bad_status, &[], Framing::NoBody).is_err());
    let past_latin1 = Response::new(200).header("X", "\u{2603}");
    assert_eq!(
        writer().write(&past_latin1, "GET"),
        Err(InvalidResponse::NotLatin1 { name: "X".into() })
    );
}

#[test]
fn framing_headers_must_agree_with_the_framing() {
    let own_length = Response::new(200)
        .header("Content-Length", "2")
        .body(b"hi".to_vec());
    assert_eq!(
        written(&own_length, "GET")
            .matches("Content-Length")
            .count(),
        1
    );

    // The same number written differently is the same length.
    let padded = Response::new(200)
        .header("Content-Length", "002")
        .body(b"hi".to_vec());
    assert!(writer().write(&padded, "GET").is_ok());

    let wrong_length = Response::new(200)
        .header("Content-Length", "3")
        .body(b"hi".to_vec());
    assert!(matches!(
        writer().write(&wrong_length, "GET"),
        Err(InvalidResponse::FramingConflict(_))
    ));

    let te = vec![("Transfer-Encoding".to_string(), "chunked".to_string())];
    assert!(matches!(
        writer().head(&Status::new(200), &te, Framing::Chunked),
        Err(InvalidResponse::FramingConflict(_))
    ));
    let cl = vec![("Content-Length".to_string(), "5".to_string())];
    assert!(matches!(
        writer().head(&Status::new(200), &cl, Framing::Close),
        Err(InvalidResponse::FramingConflict(_))
    ));
}

proptest! {
    #[test]
    fn what_the_writer_writes_the_client_reads_back(
        code in (200u16..600).prop_filter("a status with a body", |c| body_allowed(*c)),
        headers in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,15}", "[!-~\u{a0}-\u{ff}]([ -~\u{a0}-\u{ff}]{0,30}[!-~\u{a0}-\u{ff}])?"), 0..6),
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let framing = ["content-length", "transfer-encoding", "date", "server"];
        let headers: Vec<(String, String)> = headers
            .into_iter()
            .filter(|(n, _)| !framing.contains(&n.to_ascii_lowercase().as_str()))
            .collect();
        let response = Response { status: Status::new(code), headers: headers.clone(), body: body.clone() };
        let bytes = writer().write(&response, "GET").unwrap();
        let parsed = split_response(&bytes).unwrap();
        prop_assert_eq!(parsed.status, code);
        prop_assert_eq!(&parsed.headers[2..2 + headers.len()], headers.as_slice());
        prop_assert_eq!(parsed.body, body);
    }

    #[test]
    fn any_value_with_cr_or_lf_is_refused(before in "[ -~]{0,10}", eol in "[\r\n]", after in "[ -~]{0,10}") {
        let response = Response::new(200).header("X", &format!("{before}{eol}{after}"));
        let is_bad_value = matches!(writer().write(&response, "GET"), Err(InvalidResponse::BadHeaderValue { .. }));
        prop_assert!(is_bad_value);
    }
}

#[test]
fn the_server_can_say_what_follows_the_response() {
    let mut headers = HeaderLines::new();
    headers.push("Content-Type", "text/plain").unwrap();
    let keep = writer()
        .head_with_connection(
            &Status::new(200),
            &headers,
            Some("keep-alive"),
            Framing::Length(5),
        )
        .unwrap();
    assert!(visible(&keep).ends_with("Content-Type: text/plain\\r\\n\nContent-Length: 5\\r\\n\nConnection: keep-alive\\r\\n\n\\r\\n\n"));
    let close = writer()
        .head_with_connection(&Status::new(200), &headers, None, Framing::Close)
        .unwrap();
    assert_eq!(visible(&close).matches("Connection: close").count(), 1);
    let injected = writer().head_with_connection(
        &Status::new(200),
        &headers,
        Some("close\r\nX: y"),
        Framing::Close,
    );
    assert!(matches!(
        injected,
        Err(InvalidResponse::BadHeaderValue { .. })
    ));
}

#[test]
fn header_lines_are_checked_once_and_kept_as_bytes() {
    let mut lines = HeaderLines::new();
    lines.push("Content-Type", "text/plain").unwrap();
    lines.push("X-Caf\u{e9}", "v").unwrap_err();
    lines.push("X-Name", "caf\u{e9}").unwrap();
    lines.push("Date", "yesterday").unwrap();
    lines.push("X-Bad", "a\r\nb").unwrap_err();
    // What was refused left no trace; what was accepted is latin-1 bytes.
    assert_eq!(
        lines.as_bytes(),
        b"Content-Type: text/plain\r\nX-Name: caf\xe9\r\nDate: yesterday\r\n"
    );
    assert!(lines.has_date() && !lines.has_server() && !lines.has_connection());
    // The app's own Date is not doubled; its Content-Length must agree.
    lines.push("content-length", " 7 ").unwrap();
    assert_eq!(lines.content_lengths(), (1, Some(7)));
    let head = writer()
        .head_with_connection(&Status::new(200), &lines, None, Framing::Length(7))
        .unwrap();
    assert_eq!(visible(&head).matches("Date:").count(), 1);
    let wrong = writer().head_with_connection(&Status::new(200), &lines, None, Framing::Length(8));
    assert!(matches!(wrong, Err(InvalidResponse::FramingConflict(_))));
}
