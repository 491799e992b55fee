//! `stage-04 [--bind HOST:PORT] [--pythonpath DIR]... [APP]`: serve a WSGI
//! application, or the built-in demo app when no APP is given.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;
use pyo3::prelude::*;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use stage_02::listen;
use stage_03::SystemClock;
use stage_04::server::log_to_stderr;
use stage_04::{AppSpec, Server, ServerConfig, load_app, python};

/// Serve a Python WSGI application, one request at a time.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8000")]
    bind: String,
    /// A directory to put on sys.path before importing the app (repeatable).
    #[arg(long = "pythonpath", value_name = "DIR")]
    pythonpath: Vec<PathBuf>,
    /// The application: module:callable (like app:application, imported
    /// from the current directory) or path/to/file.py:callable. Without
    /// it, a built-in demo app is served.
    app: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let spec = match cli.app.as_deref().map(AppSpec::parse) {
        None => AppSpec::Demo,
        Some(Ok(spec)) => spec,
        Some(Err(e)) => {
            eprintln!("stage-04: {e}");
            return ExitCode::from(2);
        }
    };
    let loaded = Python::attach(|py| {
        python::prepare(py, &cli.pythonpath).map_err(|e| python::traceback_text(py, &e))?;
        load_app(py, &spec).map_err(|e| e.to_string())
    });
    let app = match loaded {
        Ok(app) => app,
        Err(message) => {
            eprintln!("stage-04: cannot load {spec}: {message}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match listen("stage-04", &cli.bind) {
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
    if let Err(e) = server
        .local_addr()
        .and_then(|addr| stop_on_signals(server.stop_flag(), addr))
    {
        eprintln!("stage-04: cannot install signal handlers: {e}");
        return ExitCode::FAILURE;
    }
    server.serve(log_to_stderr);
    eprintln!("stage-04: stopped");
    ExitCode::SUCCESS
}

// ANCHOR: signals
/// On SIGINT (Ctrl-C) or SIGTERM, sets `stop` and wakes the server's
/// blocked `accept` by connecting to it; the server finishes the request
/// in flight, sees the flag, and returns. A second signal exits at once.
fn stop_on_signals(stop: Arc<AtomicBool>, addr: SocketAddr) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if stop.swap(true, Ordering::SeqCst) {
                eprintln!("stage-04: second signal, exiting now");
                std::process::exit(1);
            }
            eprintln!("stage-04: stopping after the request in flight (again to exit now)");
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
