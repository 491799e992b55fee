//! The error log: what the server says about itself, at gunicorn's
//! levels, on standard error (which `--error-logfile` points at a file).
//!
//! Its lines are the server's own (listening, workers started, replaced,
//! killed, the app's tracebacks) and, because they go to the same
//! descriptor, whatever the app writes to `wsgi.errors` or `sys.stderr`.
//! `--log-level` silences the server's lines below a level; the app's own
//! writes and the access log are not the server's to filter.

use std::fmt;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// How important a message is, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Level {
    /// What helps find out why: each worker's start.
    Debug,
    /// The ordinary life of the server: listening, reloading, stopping.
    Info,
    /// Something went wrong and was mended: a worker died and was replaced.
    Warning,
    /// A request failed: the app raised, a connection could not be served.
    Error,
    /// The server had to act drastically: a hung worker killed.
    Critical,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Messages below `level` are dropped from now on, in this process and
/// in the workers it forks later.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether a message at `level` is written.
pub fn enabled(level: Level) -> bool {
    level as u8 >= LEVEL.load(Ordering::Relaxed)
}

/// Writes `PROGRAM: message` to standard error if `level` is enabled, in
/// one write, so that the lines of several workers do not run into each
/// other (stage-04's `log::write_line` explains why `eprintln!` would).
pub fn log(level: Level, message: fmt::Arguments<'_>) {
    if enabled(level) {
        let mut line = format!("{}: {message}", program());
        if !line.ends_with('\n') {
            line.push('\n');
        }
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

/// The running program's name, the file name it was started by (another
/// server built on this module's master says its own name, not this
/// stage's), read once.
pub fn program() -> &'static str {
    static PROGRAM: OnceLock<String> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        std::env::args_os()
            .next()
            .and_then(|arg0| {
                let path = std::path::PathBuf::from(arg0);
                Some(path.file_name()?.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| env!("CARGO_PKG_NAME").into())
    })
}

/// Logs at debug level, `format!`-style.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::logging::log($crate::logging::Level::Debug, format_args!($($arg)*)) };
}

/// Logs at info level, `format!`-style.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::logging::log($crate::logging::Level::Info, format_args!($($arg)*)) };
}

/// Logs at warning level, `format!`-style.
#[macro_export]
macro_rules! warning {
    ($($arg:tt)*) => { $crate::logging::log($crate::logging::Level::Warning, format_args!($($arg)*)) };
}

/// Logs at error level, `format!`-style.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::logging::log($crate::logging::Level::Error, format_args!($($arg)*)) };
}

/// Logs at critical level, `format!`-style.
#[macro_export]
macro_rules! critical {
    ($($arg:tt)*) => { $crate::logging::log($crate::logging::Level::Critical, format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_lets_through_itself_and_what_is_more_important() {
        set_level(Level::Warning);
        assert!(!enabled(Level::Debug) && !enabled(Level::Info));
        assert!(enabled(Level::Warning) && enabled(Level::Error) && enabled(Level::Critical));
        set_level(Level::Debug);
        assert!(enabled(Level::Debug));
        set_level(Level::Info);
    }
}
