//! `stage-06 [OPTIONS] [APP]`: serve a WSGI application from an event loop,
//! in one or more worker processes.

use std::fs::File;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM};
use stage_03::SystemClock;
use stage_04::cli::load;
use stage_06::access_log::{Finished, Format};
use stage_06::cli::{DeployArgs, ServerArgs, ThreadArgs};
use stage_06::listeners::bind_all;
use stage_06::log_files::{AccessSink, redirect_stderr};
use stage_06::logging;
use stage_06::master::{
    EXIT_LOAD_FAILED, request_limit, stop_gracefully_when_master_dies, worker_random,
};
use stage_06::{EventLoop, Listener, LoopConfig, MasterExit, run_master};
use stage_06::{debug, error, info};

/// Serve a Python WSGI application to many connections at once.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    deploy: DeployArgs,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    threads: ThreadArgs,
}

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
    let deploy = &cli.deploy;
    logging::set_level(deploy.log_level);
    redirect_stderr(&deploy.error_logfile)?;
    deploy.check(cli.server.workers)?;
    let access = AccessSink::open(deploy.access_logfile.as_deref())?;
    let config = LoopConfig {
        limits: cli.server.limits.limits(),
        timeouts: cli.server.timeouts()?,
        multiprocess: cli.server.workers > 1,
        access_log: !cli.server.no_access_log,
        trusted: deploy.forwarded_allow_ips.clone(),
        threads: cli.threads.threads.get(),
        ..LoopConfig::default()
    };
    let master = cli.server.master()?;
    // Socket files are removed when `_files` is dropped, at the end of
    // this function: in the master (or the only process), never in a
    // worker, which leaves by `exit` and runs no destructors.
    let (listeners, _files) = bind_all(&deploy.binds())?;
    let announce = || {
        for listener in &listeners {
            info!("Listening on {}", listener.describe());
        }
        let spec = deploy.app.as_deref().unwrap_or("the built-in demo app");
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
    let deploy = &cli.deploy;
    let (app, _) = match load(&deploy.app_args()) {
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
        config.max_requests = request_limit(
            deploy.max_requests,
            deploy.max_requests_jitter,
            worker_random(),
        );
    }
    debug!(
        "worker {pid} loaded the app; it will serve {}",
        config
            .max_requests
            .map_or("until stopped".into(), |n| format!("{n} requests"))
    );
    let log = match access.for_worker() {
        Ok(sink) => {
            let format = Format::parse(&deploy.access_logformat);
            move |finished: &Finished<'_>| {
                let mut line = format.render(finished, SystemTime::now(), pid);
                line.push('\n');
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .write_line(&line);
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
