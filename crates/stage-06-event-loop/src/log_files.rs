//! Where the logs go: the access log to standard error (the default),
//! standard output (`-`) or a file (`--access-logfile`); the error log,
//! which is standard error itself, to a file (`--error-logfile`).
//!
//! Files are opened for appending, once, by the master before it forks:
//! every worker writes to the same open file, and every line lands at
//! the end, whichever worker writes it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Where access-log lines go.
#[derive(Debug)]
pub enum AccessSink {
    /// Standard error, beside the error log.
    Stderr,
    /// Standard output.
    Stdout,
    /// A file, opened for appending.
    File(File),
}

impl AccessSink {
    /// The sink `--access-logfile` names: none is standard error, `-`
    /// standard output, anything else a file.
    pub fn open(path: Option<&Path>) -> Result<AccessSink, String> {
        match path {
            None => Ok(AccessSink::Stderr),
            Some(path) if path.as_os_str() == "-" => Ok(AccessSink::Stdout),
            Some(path) => append_to(path).map(AccessSink::File),
        }
    }

    /// Another handle on the same sink, for a worker.
    pub fn try_clone(&self) -> std::io::Result<AccessSink> {
        Ok(match self {
            AccessSink::Stderr => AccessSink::Stderr,
            AccessSink::Stdout => AccessSink::Stdout,
            AccessSink::File(file) => AccessSink::File(file.try_clone()?),
        })
    }

    /// Writes a whole line in one write, so that no other worker's line
    /// can land in the middle of it (see stage-04's `log::write_line`).
    pub fn write_line(&mut self, line: &str) {
        // A log line that cannot be written is not worth failing a request for.
        let _ = match self {
            AccessSink::Stderr => std::io::stderr().write_all(line.as_bytes()),
            AccessSink::Stdout => std::io::stdout().write_all(line.as_bytes()),
            AccessSink::File(file) => file.write_all(line.as_bytes()),
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
        .map_err(|e| format!("cannot send standard error to {}: {e}", path.display()))
}
