//! `stage-05 [OPTIONS] [APP]`: serve a WSGI application over persistent
//! HTTP/1.1 connections, one connection at a time.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use stage_02::Limits;
use stage_03::SystemClock;
use stage_04::cli::{AppArgs, run};
use stage_05::{Server, ServerConfig};

/// Serve a Python WSGI application with HTTP/1.1 keep-alive.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    app: AppArgs,
    /// Longest request line, in bytes (longer: 414).
    #[arg(long, default_value_t = Limits::default().max_request_line)]
    limit_request_line: usize,
    /// Most header lines in a request (more: 431).
    #[arg(long, default_value_t = Limits::default().max_headers)]
    limit_request_fields: usize,
    /// Most bytes in a request head (more: 431).
    #[arg(long, default_value_t = Limits::default().max_head_bytes)]
    limit_request_head_size: usize,
    /// Largest request body, in bytes (larger: 413).
    #[arg(long, default_value_t = Limits::default().max_body_bytes)]
    limit_request_body: u64,
    /// Seconds an idle connection is kept open for another request.
    #[arg(long, default_value_t = 5.0)]
    keep_alive: f64,
    /// Seconds a client has to send a whole request head (408 after).
    #[arg(long, default_value_t = 10.0)]
    header_timeout: f64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let seconds = |value: f64, flag: &str| {
        Duration::try_from_secs_f64(value)
            .map_err(|_| format!("--{flag} must be a positive number of seconds"))
    };
    let timeouts = seconds(cli.keep_alive, "keep-alive")
        .and_then(|k| Ok((k, seconds(cli.header_timeout, "header-timeout")?)));
    let (keep_alive, header_timeout) = match timeouts {
        Ok(timeouts) => timeouts,
        Err(message) => {
            eprintln!("stage-05: {message}");
            return ExitCode::from(2);
        }
    };
    let config = ServerConfig {
        limits: Limits {
            max_request_line: cli.limit_request_line,
            max_headers: cli.limit_request_fields,
            max_head_bytes: cli.limit_request_head_size,
            max_body_bytes: cli.limit_request_body,
        },
        keep_alive,
        header_timeout,
        ..ServerConfig::default()
    };
    run("stage-05", &cli.app, |listener, app| {
        Server::new(listener, app, Arc::new(SystemClock), config)
    })
}
