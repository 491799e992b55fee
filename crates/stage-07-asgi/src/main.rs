//! `stage-07 [OPTIONS] [APP]`: serve an ASGI application from asyncio's
//! loop, in one or more worker processes.

use std::fs::File;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use pyo3::prelude::*;
use signal_hook::consts::{SIGINT, SIGTERM};
use stage_03::SystemClock;
use stage_04::python::traceback_text;
use stage_06::access_log::Format;
use stage_06::cli::{DeployArgs, ServerArgs};
use stage_06::listeners::bind_all;
use stage_06::log_files::{AccessSink, redirect_stderr};
use stage_06::logging::{self, Level};
use stage_06::master::{
    EXIT_LOAD_FAILED, request_limit, stop_gracefully_when_master_dies, worker_random,
};
use stage_06::{Listener, MasterExit, error, info, run_master};
use stage_07::{
    Config, LifespanMode, LoopKind, Server, WorkerEnd, WorkerOptions, load_asgi_app, run_worker,
};

/// Serve a Python ASGI application (Starlette, FastAPI, raw ASGI).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    deploy: DeployArgs,
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
    let deploy = &cli.deploy;
    logging::set_level(deploy.log_level);
    redirect_stderr(&deploy.error_logfile)?;
    deploy.check(cli.server.workers)?;
    let access = AccessSink::open(deploy.access_logfile.as_deref())?;
    let config = Config {
        limits: cli.server.limits.limits(),
        timeouts: cli.server.timeouts()?,
        access_log: !cli.server.no_access_log,
        trusted: deploy.forwarded_allow_ips.clone(),
        ..Config::default()
    };
    let master = cli.server.master()?;
    // Socket files are removed when `_files` is dropped, at the end of
    // this function: in the master (or the only process), never in a
    // worker, which leaves by `exit` and runs no destructors.
    let (listeners, _files) = bind_all(&deploy.binds())?;
    let spec = deploy.app.as_deref().unwrap_or("the built-in demo app");
    let listening: Vec<String> = listeners.iter().map(Listener::describe).collect();
    let worker = |heartbeat, announce| {
        let options = WorkerOptions {
            lifespan: cli.lifespan,
            loop_kind: cli.loop_kind,
            graceful: master.graceful_timeout,
            announce,
        };
        serve(cli, &listeners, &config, &access, &options, heartbeat)
    };
    if cli.server.workers == 0 {
        info!("serving {spec} in this process (no master, no worker processes)");
        // Said by the worker once the app's startup is done: ready.
        let announce = logging::enabled(Level::Info).then(|| {
            let program = logging::program();
            let lines = listening
                .iter()
                .map(|l| format!("{program}: Listening on {l}"));
            lines.collect::<Vec<_>>().join("\n")
        });
        return Ok(match worker(None, announce) {
            0 => ExitCode::SUCCESS,
            _ => ExitCode::FAILURE,
        });
    }
    let ready = || {
        for listener in &listening {
            info!("Listening on {listener}");
        }
        match cli.server.workers {
            1 => info!("serving {spec} with 1 worker process"),
            n => info!("serving {spec} with {n} worker processes"),
        }
    };
    match run_master(
        &listeners,
        &master,
        |heartbeat| worker(Some(heartbeat), None),
        ready,
    ) {
        Ok(MasterExit::Stopped) => {
            info!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Ok(MasterExit::LoadFailed) => {
            error!("the workers could not load or start the application (see above)");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(format!("the master failed: {e}")),
    }
}

/// One worker: load the app, serve until told to stop. A worker of the
/// master passes its heartbeat file. Returns the process's exit code.
fn serve(
    cli: &Cli,
    listeners: &[Listener],
    config: &Config,
    access: &AccessSink,
    options: &WorkerOptions,
    heartbeat: Option<File>,
) -> i32 {
    let app = match load_asgi_app(&cli.deploy.app_args()) {
        Ok(app) => app,
        Err(failure) => {
            error!("{}", failure.message);
            return EXIT_LOAD_FAILED;
        }
    };
    let mut config = config.clone();
    if heartbeat.is_some() {
        // A worker of the master: its own limit, the jitter drawn after
        // the fork, so that each worker draws its own.
        let deploy = &cli.deploy;
        config.max_requests = request_limit(
            deploy.max_requests,
            deploy.max_requests_jitter,
            worker_random(),
        );
    }
    Python::attach(|py| {
        let prepared = listeners
            .iter()
            .map(Listener::try_clone)
            .collect::<std::io::Result<Vec<_>>>()
            .and_then(|listeners| {
                let clock = Arc::new(SystemClock);
                let mut server = Server::new(py, listeners, app.clone_ref(py), clock, config)?;
                let format = Format::parse(&cli.deploy.access_logformat);
                server.set_access_log(format, access.for_worker()?);
                for signal in [SIGTERM, SIGINT] {
                    signal_hook::flag::register(signal, server.stop_flag())?;
                }
                Ok(server)
            });
        let mut server = match prepared {
            Ok(server) => server,
            Err(e) => {
                error!("cannot start the server: {e}");
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
            Err(e) => {
                error!("the worker failed:\n{}", traceback_text(py, &e));
                1
            }
        }
    })
}
