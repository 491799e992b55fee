//! Opening the listening socket, the same way in every server stage.

use std::net::TcpListener;

// ANCHOR: listen
/// Binds `bind` (`HOST:PORT`; port 0 lets the kernel pick a free port) and
/// announces the real address on stderr as `Listening on http://HOST:PORT`,
/// the line learners and tests look for.
///
/// On Unix, Rust's `TcpListener::bind` sets `SO_REUSEADDR` before binding,
/// so a restarted server is not refused with "Address already in use" by
/// the previous run's connections lingering in TIME_WAIT.
pub fn listen(program: &str, bind: &str) -> Result<TcpListener, String> {
    let listener = TcpListener::bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    eprintln!("{program}: Listening on http://{addr}");
    eprintln!(
        "{program}: try `cargo run -p stage-01 -- 'http://{addr}/hello?x=1'` in another terminal"
    );
    Ok(listener)
}
// ANCHOR_END: listen
