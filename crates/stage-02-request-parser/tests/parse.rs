//! Well-formed requests: what the parser makes of them, whole or in pieces.

use proptest::prelude::*;
use stage_02::{
    Limits, ParseError, Parsed, ReadError, Request, Version, describe, parse_request, read_request,
};
use testkit::Trickle;

fn parse_complete(bytes: &[u8]) -> (Request, usize) {
    match parse_request(bytes, &Limits::default()) {
        Ok(Parsed::Complete { request, head_len }) => (request, head_len),
        other => panic!("expected a complete request, got {other:?}"),
    }
}

/// Reads one request and describes it, for the snapshots.
fn described(bytes: &[u8]) -> String {
    let mut rest = Vec::new();
    let (request, body) = read_request(&mut &bytes[..], &mut rest, &Limits::default())
        .unwrap()
        .unwrap();
    describe(&request, &body)
}

const FORM_POST: &[u8] = b"POST /submit?next=/home HTTP/1.1\r\nHost: example.test\r\n\
Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 14\r\n\r\nname=caf%C3%A9";

#[test]
fn parsed_forms_are_pinned() {
    insta::assert_snapshot!("simple_get", described(b"GET /hello?name=world HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: stage-01/0.1.0\r\nConnection: close\r\n\r\n"));
    insta::assert_snapshot!("form_post", described(FORM_POST));
    insta::assert_snapshot!(
        "pitfalls",
        described(b"GET /a?b?c HTTP/1.1\r\nHost:x\r\nX-Name: caf\xe9\r\nAccept: text/html\r\naccept: */*\r\nX-Spaces: \t padded \t\r\n\r\n")
    );
}

#[test]
fn a_header_without_a_space_after_the_colon_is_fine() {
    // The naive `split(": ")` pitfall: `Host:x` is valid HTTP.
    let (request, _) = parse_complete(b"GET / HTTP/1.1\r\nHost:x\r\n\r\n");
    assert_eq!(request.header("host"), Some("x"));
}

#[test]
fn latin1_values_keep_every_byte() {
    let (request, _) = parse_complete(b"GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9 \xff\r\n\r\n");
    let value = request.header("X-Name").unwrap();
    assert_eq!(value, "caf\u{e9} \u{ff}");
    let bytes: Vec<u8> = value.chars().map(|c| u8::try_from(c).unwrap()).collect();
    assert_eq!(bytes, b"caf\xe9 \xff");
}

#[test]
fn repeated_headers_are_all_kept_in_order() {
    let (request, _) =
        parse_complete(b"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nX: m\r\ncookie: b=2\r\n\r\n");
    assert_eq!(
        request.header_values("Cookie").collect::<Vec<_>>(),
        ["a=1", "b=2"]
    );
    assert_eq!(request.headers.len(), 4);
}

#[test]
fn equal_content_lengths_are_one_length() {
    for bytes in [
        &b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 005\r\n\r\n",
    ] {
        assert_eq!(parse_complete(bytes).0.content_length, Some(5));
    }
}

#[test]
fn http10_needs_no_host_and_leading_empty_lines_are_skipped() {
    let (request, head_len) = parse_complete(b"\r\nGET / HTTP/1.0\r\n\r\n");
    assert_eq!(
        (request.version, request.header("host"), head_len),
        (Version::Http10, None, 20)
    );
}

#[test]
fn utf8_in_the_target_is_kept_and_split() {
    let (request, _) = parse_complete("GET /café?q=ü HTTP/1.1\r\nHost: x\r\n\r\n".as_bytes());
    assert_eq!((request.path(), request.query()), ("/café", "q=ü"));
}

#[test]
fn the_target_forms_a_server_accepts() {
    // origin-form, absolute-form (any scheme, in any case), and `*` for
    // OPTIONS; the malformed table has the forms that are refused.
    for (line, path, query) in [
        ("GET /a/b?x=1 HTTP/1.1", "/a/b", "x=1"),
        ("GET //double HTTP/1.1", "//double", ""),
        (
            "GET http://example.com/a?x=1 HTTP/1.1",
            "http://example.com/a",
            "x=1",
        ),
        (
            "GET HTTPS://EXAMPLE.COM HTTP/1.1",
            "HTTPS://EXAMPLE.COM",
            "",
        ),
        (
            "GET svn+ssh.v-2://host:22/r HTTP/1.1",
            "svn+ssh.v-2://host:22/r",
            "",
        ),
        ("OPTIONS * HTTP/1.1", "*", ""),
        ("OPTIONS /a HTTP/1.1", "/a", ""),
    ] {
        let (request, _) = parse_complete(format!("{line}\r\nHost: x\r\n\r\n").as_bytes());
        assert_eq!((request.path(), request.query()), (path, query), "{line}");
    }
}

