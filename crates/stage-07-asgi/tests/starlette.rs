//! A real framework on stage-07: Starlette (`tests/apps/asgi_starlette.py`),
//! with JSON both ways in non-ASCII text, a `StreamingResponse`, its
//! lifespan state and a background task.

mod common;

use std::io::Write;

use common::{serve, undated};
use testkit::{connect, read_response, visible};

#[test]
fn starlette_round_trips_json_streams_and_runs_background_tasks() {
    let server = serve("asgi_starlette:app", &["--no-access-log"]);
    let mut stream = connect(server.addr);
    let json = "{\"name\": \"Zoë\", \"city\": \"Kraków\", \"mark\": \"✓\"}";
    let request = format!(
        "POST /echo-json HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let response = read_response(&mut stream, false);
    let text = String::from_utf8(response.clone()).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    // Starlette writes JSON without escaping: the UTF-8 bytes come back.
    assert!(
        text.ends_with(r#"{"received":{"name":"Zoë","city":"Kraków","mark":"✓"},"started":"yes"}"#),
        "{text}"
    );

    stream
        .write_all(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    insta::assert_snapshot!(
        "starlette_streaming",
        visible(&undated(&read_response(&mut stream, false)))
    );

    stream
        .write_all(b"GET /later HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let response = read_response(&mut stream, false);
    assert!(response.ends_with(b"sent first"), "{}", visible(&response));
    // The background task runs after the response, in the same task; the
    // connection has already moved on to this request.
    std::thread::sleep(std::time::Duration::from_millis(100));
    stream
        .write_all(b"GET /background-done HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let response = read_response(&mut stream, false);
    assert!(
        response.ends_with(b"background ran"),
        "{}",
        visible(&response)
    );
}

#[test]
fn starlette_notices_a_client_that_went_away() {
    let server = serve("asgi_starlette:app", &["--no-access-log"]);
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET /watch HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    drop(stream);
    let started = std::time::Instant::now();
    loop {
        let mut stream = connect(server.addr);
        stream
            .write_all(b"GET /background-done HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let response = read_response(&mut stream, false);
        if response.ends_with(b"disconnect seen") {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "request.is_disconnected() never said so: {}",
            visible(&response)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
