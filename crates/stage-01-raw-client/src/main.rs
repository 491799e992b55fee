//! `stage-01 [URL]`: send one HTTP/1.1 request and show both directions.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use stage_01::{FetchError, FetchOptions, Url, build_request, fetch, split_response, visible};

/// Send one HTTP/1.1 request over a raw TCP socket and print the response
/// with CR and LF made visible.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The http:// URL to fetch.
    #[arg(default_value = "http://127.0.0.1:8000/")]
    url: String,
    /// Also print the request bytes that were sent.
    #[arg(long)]
    show_request: bool,
    /// Print the response bytes exactly as received, with nothing escaped.
    #[arg(long)]
    raw: bool,
    /// The request method.
    #[arg(short = 'X', long, default_value = "GET")]
    method: String,
    /// A request body, sent with a Content-Length header.
    #[arg(short, long, default_value = "")]
    data: String,
    /// Seconds to wait for the connection and for each read.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
}

/// Exit code for a URL that cannot be fetched at all, as for a usage error.
const EXIT_BAD_URL: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let url = match Url::parse(&cli.url) {
        Ok(url) => url,
        Err(e) => {
            eprintln!("stage-01: {e}");
            return ExitCode::from(EXIT_BAD_URL);
        }
    };
    if cli.method.is_empty() || !cli.method.bytes().all(|b| b.is_ascii_uppercase()) {
        eprintln!("stage-01: the method must be upper-case letters, like GET or POST");
        return ExitCode::from(EXIT_BAD_URL);
    }
    let Ok(timeout) = Duration::try_from_secs_f64(cli.timeout) else {
        eprintln!("stage-01: --timeout must be a positive number of seconds");
        return ExitCode::from(EXIT_BAD_URL);
    };

    let request = build_request(&cli.method, &url, cli.data.as_bytes());
    if cli.show_request {
        println!("--- request: {} bytes ---", request.len());
        println!("{}", visible(&request));
    }

    let options = FetchOptions {
        connect_timeout: timeout,
        read_timeout: timeout,
        ..Default::default()
    };
    let response = match fetch(&url, &request, &options) {
        Ok(bytes) => bytes,
        Err(FetchError::Refused { addr }) => {
            eprintln!(
                "stage-01: nothing is listening on {addr}; start a server in another terminal first, \
                 for example: cargo run -p stage-03"
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("stage-01: {e}");
            return ExitCode::FAILURE;
        }
    };

    if cli.raw {
        let mut stdout = std::io::stdout().lock();
        return match stdout.write_all(&response).and_then(|()| stdout.flush()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }
    if cli.show_request {
        println!("--- response: {} bytes ---", response.len());
    }
    println!("{}", visible(&response));
    match split_response(&response) {
        Ok(parsed) => {
            eprintln!(
                "stage-01: {} {} with {} header(s) and a {}-byte body",
                parsed.status,
                parsed.reason,
                parsed.headers.len(),
                parsed.body.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stage-01: {e}");
            ExitCode::FAILURE
        }
    }
}
