//! `wsgi.file_wrapper` in stage-04: every `environ` offers it, and a file
//! returned through it is iterated, a block at a time, and closed
//! (`tests/apps/files.py`, which records where each file stood when closed).

mod common;

use common::serve;
use testkit::{exchange, visible};

#[test]
fn a_wrapped_file_is_iterated_whole_and_closed_even_under_the_validator() {
    let path = std::env::temp_dir().join(format!("stage04-files-{}.bin", std::process::id()));
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    for validate in [false, true] {
        let app = serve("files.py", validate);
        let request = format!(
            "GET /wrapped?{} HTTP/1.1\r\nHost: t\r\n\r\n",
            path.display()
        );
        let response = exchange(app.addr, request.as_bytes());
        let (_, outcome) = app.next_outcome();
        assert_eq!(outcome.error, None, "validate: {validate}");
        let end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(
            response[end..] == bytes[..],
            "validate: {validate}: {}",
            visible(&response[..end])
        );
        // Iterated: the file was read to its end, then closed.
        let closes = exchange(app.addr, b"GET /closes HTTP/1.1\r\nHost: t\r\n\r\n");
        assert!(
            closes.ends_with(format!(r#"[["wrapped", {}]]"#, bytes.len()).as_bytes()),
            "{}",
            visible(&closes)
        );
    }
}
