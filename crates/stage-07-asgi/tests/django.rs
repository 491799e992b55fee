//! Django's `get_asgi_application()` on stage-07: stage-04's Django
//! project (`tests/apps/django_app.py`) through Django's ASGI handler.

mod common;

use std::io::Write;

use common::serve;
use testkit::{connect, read_response, status_of, visible};

#[test]
fn django_serves_through_its_asgi_handler() {
    let server = serve("asgi_django:application", &["--no-access-log"]);
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let response = read_response(&mut stream, false);
    assert!(
        response.ends_with(b"Hello from Django\n"),
        "{}",
        visible(&response)
    );

    let json = r#"{"name": "Zoë"}"#;
    let request = format!(
        "POST /api/items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let response = read_response(&mut stream, false);
    assert_eq!(status_of(&response), Some(201), "{}", visible(&response));
    let text = String::from_utf8_lossy(&response);
    assert!(
        text.ends_with(r#"{"created": {"name": "Zo\u00eb"}, "path": "/api/items"}"#),
        "{text}"
    );

    stream
        .write_all(b"GET /search?q=a&q=b HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: probe\r\n\r\n")
        .unwrap();
    let response = read_response(&mut stream, false);
    assert!(
        response.ends_with(br#"{"q": ["a", "b"], "agent": "probe"}"#),
        "{}",
        visible(&response)
    );
}
