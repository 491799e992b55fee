//! What every server stage's command line shares: where to listen, which
//! application to load, and how to stop.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::prelude::*;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::app::{AppSpec, load_app};
use crate::python;
use crate::server::{Serve, log_to_stderr};

/// The arguments of `stage-0N [--bind HOST:PORT] [--pythonpath DIR]... [APP]`.
#[derive(clap::Args, Debug, Clone)]
pub struct AppArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub bind: String,
    /// A directory to put on sys.path before importing the app (repeatable).
    #[arg(long = "pythonpath", value_name = "DIR")]
    pub pythonpath: Vec<PathBuf>,
    /// The application: module:callable (like app:application, imported
    /// from the current directory) or path/to/file.py:callable. Without
    /// it, a built-in demo app is served.
    pub app: Option<String>,
}

/// Why the app could not be loaded, with the exit code to leave with:
/// 2 for an APP argument that does not parse, 1 for everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailure {
    /// The message for the user.
    pub message: String,
    /// The process exit code.
    pub exit_code: u8,
}

/// Prepares `sys.path` and loads the application the arguments name.
pub fn load(args: &AppArgs) -> Result<(Py<PyAny>, AppSpec), LoadFailure> {
    let spec = match args.app.as_deref().map(AppSpec::parse) {
        None => AppSpec::Demo,
        Some(Ok(spec)) => spec,
        Some(Err(e)) => {
            return Err(LoadFailure {
                message: e.to_string(),
                exit_code: 2,
            });
        }
    };
    let loaded = Python::attach(|py| {
        python::prepare(py, &args.pythonpath).map_err(|e| python::traceback_text(py, &e))?;
        load_app(py, &spec).map_err(|e| e.to_string())
    });
    match loaded {
        Ok(app) => Ok((app, spec)),
        Err(message) => Err(LoadFailure {
            message: format!("cannot load {spec}: {message}"),
            exit_code: 1,
        }),
    }
}

// ANCHOR: run
/// The life of a server stage's process: load the app, listen, arrange to
/// stop on signals, serve, exit 0. `build` makes the stage's server.
pub fn run<S: Serve>(
    program: &'static str,
    args: &AppArgs,
    build: impl FnOnce(TcpListener, Py<PyAny>) -> S,
) -> ExitCode {
    let (app, spec) = match load(args) {
        Ok(loaded) => loaded,
        Err(failure) => {
            eprintln!("{program}: {}", failure.message);
            return ExitCode::from(failure.exit_code);
        }
    };
    let listener = match stage_02::listen(program, &args.bind) {
        Ok(listener) => listener,
        Err(message) => {
            eprintln!("{program}: {message}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("{program}: serving {spec}");
    let server = build(listener, app);
    let core = server.core();
    if let Err(e) = core
        .local_addr()
        .and_then(|addr| stop_on_signals(program, core.stop_flag(), addr))
    {
        eprintln!("{program}: cannot install signal handlers: {e}");
        return ExitCode::FAILURE;
    }
    server.serve(log_to_stderr);
    eprintln!("{program}: stopped");
    ExitCode::SUCCESS
}
// ANCHOR_END: run

// ANCHOR: signals
/// On SIGINT (Ctrl-C) or SIGTERM, sets `stop` and wakes the server's
/// blocked `accept` by connecting to it; the server finishes the request
/// in flight, sees the flag, and returns. A second signal exits at once.
pub fn stop_on_signals(
    program: &'static str,
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if stop.swap(true, Ordering::SeqCst) {
                eprintln!("{program}: second signal, exiting now");
                std::process::exit(1);
            }
            eprintln!("{program}: stopping after the request in flight (again to exit now)");
            let _ = TcpStream::connect_timeout(&reachable(addr), Duration::from_secs(1));
        }
    });
    Ok(())
}
// ANCHOR_END: signals

/// A listener on 0.0.0.0 or [::] is reached through loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}
