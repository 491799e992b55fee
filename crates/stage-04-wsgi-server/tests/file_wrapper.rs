//! `wsgi.file_wrapper` in stage-04 (`tests/apps/files.py`, which records
//! where each file stood when it was closed): the server's own wrapper
//! around a real file goes out by `sendfile(2)`, which leaves the file's
//! position alone; wrapped again by middleware (here wsgiref's validator),
//! it is iterated, read to its end. Either way the file arrives whole and
//! is closed.
//!
//! Linux only: elsewhere the server iterates every file (see stage-04's
//! `sendfile`), and these tests say which way each file went.
#![cfg(target_os = "linux")]

mod common;

use common::serve;
use testkit::{exchange, visible};

#[test]
fn a_wrapped_file_is_sent_whole_by_sendfile_or_iterated_under_middleware() {
    let path = std::env::temp_dir().join(format!("stage04-files-{}.bin", std::process::id()));
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    for (validate, position) in [(false, 0), (true, bytes.len())] {
        let app = serve("files.py", validate);
        let request = format!(
            "GET /wrapped?{} HTTP/1.1\r\nHost: t\r\n\r\n",
            path.display()
        );
        let response = exchange(app.addr, request.as_bytes());
        let (_, outcome) = app.next_outcome();
        assert_eq!(outcome.error, None, "validate: {validate}");
        assert_eq!(outcome.body_bytes, bytes.len() as u64);
        let end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&response[..end]).into_owned();
        assert!(
            response[end..] == bytes[..],
            "validate: {validate}: {}",
            visible(&response[..end])
        );
        if !validate {
            // Sent by sendfile: its length is known, from the file's size.
            assert!(head.contains("Content-Length: 3000000\r\n"), "{head}");
        }
        let closes = exchange(app.addr, b"GET /closes HTTP/1.1\r\nHost: t\r\n\r\n");
        assert!(
            closes.ends_with(format!(r#"[["wrapped", {position}]]"#).as_bytes()),
            "validate: {validate}: {}",
            visible(&closes)
        );
    }
}
