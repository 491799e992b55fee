//! Worker processes: a master that forks them, watches them, and replaces
//! them, the way gunicorn's arbiter does.
//!
//! The master binds the socket and never imports Python: each worker, a
//! forked copy of the master, loads the app itself and runs an event loop
//! on the shared socket, where the kernel hands each new connection to one
//! of the workers waiting in `accept`. Every worker refreshes a heartbeat
//! file about once a second; a worker stuck in one request longer than the
//! timeout stops refreshing it and is killed.
//!
//! The workers watch the master too: if it dies without stopping them (the
//! OOM killer, `kill -9`), they finish their requests in flight and exit,
//! as gunicorn's workers do when their parent changes, instead of serving
//! on as orphans that hold the port against the next master.
//!
//! The master stays single-threaded and handles signals by polling flags,
//! so that every fork happens in a process with exactly one thread: after
//! `fork`, only the forking thread exists in the child, and a lock some
//! other thread held at that moment would stay locked forever.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};

use crate::listeners::Listener;

/// The exit code of a worker that could not load the app.
pub const EXIT_LOAD_FAILED: i32 = 3;

/// How the master runs its workers.
#[derive(Debug, Clone)]
pub struct MasterConfig {
    /// How many worker processes.
    pub workers: usize,
    /// A worker silent (stuck in one request) for longer is killed.
    pub timeout: Duration,
    /// How long workers get to finish on SIGTERM or reload.
    pub graceful_timeout: Duration,
}

/// One worker process, as the master knows it.
struct Worker {
    pid: Pid,
    heartbeat: PathBuf,
    /// Workers of an older generation are being retired after a reload.
    retiring: bool,
}

/// Why the master stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterExit {
    /// A signal asked it to stop; everything was shut down.
    Stopped,
    /// The first workers could not load the app.
    LoadFailed,
}

// ANCHOR: fork_worker
/// Forks a worker that runs `work` with its heartbeat file and exits with
/// what `work` returns.
fn fork_worker(heartbeat: &PathBuf, work: &impl Fn(File) -> i32) -> std::io::Result<Pid> {
    let file = File::create(heartbeat)?;
    let master = std::process::id();
    // SAFETY: the master never starts a thread (signals are polled flags),
    // so the child is an exact, single-threaded copy and may go on running
    // ordinary Rust code: no lock can be held by a thread that is missing.
    #[allow(unsafe_code)]
    let forked = unsafe { fork() }.map_err(std::io::Error::from)?;
    match forked {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => {
            // If the master dies, this worker must not serve on as an
            // orphan. SIGKILL while the app loads: until the worker's loop
            // registers its own stop flag, the SIGTERM handler copied from
            // the master sets only the master's flag, which nobody reads
            // here; and a worker that has accepted nothing has nothing to
            // finish. `stop_gracefully_when_master_dies` then asks for SIGTERM.
            signal_on_master_death(Signal::SIGKILL);
            // A master that died before that request sends nothing: its
            // worker has been adopted already, and sees it here.
            if std::os::unix::process::parent_id() != master {
                std::process::exit(0);
            }
            std::process::exit(work(file))
        }
    }
}
// ANCHOR_END: fork_worker

/// In a worker whose SIGTERM now stops its event loop gracefully: from here
/// on, the master's death lets the requests in flight finish before the
/// worker exits, the way `kill -TERM` does.
pub fn stop_gracefully_when_master_dies() {
    signal_on_master_death(Signal::SIGTERM);
}

