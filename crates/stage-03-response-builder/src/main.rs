//! `stage-03`: an echo server. Every request is answered with a text
//! description of itself, built with the response writer, one request per
//! connection.

use std::io::Write;
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use stage_02::{Limits, ReadError, describe, listen, read_request};
use stage_03::{Response, ResponseWriter, lingering_close};

/// Answer every HTTP request with a description of what was received.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8000")]
    bind: String,
}

/// Seconds a client gets to send its whole request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the client to close after our response.
const LINGER: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let listener = match listen("stage-03", &cli.bind) {
        Ok(listener) => listener,
        Err(message) => {
            eprintln!("stage-03: {message}");
            return ExitCode::FAILURE;
        }
    };
    let writer = ResponseWriter::new(concat!("stage-03/", env!("CARGO_PKG_VERSION")));
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => echo(stream, &writer),
            Err(e) => eprintln!("stage-03: accept failed: {e}"),
        }
    }
    ExitCode::SUCCESS
}

// ANCHOR: echo
/// Reads one request and answers it with its own description.
fn echo(stream: TcpStream, writer: &ResponseWriter) {
    let peer = stream
        .peer_addr()
        .map_or("-".into(), |a| a.ip().to_string());
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    // ANCHOR: echo_read
    let (request_line, method, response) =
        match read_request(&mut &stream, &mut Vec::new(), &Limits::default()) {
            Ok(Some((request, body))) => {
                let line = format!("{} {} {}", request.method, request.target, request.version);
                let response =
                    Response::text(200, &describe(&request, &body)).header("Connection", "close");
                (line, request.method, response)
            }
            // Nothing was sent, or the client vanished mid-request: no one to answer.
            Ok(None) | Err(ReadError::Incomplete { .. } | ReadError::Io(_)) => return,
            Err(ReadError::TimedOut) => {
                ("-".into(), "GET".into(), error_response(408, "timed out\n"))
            }
            Err(ReadError::Parse(e)) => (
                "-".into(),
                "GET".into(),
                error_response(e.status().0, &format!("{e}\n")),
            ),
        };
    // ANCHOR_END: echo_read
    let bytes = match writer.write(&response, &method) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("stage-03: cannot write the response: {e}");
            return;
        }
    };
    // The client may have gone already; that ends this exchange, not the server.
    let sent = (&stream).write_all(&bytes).is_ok();
    lingering_close(&stream, LINGER);
    let status = response.status.code;
    eprintln!(
        "{peer} \"{request_line}\" {status} {}{}",
        bytes.len(),
        if sent { "" } else { " (client gone)" }
    );
}
// ANCHOR_END: echo

fn error_response(code: u16, message: &str) -> Response {
    Response::text(code, message).header("Connection", "close")
}