#[test]
fn every_proper_prefix_is_incomplete_not_malformed() {
    for end in 0..FORM_POST.len() {
        let head_complete = FORM_POST[..end].windows(4).any(|w| w == b"\r\n\r\n");
        if !head_complete {
            assert_eq!(
                parse_request(&FORM_POST[..end], &Limits::default()),
                Ok(Parsed::Partial),
                "prefix of {end} bytes"
            );
        }
    }
}

#[test]
fn reading_in_any_step_size_gives_the_same_request() {
    let whole = read_request(&mut &FORM_POST[..], &mut Vec::new(), &Limits::default()).unwrap();
    for step in 1..=FORM_POST.len() {
        let mut buf = Vec::new();
        let pieces = read_request(
            &mut Trickle::new(FORM_POST, step),
            &mut buf,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(pieces, whole, "step {step}");
        assert!(buf.is_empty());
    }
}

#[test]
fn bytes_after_the_body_stay_in_the_buffer() {
    let two = [FORM_POST, b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"].concat();
    let mut buf = Vec::new();
    let mut reader = &two[..];
    let (first, body) = read_request(&mut reader, &mut buf, &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.method.as_str(), body.as_slice()),
        ("POST", &b"name=caf%C3%A9"[..])
    );
    let (second, _) = read_request(&mut reader, &mut buf, &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(second.target, "/next");
    assert!(
        read_request(&mut reader, &mut buf, &Limits::default())
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_connection_closed_mid_request_is_incomplete() {
    let cut = &FORM_POST[..FORM_POST.len() - 3];
    let error = read_request(&mut &cut[..], &mut Vec::new(), &Limits::default()).unwrap_err();
    assert!(
        // 14 body bytes announced, 11 arrived.
        matches!(error, ReadError::Incomplete { received: 11 }),
        "{error:?}"
    );
    let error =
        read_request(&mut &b"GET / HT"[..], &mut Vec::new(), &Limits::default()).unwrap_err();
    assert!(
        matches!(error, ReadError::Incomplete { received: 8 }),
        "{error:?}"
    );
}

#[test]
fn a_malformed_request_is_refused_by_the_reader_too() {
    let error = read_request(
        &mut &b"GET / HTTP/1.1\nHost: x\n\n"[..],
        &mut Vec::new(),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(error, ReadError::Parse(ParseError::BareLineFeed)),
        "{error:?}"
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_request(&bytes, &Limits::default());
        let _ = read_request(&mut &bytes[..], &mut Vec::new(), &Limits::default());
    }

    #[test]
    fn request_like_bytes_never_panic_and_errors_have_a_status(
        method in "[A-Z]{1,7}",
        target in "/[ -~]{0,40}",
        headers in proptest::collection::vec(("[!-~]{0,12}", "[ -~\t\u{80}-\u{ff}]{0,20}"), 0..8),
        ending in prop::sample::select(vec!["\r\n", "\n", "\r", ""]),
    ) {
        let mut text = format!("{method} {target} HTTP/1.1{ending}");
        for (name, value) in &headers {
            text.push_str(&format!("{name}: {value}{ending}"));
        }
        text.push_str(ending);
        let bytes: Vec<u8> = text.chars().map(|c| u8::try_from(c).unwrap_or(b'?')).collect();
        if let Err(error) = parse_request(&bytes, &Limits::default()) {
            let (code, reason) = error.status();
            prop_assert!((400..=505).contains(&code) && !reason.is_empty());
        }
    }

    #[test]
    fn a_request_split_anywhere_parses_like_the_whole(step in 1usize..64) {
        let whole = read_request(&mut &FORM_POST[..], &mut Vec::new(), &Limits::default()).unwrap();
        let split = read_request(&mut Trickle::new(FORM_POST, step), &mut Vec::new(), &Limits::default()).unwrap();
        prop_assert_eq!(split, whole);
    }
}