/// Asks the kernel to send `signal` to this process when its parent dies.
/// Strictly, when the parent *thread* that forked it ends: the master has
/// only one, so that is the master's death. Linux has this (`prctl`);
/// elsewhere workers only check their parent right after the fork.
fn signal_on_master_death(signal: Signal) {
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_pdeathsig(signal) {
        crate::warning!(
            "worker {}: cannot ask to hear of the master's death: {e}",
            std::process::id()
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = signal;
}

// ANCHOR: request_limit
/// A worker's `--max-requests` with its jitter: `max` plus `random`
/// brought into 0..=`jitter`; `None` (no limit) when `max` is 0.
pub fn request_limit(max: u64, jitter: u64, random: u64) -> Option<u64> {
    // ANCHOR: ex-08.4-jitter
    if max == 0 {
        return None;
    }
    Some(max.saturating_add(random % jitter.saturating_add(1)))
    // ANCHOR_END: ex-08.4-jitter
}
// ANCHOR_END: request_limit

/// A random number for this process. Drawn after the fork: a generator
/// seeded once in the master would give every worker the same draw, as
/// each is a copy of the master's memory; the std hasher's keys are such
/// a seed, so the worker's own pid and the time go in too.
pub fn worker_random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    hasher.write_u32(nanos);
    hasher.finish()
}

fn modified(path: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

// ANCHOR: run_master
/// Runs `config.workers` workers on `listeners` until SIGINT or SIGTERM;
/// SIGHUP replaces them (new code, no connection dropped); SIGUSR1 reopens
/// the logs. `ready` is called once the first workers have loaded the app.
pub fn run_master(
    listeners: &[Listener],
    config: &MasterConfig,
    work: impl Fn(File) -> i32,
    ready: impl FnOnce(),
) -> std::io::Result<MasterExit> {
    // ANCHOR: master_setup
    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(SIGTERM, Arc::clone(&stop))?;
    signal_hook::flag::register(SIGINT, Arc::clone(&stop))?;
    signal_hook::flag::register(SIGHUP, Arc::clone(&reload))?;
    let reopen = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(SIGUSR1, Arc::clone(&reopen))?;
    let _ = listeners; // shared by every fork: the kernel spreads connections over the workers
    let dir = std::env::temp_dir();
    let mut serial = 0usize;
    let mut next_heartbeat = || {
        serial += 1;
        dir.join(format!(
            "stage-06-{}-{serial}.heartbeat",
            std::process::id()
        ))
    };
    // ANCHOR_END: master_setup

    let mut workers = Vec::new();
    for _ in 0..config.workers {
        let heartbeat = next_heartbeat();
        let pid = fork_worker(&heartbeat, &work)?;
        workers.push(Worker {
            pid,
            heartbeat,
            retiring: false,
        });
    }
    if !wait_until_ready(&mut workers, config.timeout.max(Duration::from_secs(30))) {
        stop_all(&mut workers, Duration::ZERO);
        return Ok(MasterExit::LoadFailed);
    }
    ready();

    loop {
        sleep(Duration::from_millis(100));
        if stop.load(Ordering::SeqCst) {
            crate::info!("stopping: workers finish the requests in flight");
            stop_all(&mut workers, config.graceful_timeout);
            return Ok(MasterExit::Stopped);
        }
        // ANCHOR: reload
        if reload.swap(false, Ordering::SeqCst) {
            crate::info!("reloading: starting new workers, then retiring the old ones");
            let mut fresh = Vec::new();
            for _ in 0..config.workers {
                let heartbeat = next_heartbeat();
                fresh.push(Worker {
                    pid: fork_worker(&heartbeat, &work)?,
                    heartbeat,
                    retiring: false,
                });
            }
            // The new workers accept before the old ones stop: no gap.
            wait_until_ready(&mut fresh, config.timeout.max(Duration::from_secs(30)));
            for old in workers.iter_mut() {
                old.retiring = true;
                let _ = kill(old.pid, Signal::SIGTERM);
            }
            workers.extend(fresh);
        }
        // ANCHOR_END: reload
        // ANCHOR: reopen
        if reopen.swap(false, Ordering::SeqCst) {
            reopen_logs(&workers);
        }
        // ANCHOR_END: reopen
        reap_and_replace(&mut workers, &mut next_heartbeat, &work)?;
        kill_hung(&workers, config.timeout);
    }
}
// ANCHOR_END: run_master

/// SIGUSR1 (logrotate's signal): the master's error log opened anew,
/// then each worker told to do the same with its own.
fn reopen_logs(workers: &[Worker]) {
    if let Err(e) = crate::log_files::reopen_error_log() {
        crate::error!("{e}");
    }
    crate::info!("reopening the log files");
    for worker in workers {
        let _ = kill(worker.pid, Signal::SIGUSR1);
    }
}

/// Waits until every worker has refreshed its heartbeat once (the app is
/// loaded). False if one exits first, or time runs out.
fn wait_until_ready(workers: &mut [Worker], limit: Duration) -> bool {
    let started = Instant::now();
    let created: Vec<Option<SystemTime>> = workers.iter().map(|w| modified(&w.heartbeat)).collect();
    loop {
        let all_ready = workers
            .iter()
            .zip(&created)
            .all(|(w, c)| modified(&w.heartbeat) != *c);
        if all_ready {
            return true;
        }
        for worker in workers.iter() {
            if let Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) =
                waitpid(worker.pid, Some(WaitPidFlag::WNOHANG))
            {
                return false;
            }
        }
        if started.elapsed() > limit {
            return false;
        }
        sleep(Duration::from_millis(20));
    }
}

// ANCHOR: reap
/// Collects workers that exited; a current worker that died is replaced.
fn reap_and_replace(
    workers: &mut Vec<Worker>,
    next_heartbeat: &mut impl FnMut() -> PathBuf,
    work: &impl Fn(File) -> i32,
) -> std::io::Result<()> {
    let mut index = 0;
    while index < workers.len() {
        let status = waitpid(workers[index].pid, Some(WaitPidFlag::WNOHANG));
        let exited = matches!(
            status,
            Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) | Err(_)
        );
        if !exited {
            index += 1;
            continue;
        }
        let gone = workers.remove(index);
        let _ = std::fs::remove_file(&gone.heartbeat);
        if !gone.retiring {
            // A worker leaves with 0 when it has served its --max-requests,
            // or when a SIGTERM was sent to it alone (the master does not
            // know which); anything else is an accident.
            if let Ok(WaitStatus::Exited(_, 0)) = status {
                crate::info!(
                    "worker {} finished (its --max-requests, or a SIGTERM of its own); starting a new one",
                    gone.pid
                );
            } else {
                crate::warning!(
                    "worker {} exited ({status:?}); starting a new one",
                    gone.pid
                );
            }
            let heartbeat = next_heartbeat();
            let pid = fork_worker(&heartbeat, work)?;
            workers.push(Worker {
                pid,
                heartbeat,
                retiring: false,
            });
        }
    }
    Ok(())
}
// ANCHOR_END: reap

