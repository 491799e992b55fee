//! `stage-05 [OPTIONS] [APP]`: serve a WSGI application over persistent
//! HTTP/1.1 connections, one connection at a time.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use stage_02::LimitArgs;
use stage_03::SystemClock;
use stage_04::cli::{AppArgs, run};
use stage_05::{Server, ServerConfig};

/// Serve a Python WSGI application with HTTP/1.1 keep-alive.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    limits: LimitArgs,
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
        limits: cli.limits.limits(),
        keep_alive,
        header_timeout,
        ..ServerConfig::default()
    };
    run("stage-05", &cli.app, |listener, app| {
        Server::new(listener, app, Arc::new(SystemClock), config)
    })
}
