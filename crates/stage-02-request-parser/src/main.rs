//! `stage-02`: listen, parse each request, show what the parser understood.
//!
//! Or, with `--file PATH` (`-` for stdin), parse a saved request offline.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use stage_01::visible;
use stage_02::{LimitArgs, ReadError, describe, listen, read_request};

/// Parse HTTP requests and print what the parser understood.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8000")]
    bind: String,
    /// Also print the raw request bytes, CR and LF made visible.
    #[arg(long)]
    raw: bool,
    /// Parse a saved request from this file ("-" for stdin) and exit.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Seconds a client gets to send its whole request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.file {
        Some(path) => parse_file(path, &cli),
        None => serve(&cli),
    }
}

/// Parses one request read from a file or stdin; exit code 1 if refused.
fn parse_file(path: &PathBuf, cli: &Cli) -> ExitCode {
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        io::stdin().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    if let Err(e) = read {
        eprintln!("stage-02: cannot read {}: {e}", path.display());
        return ExitCode::from(2);
    }
    if cli.raw {
        println!("{}", visible(&bytes));
    }
    let mut rest = Vec::new();
    match read_request(&mut bytes.as_slice(), &mut rest, &cli.limits.limits()) {
        Ok(Some((request, body))) => {
            print!("{}", describe(&request, &body));
            if !rest.is_empty() {
                println!(
                    "after the request: {} more bytes (the next request?)",
                    rest.len()
                );
            }
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!("stage-02: the input is empty");
            ExitCode::FAILURE
        }
        Err(e) => {
            report_error(&e);
            ExitCode::FAILURE
        }
    }
}

fn serve(cli: &Cli) -> ExitCode {
    let listener = match listen("stage-02", &cli.bind) {
        Ok(listener) => listener,
        Err(message) => {
            eprintln!("stage-02: {message}");
            return ExitCode::FAILURE;
        }
    };
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => handle(stream, cli),
            // A failed accept (a client that reset at once, too many open
            // files) concerns one connection, not the server.
            Err(e) => eprintln!("stage-02: accept failed: {e}"),
        }
    }
    ExitCode::SUCCESS
}

/// Reads one request, prints it, answers with a small fixed response.
fn handle(stream: TcpStream, cli: &Cli) {
    let peer = stream
        .peer_addr()
        .map_or("unknown peer".into(), |a| a.to_string());
    if let Err(e) = stream.set_read_timeout(Some(READ_TIMEOUT)) {
        eprintln!("stage-02: {peer}: {e}");
        return;
    }
    let mut recorder = Recorder {
        inner: &stream,
        seen: Vec::new(),
    };
    let result = read_request(&mut recorder, &mut Vec::new(), &cli.limits.limits());
    println!("--- request from {peer} ---");
    if cli.raw {
        println!("{}", visible(&recorder.seen));
    }
    let answer = match result {
        Ok(Some((request, body))) => {
            print!("{}", describe(&request, &body));
            let text = format!(
                "parsed {} {}; see the server's terminal\n",
                request.method, request.target
            );
            fixed_response(200, "OK", &text)
        }
        Ok(None) => return println!("(closed without sending anything)"),
        Err(e) => {
            report_error(&e);
            match e {
                ReadError::Parse(e) => {
                    let (code, reason) = e.status();
                    fixed_response(code, reason, &format!("{e}\n"))
                }
                ReadError::TimedOut => fixed_response(408, "Request Timeout", "timed out\n"),
                // The client is gone or the socket is broken: no one to answer.
                ReadError::Incomplete { .. } | ReadError::Io(_) => return,
            }
        }
    };
    // If the client has already gone, there is nothing more to do.
    let _ = (&stream).write_all(&answer);
}

fn report_error(e: &ReadError) {
    match e {
        ReadError::Parse(p) => {
            let (code, reason) = p.status();
            println!("refused: {code} {reason}: {p}");
        }
        other => println!("error: {other}"),
    }
}

/// A response written by hand, as in chapter 1. Chapter 3 builds
/// responses properly; this one only has to be correct for plain text.
fn fixed_response(code: u16, reason: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A reader that keeps a copy of every byte it passes on, for `--raw`.
struct Recorder<R> {
    inner: R,
    seen: Vec<u8>,
}

impl<R: Read> Read for Recorder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.seen.extend_from_slice(&out[..n]);
        Ok(n)
    }
}
