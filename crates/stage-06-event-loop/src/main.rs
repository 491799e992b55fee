//! `stage-06 [OPTIONS] [APP]`: serve a WSGI application from an event loop,
//! in one or more worker processes.

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM};
use stage_02::LimitArgs;
use stage_03::SystemClock;
use stage_04::cli::{AppArgs, load};
use stage_04::server::log_to_stderr;
use stage_06::forwarded::Trusted;
use stage_06::listeners::bind_all;
use stage_06::master::{EXIT_LOAD_FAILED, stop_gracefully_when_master_dies};
use stage_06::{
    Bind, EventLoop, Listener, LoopConfig, MasterConfig, MasterExit, Timeouts, run_master,
};

/// Serve a Python WSGI application to many connections at once.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Where to listen: HOST:PORT (port 0 picks a free port), or
    /// unix:PATH for a Unix socket, the usual way behind a proxy on the
    /// same machine (its file is made with mode 660 and removed on exit).
    /// Repeat for several; the default is 127.0.0.1:8000.
    #[arg(long = "bind", value_name = "ADDRESS")]
    binds: Vec<String>,
    /// A directory to put on sys.path before importing the app (repeatable).
    #[arg(long = "pythonpath", value_name = "DIR")]
    pythonpath: Vec<PathBuf>,
    /// The application: module:callable (like app:application, imported
    /// from the current directory) or path/to/file.py:callable. Without
    /// it, a built-in demo app is served.
    app: Option<String>,
    /// Worker processes: start with one per core, more if the app waits on a
    /// database or other services; 0 runs the event loop in this process,
    /// without a master.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Seconds a worker may spend on one request before it is killed.
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
    /// Write no access log (gunicorn writes none unless asked).
    #[arg(long)]
    no_access_log: bool,
    /// The proxies whose X-Forwarded-For and X-Forwarded-Proto set
    /// REMOTE_ADDR and wsgi.url_scheme: addresses and networks
    /// (10.0.0.0/8) separated by commas, or * for every peer (then the
    /// left-most X-Forwarded-For entry is the client: only for a proxy that
    /// replaces the header). From other peers these headers change
    /// nothing. A peer over a Unix socket is always believed.
    #[arg(long, value_name = "IPS", default_value = "127.0.0.1,::1")]
    forwarded_allow_ips: Trusted,
}

fn seconds(value: f64, flag: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("--{flag} must be a positive number of seconds"))
}

impl Cli {
    /// The `--bind` values, or the default every stage listens on.
    fn binds(&self) -> Vec<Bind> {
        if self.binds.is_empty() {
            return vec![Bind::parse(DEFAULT_BIND)];
        }
        self.binds.iter().map(|text| Bind::parse(text)).collect()
    }

    /// What stage-04's app loader needs: where the app is. (Its `--bind`
    /// takes one address; this stage's, several.)
    fn app_args(&self) -> AppArgs {
        AppArgs {
            bind: DEFAULT_BIND.into(),
            pythonpath: self.pythonpath.clone(),
            app: self.app.clone(),
        }
    }
}

const DEFAULT_BIND: &str = "127.0.0.1:8000";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("stage-06: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> Result<ExitCode, String> {
    let config = LoopConfig {
        limits: cli.limits.limits(),
        timeouts: Timeouts {
            keep_alive: seconds(cli.keep_alive, "keep-alive")?,
            header: seconds(cli.header_timeout, "header-timeout")?,
            ..Timeouts::default()
        },
        multiprocess: cli.workers > 1,
        access_log: !cli.no_access_log,
        trusted: cli.forwarded_allow_ips.clone(),
        ..LoopConfig::default()
    };
    let master = MasterConfig {
        workers: cli.workers,
        timeout: seconds(cli.timeout, "timeout")?,
        graceful_timeout: seconds(cli.graceful_timeout, "graceful-timeout")?,
    };
    // Socket files are removed when `_files` is dropped, at the end of
    // this function: in the master (or the only process), never in a
    // worker, which leaves by `exit` and runs no destructors.
    let (listeners, _files) = bind_all(&cli.binds())?;
    let announce = || {
        for listener in &listeners {
            eprintln!("stage-06: Listening on {}", listener.describe());
        }
        let spec = cli.app.as_deref().unwrap_or("the built-in demo app");
        match cli.workers {
            0 => eprintln!(
                "stage-06: serving {spec} in this process (no master, no worker processes)"
            ),
            1 => eprintln!("stage-06: serving {spec} with 1 worker process"),
            n => eprintln!("stage-06: serving {spec} with {n} worker processes"),
        }
    };
    if cli.workers == 0 {
        // No master: load the app here, so that errors show before listening.
        return Ok(
            match serve(
                cli,
                &listeners,
                &config,
                master.graceful_timeout,
                None,
                announce,
            ) {
                0 => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            },
        );
    }
    let worker = |heartbeat| {
        serve(
            cli,
            &listeners,
            &config,
            master.graceful_timeout,
            Some(heartbeat),
            || {},
        )
    };
    match run_master(&listeners, &master, worker, announce) {
        Ok(MasterExit::Stopped) => {
            eprintln!("stage-06: stopped");
            Ok(ExitCode::SUCCESS)
        }
        Ok(MasterExit::LoadFailed) => {
            eprintln!("stage-06: the workers could not load the application (see above)");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(format!("the master failed: {e}")),
    }
}

/// One event loop: load the app, say it is `ready`, serve until told to
/// stop. A worker of the master passes its heartbeat file; the no-master
/// mode runs this in its own process. Returns the process's exit code.
fn serve(
    cli: &Cli,
    listeners: &[Listener],
    config: &LoopConfig,
    graceful: Duration,
    heartbeat: Option<File>,
    ready: impl FnOnce(),
) -> i32 {
    let (app, _) = match load(&cli.app_args()) {
        Ok(loaded) => loaded,
        Err(failure) => {
            eprintln!("stage-06: {}", failure.message);
            return EXIT_LOAD_FAILED;
        }
    };
    let prepared = listeners
        .iter()
        .map(Listener::try_clone)
        .collect::<std::io::Result<Vec<_>>>()
        .and_then(|listeners| EventLoop::new(listeners, app, Arc::new(SystemClock), config.clone()))
        .and_then(|event_loop| {
            for signal in [SIGTERM, SIGINT] {
                signal_hook::flag::register(signal, event_loop.stop_flag())?;
            }
            Ok(event_loop)
        });
    let mut event_loop = match prepared {
        Ok(event_loop) => event_loop,
        Err(e) => {
            eprintln!("stage-06: cannot start the event loop: {e}");
            return 1;
        }
    };
    if let Some(heartbeat) = heartbeat {
        event_loop.set_heartbeat(heartbeat);
        // A worker: SIGTERM reaches this loop's stop flag from now on.
        stop_gracefully_when_master_dies();
    }
    ready();
    match event_loop.run(graceful, log_to_stderr) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("stage-06: the event loop failed: {e}");
            1
        }
    }
}
