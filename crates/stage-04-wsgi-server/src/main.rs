//! `stage-04 [--bind HOST:PORT] [--pythonpath DIR]... [--limit-...] [APP]`:
//! serve a WSGI application, or the built-in demo app when no APP is given.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use stage_02::LimitArgs;
use stage_03::SystemClock;
use stage_04::cli::{AppArgs, run};
use stage_04::{Server, ServerConfig};

/// Serve a Python WSGI application, one request at a time.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = ServerConfig {
        limits: cli.limits.limits(),
        ..ServerConfig::default()
    };
    run("stage-04", &cli.app, |listener, app| {
        Server::new(listener, app, Arc::new(SystemClock), config)
    })
}
