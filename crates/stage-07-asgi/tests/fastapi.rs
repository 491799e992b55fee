//! FastAPI on stage-07 (`tests/apps/asgi_fastapi.py`): parameters, a
//! pydantic body and its 422, and a multipart upload of several MiB whose
//! hash the app computes from what `receive` gave it.

mod common;

use std::io::Write;

use common::serve;
use testkit::{connect, read_response, status_of};

fn body(response: &[u8]) -> String {
    let text = String::from_utf8_lossy(response).into_owned();
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(text)
}

#[test]
fn fastapi_parameters_bodies_and_uploads() {
    let server = serve("asgi_fastapi:app", &["--no-access-log"]);
    let mut stream = connect(server.addr);
    let mut ask = |request: Vec<u8>| {
        stream.write_all(&request).unwrap();
        read_response(&mut stream, false)
    };
    let got = ask(b"GET /items/42?q=caf%C3%A9 HTTP/1.1\r\nHost: t\r\n\r\n".to_vec());
    assert_eq!(body(&got), r#"{"item_id":42,"q":"café"}"#);

    let json = r#"{"name": "pen", "price": 1.25}"#;
    let post = |json: &str| {
        format!(
            "POST /items HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
            json.len()
        )
        .into_bytes()
    };
    let got = ask(post(json));
    assert_eq!(body(&got), r#"{"name":"pen","total":2.5}"#);
    let got = ask(post(r#"{"name": "pen"}"#));
    assert_eq!(status_of(&got), Some(422), "{}", body(&got));

    // 5 MiB in a multipart body, sent chunked in 64 KiB chunks.
    let data: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let mut multipart = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"data.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
    multipart.extend_from_slice(&data);
    multipart.extend_from_slice(b"\r\n--XyZ--\r\n");
    let mut request = b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\r\n".to_vec();
    for chunk in multipart.chunks(65536) {
        request.extend_from_slice(format!("{:X}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let got = ask(request);
    let expected = python_sha256(&data);
    assert_eq!(
        body(&got),
        format!(
            r#"{{"filename":"data.bin","size":{},"sha256":"{expected}"}}"#,
            data.len()
        )
    );
}

/// The SHA-256 of `data` in hex, computed by Python's hashlib.
fn python_sha256(data: &[u8]) -> String {
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}
