//! `stage-06 [OPTIONS] [APP]`: serve a WSGI application from an event loop,
//! in one or more worker processes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM};
use stage_03::SystemClock;
use stage_04::cli::{AppArgs, load};
use stage_06::access_log::{DEFAULT_FORMAT, Finished, Format};
use stage_06::cli::{ServerArgs, ThreadArgs};
use stage_06::forwarded::Trusted;
use stage_06::listeners::bind_all;
use stage_06::logging::{self, Level};
use stage_06::master::{
    EXIT_LOAD_FAILED, request_limit, stop_gracefully_when_master_dies, worker_random,
};
use stage_06::{Bind, EventLoop, Listener, LoopConfig, MasterExit, run_master};
use stage_06::{debug, error, info};

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
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    threads: ThreadArgs,
    /// The proxies whose X-Forwarded-For and X-Forwarded-Proto set
    /// REMOTE_ADDR and wsgi.url_scheme: addresses and networks
    /// (10.0.0.0/8) separated by commas, or * for every peer (then the
    /// left-most X-Forwarded-For entry is the client: only for a proxy that
    /// replaces the header). From other peers these headers change
    /// nothing. A peer over a Unix socket is always believed.
    #[arg(long, value_name = "IPS", default_value = "127.0.0.1,::1")]
    forwarded_allow_ips: Trusted,
    /// Replace each worker after it has handled this many requests, so
    /// that memory a leaking app holds is given back; 0 never does. The
    /// worker finishes its requests, then exits, and the master starts a
    /// new one; connections wait in the socket meanwhile. Needs --workers
    /// 1 or more.
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_requests: u64,
    /// Add a random number from 0 to N to each worker's --max-requests,
    /// so that workers started together are not all replaced at once.
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_requests_jitter: u64,
    /// Where the access log goes: a file, appended to, or - for standard
    /// output. Without it, the lines go to standard error (with the error
    /// log).
    #[arg(long, value_name = "FILE", conflicts_with = "no_access_log")]
    access_logfile: Option<PathBuf>,
    /// The access log's line, with gunicorn's atoms: %(h)s client address,
    /// %(l)s -, %(u)s Basic-auth user, %(t)s time, %(r)s request line,
    /// %(s)s status, %(b)s / %(B)s body bytes, %(f)s referer, %(a)s user
    /// agent, %(D)s duration in microseconds, %(M)s milliseconds, %(T)s
    /// seconds, %(L)s seconds with decimals, %(m)s method, %(U)s path,
    /// %(q)s query, %(H)s protocol, %(p)s pid, %({header}i)s a request
    /// header, %({header}o)s a response header the app set; %% for a %.
    #[arg(long, value_name = "FORMAT", default_value = DEFAULT_FORMAT)]
    access_logformat: String,
    /// Where the error log goes: a file, appended to, or - for standard
    /// error. It has the server's messages, the app's tracebacks, and what
    /// the app writes to wsgi.errors or sys.stderr.
    #[arg(long, value_name = "FILE", default_value = "-")]
    error_logfile: PathBuf,
    /// The least important of the server's messages to write.
    #[arg(long, value_enum, value_name = "LEVEL", default_value = "info")]
    log_level: Level,
}

/// Where access-log lines go.
enum AccessSink {
    Stderr,
    Stdout,
    /// Opened for appending: every line lands at the end, whichever
    /// worker writes it.
    File(File),
}

impl AccessSink {
    fn open(path: Option<&PathBuf>) -> Result<AccessSink, String> {
        match path {
            None => Ok(AccessSink::Stderr),
            Some(path) if path.as_os_str() == "-" => Ok(AccessSink::Stdout),
            Some(path) => append_to(path).map(AccessSink::File),
        }
    }

    fn try_clone(&self) -> std::io::Result<AccessSink> {
        Ok(match self {
            AccessSink::Stderr => AccessSink::Stderr,
            AccessSink::Stdout => AccessSink::Stdout,
            AccessSink::File(file) => AccessSink::File(file.try_clone()?),
        })
    }

    /// Writes a whole line in one write, so that no other worker's line
    /// can land in the middle of it (see stage-04's `log::write_line`).
    fn write_line(&mut self, line: &str) {
        // A log line that cannot be written is not worth failing a request for.
        let _ = match self {
            AccessSink::Stderr => std::io::stderr().write_all(line.as_bytes()),
            AccessSink::Stdout => std::io::stdout().write_all(line.as_bytes()),
            AccessSink::File(file) => file.write_all(line.as_bytes()),
        };
    }
}

fn append_to(path: &PathBuf) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {} for appending: {e}", path.display()))
}

