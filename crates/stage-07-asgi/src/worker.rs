//! One worker, from the app's loading to its exit: the Rust side makes the
//! [`Server`], the embedded `worker.py` runs asyncio's loop with the
//! server as its guest, the lifespan around it.

use std::ffi::CString;
use std::time::Duration;

use pyo3::prelude::*;
use stage_04::AppSpec;
use stage_04::app::LoadError;
use stage_04::cli::{AppArgs, LoadFailure, load};
use stage_04::python::{prepare, traceback_text};

use crate::server::Server;

/// The Python half of a worker's life (startup, serve, drain, shutdown).
pub const WORKER_SOURCE: &str = include_str!("worker.py");

/// The Python source of the demo app served when no APP is given.
pub const DEMO_SOURCE: &str = include_str!("demo_app.py");

/// `--lifespan`: whether the app gets the lifespan scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LifespanMode {
    /// Yes, and an app that raises on it is served without it.
    Auto,
    /// Yes, and an app that raises on it is not served.
    On,
    /// No.
    Off,
}

/// `--loop`: which asyncio loop hosts the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LoopKind {
    /// uvloop if it is installed, else asyncio's own.
    Auto,
    /// asyncio's own loop.
    Asyncio,
    /// uvloop (an error if it is not installed).
    Uvloop,
}

/// What a worker runs with, beside its server.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// `--lifespan`.
    pub lifespan: LifespanMode,
    /// `--loop`.
    pub loop_kind: LoopKind,
    /// How long requests in flight get to finish on SIGTERM.
    pub graceful: Duration,
    /// A line to print once serving (the no-master mode's "Listening on").
    pub announce: Option<String>,
}

/// How a worker ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerEnd {
    /// Stopped by a signal, after draining.
    Stopped,
    /// The app's lifespan startup failed: nothing was served.
    StartupFailed,
}

/// Loads the app the arguments name, or the built-in demo without one.
pub fn load_asgi_app(args: &AppArgs) -> Result<Py<PyAny>, LoadFailure> {
    if args.app.is_some() {
        return load(args).map(|(app, _)| app);
    }
    Python::attach(|py| {
        prepare(py, &args.pythonpath).map_err(|e| traceback_text(py, &e))?;
        let code = CString::new(DEMO_SOURCE).unwrap_or_default();
        let module = PyModule::from_code(py, &code, c"demo_app.py", c"stage07_demo")
            .map_err(|e| LoadError::ImportFailed {
                what: "the demo app".into(),
                traceback: traceback_text(py, &e),
            })
            .map_err(|e| e.to_string())?;
        Ok(module
            .getattr("application")
            .map_err(|e| e.to_string())?
            .unbind())
    })
    .map_err(|message: String| LoadFailure {
        message: format!("cannot load {}: {message}", AppSpec::Demo),
        exit_code: 1,
    })
}

// ANCHOR: run_worker
/// Runs `server` for `app` in a new asyncio loop until it is stopped.
pub fn run_worker(
    py: Python<'_>,
    server: Server,
    app: Py<PyAny>,
    options: &WorkerOptions,
) -> PyResult<WorkerEnd> {
    let code = CString::new(WORKER_SOURCE).unwrap_or_default();
    let worker = PyModule::from_code(py, &code, c"stage07_worker.py", c"stage07_worker")?;
    worker.setattr("LOG_LEVEL", python_log_level())?;
    let lifespan = match options.lifespan {
        LifespanMode::Auto => "auto",
        LifespanMode::On => "on",
        LifespanMode::Off => "off",
    };
    let loop_kind = match options.loop_kind {
        LoopKind::Auto => "auto",
        LoopKind::Asyncio => "asyncio",
        LoopKind::Uvloop => "uvloop",
    };
    let server = Bound::new(py, server)?;
    let args = (
        server,
        app,
        lifespan,
        loop_kind,
        options.graceful.as_secs_f64(),
        options.announce.as_deref(),
    );
    let served: bool = worker.getattr("run")?.call1(args)?.extract()?;
    Ok(if served {
        WorkerEnd::Stopped
    } else {
        WorkerEnd::StartupFailed
    })
}
// ANCHOR_END: run_worker

/// `--log-level` as Python's logging numbers it, for `worker.py`'s own
/// lines: the least important level stage-06's logging lets through.
fn python_log_level() -> u8 {
    use stage_06::logging::{Level, enabled};
    let levels = [
        (Level::Debug, 10),
        (Level::Info, 20),
        (Level::Warning, 30),
        (Level::Error, 40),
    ];
    levels
        .into_iter()
        .find(|(level, _)| enabled(*level))
        .map_or(50, |(_, number)| number)
}
