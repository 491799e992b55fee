//! The bytes of stage-07's answers to a raw ASGI app
//! (`tests/apps/asgi_wire.py`), pinned: framing chosen from how the app
//! sends its body, no body for HEAD and 204, a 500 for an app that fails
//! before its response.

mod common;

use common::{conversation, exchange_shown, serve};

const APP: &str = "asgi_wire:app";

#[test]
fn responses_are_framed_as_the_app_sends_them() {
    let server = serve(APP, &["--no-access-log"]);
    let addr = server.addr;
    insta::assert_snapshot!(
        "get_one_piece",
        conversation(addr, &[b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"])
    );
    insta::assert_snapshot!(
        "post_echo",
        conversation(
            addr,
            &[b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"]
        )
    );
    insta::assert_snapshot!(
        "chunked_upload_echo",
        conversation(
            addr,
            &[b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5;x=y\r\nworld\r\n0\r\n\r\n"]
        )
    );
    insta::assert_snapshot!(
        "streamed_chunked",
        conversation(addr, &[b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"])
    );
    insta::assert_snapshot!(
        "head_and_204",
        conversation(
            addr,
            &[
                b"HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n",
                b"GET /no-content HTTP/1.1\r\nHost: t\r\n\r\n"
            ]
        )
    );
    insta::assert_snapshot!(
        "not_found",
        conversation(addr, &[b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n"])
    );
}

#[test]
fn http10_streams_end_with_the_close() {
    let server = serve(APP, &["--no-access-log"]);
    insta::assert_snapshot!(
        "http10_streamed",
        exchange_shown(server.addr, b"GET /stream HTTP/1.0\r\n\r\n")
    );
}

#[test]
fn an_exception_before_the_start_is_a_500_and_the_server_goes_on() {
    let server = serve(APP, &["--no-access-log"]);
    insta::assert_snapshot!(
        "raise_before_start",
        exchange_shown(
            server.addr,
            b"GET /raise-before-start HTTP/1.1\r\nHost: t\r\n\r\n"
        )
    );
    let stderr = server.wait_for_stderr("RuntimeError: the app failed before its response");
    assert!(stderr.contains("Traceback"), "{stderr}");
    let after = conversation(server.addr, &[b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"]);
    assert!(after.contains("Hello, ASGI!"), "{after}");
}

#[test]
fn the_scope_has_bytes_where_http_has_bytes() {
    let server = serve(APP, &["--no-access-log"]);
    let request = b"GET /scope/caf%C3%A9/a%20b?q=%C3%A9&x=1 HTTP/1.1\r\nHost: t\r\nX-Dup: one\r\nx-dup: two\r\nX-Latin: caf\xe9\r\n\r\n";
    let mut stream = testkit::connect(server.addr);
    std::io::Write::write_all(&mut stream, request).unwrap();
    let response = testkit::read_response(&mut stream, false);
    let text = String::from_utf8_lossy(&response);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    insta::assert_snapshot!("scope", body);
}

#[test]
fn the_limit_flags_are_applied() {
    let mut args = testkit::SMALL_LIMITS.to_vec();
    args.push("--no-access-log");
    let server = serve(APP, &args);
    testkit::check_limit_flags(server.addr);
}

#[test]
fn a_websocket_upgrade_is_refused_clearly() {
    let server = serve(APP, &["--no-access-log"]);
    let response = testkit::exchange(
        server.addr,
        b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert_eq!(testkit::status_of(&response), Some(501));
    assert!(String::from_utf8_lossy(&response).contains("WebSocket is not supported"));
}