/// Points standard error at the error log file, for this process and the
/// workers it forks, Python's `sys.stderr` included: one descriptor, so
/// that nothing written to standard error misses the file.
fn redirect_stderr(path: &PathBuf) -> Result<(), String> {
    if path.as_os_str() == "-" {
        return Ok(());
    }
    let file = append_to(path)?;
    nix::unistd::dup2_stderr(&file)
        .map_err(|e| format!("cannot send standard error to {}: {e}", path.display()))
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
    logging::set_level(cli.log_level);
    redirect_stderr(&cli.error_logfile)?;
    if cli.max_requests > 0 && cli.server.workers == 0 {
        return Err(
            "--max-requests needs a master to replace the worker: use --workers 1 or more".into(),
        );
    }
    let access = AccessSink::open(cli.access_logfile.as_ref())?;
    let config = LoopConfig {
        limits: cli.server.limits.limits(),
        timeouts: cli.server.timeouts()?,
        multiprocess: cli.server.workers > 1,
        access_log: !cli.server.no_access_log,
        trusted: cli.forwarded_allow_ips.clone(),
        threads: cli.threads.threads.get(),
        ..LoopConfig::default()
    };
    let master = cli.server.master()?;
    // Socket files are removed when `_files` is dropped, at the end of
    // this function: in the master (or the only process), never in a
    // worker, which leaves by `exit` and runs no destructors.
    let (listeners, _files) = bind_all(&cli.binds())?;
    let announce = || {
        for listener in &listeners {
            info!("Listening on {}", listener.describe());
        }
        let spec = cli.app.as_deref().unwrap_or("the built-in demo app");
        let threads = match config.threads {
            1 => String::new(),
            n => format!(", {n} threads each"),
        };
        match cli.server.workers {
            0 => info!("serving {spec} in this process (no master, no worker processes){threads}"),
            1 => info!("serving {spec} with 1 worker process{threads}"),
            n => info!("serving {spec} with {n} worker processes{threads}"),
        }
    };
    if cli.server.workers == 0 {
        // No master: load the app here, so that errors show before listening.
        return Ok(
            match serve(
                cli,
                &listeners,
                &config,
                &access,
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
            &access,
            master.graceful_timeout,
            Some(heartbeat),
            || {},
        )
    };
    match run_master(&listeners, &master, worker, announce) {
        Ok(MasterExit::Stopped) => {
            info!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Ok(MasterExit::LoadFailed) => {
            error!("the workers could not load the application (see above)");
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
    access: &AccessSink,
    graceful: Duration,
    heartbeat: Option<File>,
    ready: impl FnOnce(),
) -> i32 {
    let (app, _) = match load(&cli.app_args()) {
        Ok(loaded) => loaded,
        Err(failure) => {
            error!("{}", failure.message);
            return EXIT_LOAD_FAILED;
        }
    };
    let pid = std::process::id();
    let mut config = config.clone();
    if heartbeat.is_some() {
        // A worker of the master: its own limit, jitter drawn here, after
        // the fork, so that each worker draws its own.
        config.max_requests =
            request_limit(cli.max_requests, cli.max_requests_jitter, worker_random());
    }
    debug!(
        "worker {pid} loaded the app; it will serve {}",
        config
            .max_requests
            .map_or("until stopped".into(), |n| format!("{n} requests"))
    );
    let log = match access.try_clone() {
        Ok(mut sink) => {
            let format = Format::parse(&cli.access_logformat);
            move |finished: &Finished<'_>| {
                let mut line = format.render(finished, SystemTime::now(), pid);
                line.push('\n');
                sink.write_line(&line);
            }
        }
        Err(e) => {
            error!("cannot write the access log: {e}");
            return 1;
        }
    };
    let prepared = listeners
        .iter()
        .map(Listener::try_clone)
        .collect::<std::io::Result<Vec<_>>>()
        .and_then(|listeners| EventLoop::new(listeners, app, Arc::new(SystemClock), config))
        .and_then(|event_loop| {
            for signal in [SIGTERM, SIGINT] {
                signal_hook::flag::register(signal, event_loop.stop_flag())?;
            }
            Ok(event_loop)
        });
    let mut event_loop = match prepared {
        Ok(event_loop) => event_loop,
        Err(e) => {
            error!("cannot start the event loop: {e}");
            return 1;
        }
    };
    if let Some(heartbeat) = heartbeat {
        event_loop.set_heartbeat(heartbeat);
        // A worker: SIGTERM reaches this loop's stop flag from now on.
        stop_gracefully_when_master_dies();
    }
    ready();
    match event_loop.run(graceful, log) {
        Ok(()) => 0,
        Err(e) => {
            error!("the event loop failed: {e}");
            1
        }
    }
}
