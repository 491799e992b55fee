//! `stage-07 [OPTIONS] [APP]`: serve an ASGI application from asyncio's
//! loop, in one or more worker processes.

use std::fs::File;
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use pyo3::prelude::*;
use signal_hook::consts::{SIGINT, SIGTERM};
use stage_03::SystemClock;
use stage_04::cli::AppArgs;
use stage_04::python::traceback_text;
use stage_06::cli::ServerArgs;
use stage_06::master::{EXIT_LOAD_FAILED, stop_gracefully_when_master_dies};
use stage_06::{MasterExit, run_master};
use stage_07::{
    Config, LifespanMode, LoopKind, Server, WorkerEnd, WorkerOptions, load_asgi_app, run_worker,
};

/// Serve a Python ASGI application (Starlette, FastAPI, raw ASGI).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    server: ServerArgs,
    /// Whether the app gets the lifespan scope (startup and shutdown).
    #[arg(long, value_enum, default_value_t = LifespanMode::Auto)]
    lifespan: LifespanMode,
    /// The event loop: uvloop when installed (auto), or asyncio's own.
    #[arg(long = "loop", value_enum, default_value_t = LoopKind::Auto)]
    loop_kind: LoopKind,
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
        limits: cli.server.limits.limits(),
        timeouts: cli.server.timeouts()?,
        access_log: !cli.server.no_access_log,
        ..Config::default()
    };
    let master = cli.server.master()?;
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
    if cli.server.workers == 0 {
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
        match cli.server.workers {
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
