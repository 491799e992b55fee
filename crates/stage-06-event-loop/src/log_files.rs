//! Where the logs go: the access log to standard error (the default),
//! standard output (`-`) or a file (`--access-logfile`); the error log,
//! which is standard error itself, to a file (`--error-logfile`).
//!
//! Files are opened for appending, once, by the master before it forks:
//! every worker writes to the same open file, and every line lands at
//! the end, whichever worker writes it.
//!
//! SIGUSR1 opens them again, as in gunicorn: logrotate moves `access.log`
//! to `access.log.1`, and an open file follows its move, so without a
//! reopen the server would go on writing into `access.log.1` for good. The
//! master reopens its standard error and passes the signal on to each
//! worker, whose [`reopen_on_sigusr1`] thread reopens that worker's.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use signal_hook::consts::SIGUSR1;
use signal_hook::iterator::Signals;

/// Where access-log lines go.
#[derive(Debug)]
pub enum AccessSink {
    /// Standard error, beside the error log.
    Stderr,
    /// Standard output.
    Stdout,
    /// A file, opened for appending, and its path, to open it again.
    File(File, PathBuf),
}

impl AccessSink {
    /// The sink `--access-logfile` names: none is standard error, `-`
    /// standard output, anything else a file.
    pub fn open(path: Option<&Path>) -> Result<AccessSink, String> {
        match path {
            None => Ok(AccessSink::Stderr),
            Some(path) if path.as_os_str() == "-" => Ok(AccessSink::Stdout),
            Some(path) => append_to(path).map(|file| AccessSink::File(file, path.to_owned())),
        }
    }

    /// A worker's own handle on the sink, shared with the thread that
    /// opens it (and the error log) anew on SIGUSR1: see
    /// [`reopen_on_sigusr1`].
    pub fn for_worker(&self) -> std::io::Result<Arc<Mutex<AccessSink>>> {
        let sink = Arc::new(Mutex::new(self.try_clone()?));
        reopen_on_sigusr1(Arc::clone(&sink))?;
        Ok(sink)
    }

    /// Opens the file again at its path (a new one, if it was moved away).
    pub fn reopen(&mut self) -> Result<(), String> {
        if let AccessSink::File(file, path) = self {
            *file = append_to(path)?;
        }
        Ok(())
    }

    /// Another handle on the same sink, for a worker.
    pub fn try_clone(&self) -> std::io::Result<AccessSink> {
        Ok(match self {
            AccessSink::Stderr => AccessSink::Stderr,
            AccessSink::Stdout => AccessSink::Stdout,
            AccessSink::File(file, path) => AccessSink::File(file.try_clone()?, path.clone()),
        })
    }

    /// Writes a whole line in one write, so that no other worker's line
    /// can land in the middle of it (see stage-04's `log::write_line`).
    pub fn write_line(&mut self, line: &str) {
        // A log line that cannot be written is not worth failing a request for.
        let _ = match self {
            AccessSink::Stderr => std::io::stderr().write_all(line.as_bytes()),
            AccessSink::Stdout => std::io::stdout().write_all(line.as_bytes()),
            AccessSink::File(file, _) => file.write_all(line.as_bytes()),
        };
    }
}

/// `path`, opened for appending (made if missing).
pub fn append_to(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {} for appending: {e}", path.display()))
}

/// Points standard error at the error log file, for this process and the
/// workers it forks, Python's `sys.stderr` included: one descriptor, so
/// that nothing written to standard error misses the file. `-` leaves
/// standard error where it is.
pub fn redirect_stderr(path: &Path) -> Result<(), String> {
    if path.as_os_str() == "-" {
        return Ok(());
    }
    let file = append_to(path)?;
    nix::unistd::dup2_stderr(&file)
        .map_err(|e| format!("cannot send standard error to {}: {e}", path.display()))?;
    let _ = ERROR_LOG.set(path.to_owned());
    Ok(())
}

/// The error log file, once standard error points at one: a process-wide
/// fact, as standard error is.
static ERROR_LOG: OnceLock<PathBuf> = OnceLock::new();

/// Points standard error at the error log file again, opened anew at its
/// path; nothing to do when the error log is standard error itself.
/// (`dup2` replaces descriptor 2 at once: a write from another thread
/// lands in the old file or the new one, never nowhere.)
pub fn reopen_error_log() -> Result<(), String> {
    match ERROR_LOG.get() {
        Some(path) => redirect_stderr(path),
        None => Ok(()),
    }
}

/// In a worker (or the only process): a thread that waits for SIGUSR1 and
/// then opens this process's log files again, `access` and the error log.
/// A thread, not the event loop, so that the loop needs to know nothing
/// of it; it touches no Python and only ever runs after the fork.
pub fn reopen_on_sigusr1(access: Arc<Mutex<AccessSink>>) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGUSR1])?;
    std::thread::Builder::new()
        .name("log-reopen".into())
        .spawn(move || {
            for _ in signals.forever() {
                let mut access = access.lock().unwrap_or_else(|e| e.into_inner());
                // The access log last: once its new file is there, both are.
                if let Err(e) = reopen_error_log().and_then(|()| access.reopen()) {
                    crate::error!("{e}");
                }
            }
        })?;
    Ok(())
}
