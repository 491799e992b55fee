//! `stage-07 [OPTIONS] [APP]`: serve an ASGI application from asyncio's
//! loop, in one or more worker processes.

use std::fs::File;
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use pyo3::prelude::*;
use signal_hook::consts::{SIGINT, SIGTERM};
use stage_02::LimitArgs;
use stage_03::SystemClock;
use stage_04::cli::AppArgs;
use stage_04::python::traceback_text;
use stage_06::master::{EXIT_LOAD_FAILED, stop_gracefully_when_master_dies};
use stage_06::{MasterConfig, MasterExit, Timeouts, run_master};
use stage_07::{
    Config, LifespanMode, LoopKind, Server, WorkerEnd, WorkerOptions, load_asgi_app, run_worker,
};

/// Serve a Python ASGI application (Starlette, FastAPI, raw ASGI).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    app: AppArgs,
    /// Worker processes, each with its own asyncio loop; 0 serves in this
    /// process, without a master.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Seconds a worker's loop may be stuck (in a blocking call of the
    /// app) before the master kills it.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Seconds workers get to finish their requests on SIGTERM or reload.
    #[arg(long, default_value_t = 30.0)]
    graceful_timeout: f64,
    /// Seconds an idle connection is kept open for another request.
    #[arg(long, default_value_t = 5.0)]
    keep_alive: f64,
    /// Seconds a client has to send a whole request head (408 after).
    #[arg(long, default_value_t = 10.0)]
    header_timeout: f64,
    #[command(flatten)]
    limits: LimitArgs,
    /// Write no access log.
    #[arg(long)]
    no_access_log: bool,
    /// Whether the app gets the lifespan scope (startup and shutdown).
    #[arg(long, value_enum, default_value_t = LifespanMode::Auto)]
    lifespan: LifespanMode,
    /// The event loop: uvloop when installed (auto), or asyncio's own.
    #[arg(long = "loop", value_enum, default_value_t = LoopKind::Auto)]
    loop_kind: LoopKind,
}

fn seconds(value: f64, flag: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("--{flag} must be a positive number of seconds"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("stage-07: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> Result<ExitCode, String> {
    let config = Config {
        limits: cli.limits.limits(),
        timeouts: Timeouts {
            keep_alive: seconds(cli.keep_alive, "keep-alive")?,
            header: seconds(cli.header_timeout, "header-timeout")?,
            ..Timeouts::default()
        },
        access_log: !cli.no_access_log,
        ..Config::default()
    };
    let master = MasterConfig {
        workers: cli.workers,
        timeout: seconds(cli.timeout, "timeout")?,
        graceful_timeout: seconds(cli.graceful_timeout, "graceful-timeout")?,
    };
    let listener = TcpListener::bind(&cli.app.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", cli.app.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let spec = cli.app.app.as_deref().unwrap_or("the built-in demo app");
    let announce = format!("stage-07: Listening on http://{addr}");
    let options = |announce: Option<String>| WorkerOptions {
        lifespan: cli.lifespan,
        loop_kind: cli.loop_kind,
        graceful: master.graceful_timeout,
        announce,
    };
    if cli.workers == 0 {
        eprintln!("stage-07: serving {spec} in this process (no master, no worker processes)");
        let code = serve(cli, &listener, &config, &options(Some(announce)), None);
        return Ok(if code == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let worker = |heartbeat| serve(cli, &listener, &config, &options(None), Some(heartbeat));
    let ready = || {
        eprintln!("{announce}");
        match cli.workers {
            1 => eprintln!("stage-07: serving {spec} with 1 worker process"),
            n => eprintln!("stage-07: serving {spec} with {n} worker processes"),
        }
    };
    // The master only keeps the socket open, for every fork to share.
    let shared = listener
        .try_clone()
        .map_err(|e| format!("cannot share the listening socket: {e}"))?;
    match run_master(&[shared.into()], &master, worker, ready) {
        Ok(MasterExit::Stopped) => {
            eprintln!("stage-07: stopped");
            Ok(ExitCode::SUCCESS)
        }
        Ok(MasterExit::LoadFailed) => {
            eprintln!("stage-07: the workers could not load or start the application (see above)");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(format!("the master failed: {e}")),
    }
}

/// One worker: load the app, serve until told to stop. Returns the
/// process's exit code.
fn serve(
    cli: &Cli,
    listener: &TcpListener,
    config: &Config,
    options: &WorkerOptions,
    heartbeat: Option<File>,
) -> i32 {
    let app = match load_asgi_app(&cli.app) {
        Ok(app) => app,
        Err(failure) => {
            eprintln!("stage-07: {}", failure.message);
            return EXIT_LOAD_FAILED;
        }
    };
    Python::attach(|py| {
        let prepared = listener.try_clone().and_then(|listener| {
            let server = Server::new(
                py,
                listener,
                app.clone_ref(py),
                Arc::new(SystemClock),
                config.clone(),
            )?;
            for signal in [SIGTERM, SIGINT] {
                signal_hook::flag::register(signal, server.stop_flag())?;
            }
            Ok(server)
        });
        let mut server = match prepared {
            Ok(server) => server,
            Err(e) => {
                eprintln!("stage-07: cannot start the server: {e}");
                return 1;
            }
        };
        if let Some(heartbeat) = heartbeat {
            server.set_heartbeat(heartbeat);
            stop_gracefully_when_master_dies();
        }
        match run_worker(py, server, app, options) {
            Ok(WorkerEnd::Stopped) => 0,
            Ok(WorkerEnd::StartupFailed) => EXIT_LOAD_FAILED,
            Err(error) => {
                eprintln!(
                    "stage-07: the worker failed:\n{}",
                    traceback_text(py, &error)
                );
                1
            }
        }
    })
}
