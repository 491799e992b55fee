//! The client library against small servers on loopback.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::{closed_port_url, one_shot_server};
use stage_01::{FetchError, FetchOptions, Url, build_request, fetch, split_response, visible};

#[test]
fn request_bytes_are_pinned() {
    let url = Url::parse("http://127.0.0.1:8000/hello?name=world").unwrap();
    insta::assert_snapshot!("get_request", visible(&build_request("GET", &url, b"")));
    insta::assert_snapshot!(
        "post_request",
        visible(&build_request("POST", &url, b"a=1&b=2"))
    );
}

#[test]
fn fetches_a_response_that_arrives_one_byte_at_a_time() {
    let (url, server) = one_shot_server(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhi\n");
    let url = Url::parse(&url).unwrap();
    let request = build_request("GET", &url, b"");
    let bytes = fetch(&url, &request, &FetchOptions::default()).unwrap();

    assert_eq!(
        server.join().unwrap(),
        request,
        "the server saw exactly the bytes we built"
    );
    let response = split_response(&bytes).unwrap();
    assert_eq!((response.status, response.reason.as_str()), (200, "OK"));
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    assert_eq!(response.body, b"hi\n");
}

#[test]
fn a_refused_connection_is_reported_as_such() {
    let url = Url::parse(&closed_port_url()).unwrap();
    let error = fetch(&url, b"", &FetchOptions::default()).unwrap_err();
    assert!(matches!(error, FetchError::Refused { .. }), "{error:?}");
}

#[test]
fn a_silent_server_times_out_instead_of_hanging() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let options = FetchOptions {
        read_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let error = fetch(&url, b"GET / HTTP/1.1\r\n\r\n", &options).unwrap_err();
    assert!(matches!(error, FetchError::TimedOut { .. }), "{error:?}");
    drop(listener);
}

#[test]
fn an_oversized_response_is_cut_off() {
    let (url, _server) = one_shot_server(b"HTTP/1.1 200 OK\r\n\r\n0123456789");
    let url = Url::parse(&url).unwrap();
    let options = FetchOptions {
        max_response_bytes: 10,
        ..Default::default()
    };
    let error = fetch(&url, &build_request("GET", &url, b""), &options).unwrap_err();
    assert!(
        matches!(error, FetchError::TooLarge { limit: 10 }),
        "{error:?}"
    );
}