/// Kills workers whose heartbeat is older than the timeout: stuck in one
/// request. Only that request fails; the worker is replaced when reaped.
fn kill_hung(workers: &[Worker], timeout: Duration) {
    for worker in workers {
        let silent = modified(&worker.heartbeat)
            .and_then(|m| m.elapsed().ok())
            .unwrap_or_default();
        if silent > timeout {
            crate::critical!(
                "worker {} has been silent for {silent:?}: killing it",
                worker.pid
            );
            let _ = kill(worker.pid, Signal::SIGKILL);
        }
    }
}

/// SIGTERM to every worker, SIGKILL to those still there after `grace`.
fn stop_all(workers: &mut Vec<Worker>, grace: Duration) {
    for worker in workers.iter() {
        let _ = kill(worker.pid, Signal::SIGTERM);
    }
    for worker in workers.iter() {
        let _ = std::fs::remove_file(&worker.heartbeat);
    }
    let started = Instant::now();
    while !workers.is_empty() {
        workers.retain(|w| {
            matches!(
                waitpid(w.pid, Some(WaitPidFlag::WNOHANG)),
                Ok(WaitStatus::StillAlive)
            )
        });
        if started.elapsed() > grace {
            for worker in workers.iter() {
                let _ = kill(worker.pid, Signal::SIGKILL);
                let _ = waitpid(worker.pid, None);
            }
            break;
        }
        sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_limit_is_max_plus_up_to_jitter() {
        assert_eq!(request_limit(0, 50, 7), None, "0: no limit");
        assert_eq!(request_limit(100, 0, 12345), Some(100));
        let limits: Vec<u64> = (0..20).map(|r| request_limit(100, 4, r).unwrap()).collect();
        assert!(limits.iter().all(|n| (100..=104).contains(n)), "{limits:?}");
        for n in 100..=104 {
            assert!(limits.contains(&n), "{n} is drawn too: {limits:?}");
        }
        assert_eq!(request_limit(u64::MAX, u64::MAX, 3), Some(u64::MAX));
    }
}
