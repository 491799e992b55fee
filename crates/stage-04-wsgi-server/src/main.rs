//! `stage-04 [--bind HOST:PORT] [--pythonpath DIR]... [APP]`: serve a WSGI
//! application, or the built-in demo app when no APP is given.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use stage_02::listen;
use stage_03::SystemClock;
use stage_04::cli::{AppArgs, load, stop_on_signals};
use stage_04::server::log_to_stderr;
use stage_04::{Server, ServerConfig};

/// Serve a Python WSGI application, one request at a time.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    app: AppArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (app, spec) = match load(&cli.app) {
        Ok(loaded) => loaded,
        Err(failure) => {
            eprintln!("stage-04: {}", failure.message);
            return ExitCode::from(failure.exit_code);
        }
    };
    let listener = match listen("stage-04", &cli.app.bind) {
        Ok(listener) => listener,
        Err(message) => {
            eprintln!("stage-04: {message}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("stage-04: serving {spec}");
    let server = Server::new(
        listener,
        app,
        Arc::new(SystemClock),
        ServerConfig::default(),
    );
    let signals = server
        .local_addr()
        .and_then(|addr| stop_on_signals("stage-04", server.stop_flag(), addr));
    if let Err(e) = signals {
        eprintln!("stage-04: cannot install signal handlers: {e}");
        return ExitCode::FAILURE;
    }
    server.serve(log_to_stderr);
    eprintln!("stage-04: stopped");
    ExitCode::SUCCESS
}
