//! The flags of a pre-forking server: how many workers, how long each
//! thing may take, the request limits, the access log ([`ServerArgs`]);
//! and what a deployment sets ([`DeployArgs`]): where to listen, whose
//! forwarding headers to believe, when to replace workers, where the logs
//! go. Stage-06 takes them, and stage-07 (the ASGI server, on stage-06's
//! master) takes the same, defined once here. [`ThreadArgs`] is stage-06's
//! alone: how many app calls a worker runs at once.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use stage_02::LimitArgs;
use stage_04::cli::AppArgs;

use crate::access_log::DEFAULT_FORMAT;
use crate::forwarded::Trusted;
use crate::listeners::Bind;
use crate::logging::Level;
use crate::{MasterConfig, Timeouts};

/// Workers, timeouts, limits and the access log, as flags.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Worker processes: start with one per core, more if the app waits on a
    /// database or other services; 0 serves in this process, without a
    /// master.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Seconds a worker may be stuck in the app (on one request, or one
    /// blocking call) before the master kills it.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// Seconds workers get to finish their requests on SIGTERM or reload.
    #[arg(long, default_value_t = 30.0)]
    pub graceful_timeout: f64,
    /// Seconds an idle connection is kept open for another request.
    #[arg(long, default_value_t = 5.0)]
    pub keep_alive: f64,
    /// Seconds a client has to send a whole request head (408 after).
    #[arg(long, default_value_t = 10.0)]
    pub header_timeout: f64,
    /// The request limits (stage-02's flags).
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Write no access log (gunicorn writes none unless asked).
    #[arg(long)]
    pub no_access_log: bool,
}

impl ServerArgs {
    /// The connection timeouts the flags set (the others as by default).
    pub fn timeouts(&self) -> Result<Timeouts, String> {
        Ok(Timeouts {
            keep_alive: seconds(self.keep_alive, "keep-alive")?,
            header: seconds(self.header_timeout, "header-timeout")?,
            ..Timeouts::default()
        })
    }

    /// What the master needs to know.
    pub fn master(&self) -> Result<MasterConfig, String> {
        Ok(MasterConfig {
            workers: self.workers,
            timeout: seconds(self.timeout, "timeout")?,
            graceful_timeout: seconds(self.graceful_timeout, "graceful-timeout")?,
        })
    }
}

/// How many app calls a worker runs at once, as a flag (gunicorn's).
#[derive(Args, Debug, Clone)]
pub struct ThreadArgs {
    /// Threads per worker that call the app, for apps that wait on a
    /// database or another service: while one waits, another runs. With
    /// 1, the event loop calls the app itself. Threads do not make Python
    /// compute faster: only one runs Python at a time (the GIL). Unlike
    /// gunicorn's gthread workers, --timeout still bounds each app call: a
    /// call on a thread longer than it gets the worker killed and replaced,
    /// as a loop stuck in the app would.
    #[arg(long, value_name = "N", default_value = "1")]
    pub threads: NonZeroUsize,
}

/// Where to listen, what app, whom to trust, when to recycle, where the
/// logs go, as flags (gunicorn's names).
#[derive(Args, Debug, Clone)]
pub struct DeployArgs {
    /// Where to listen: HOST:PORT (port 0 picks a free port), or
    /// unix:PATH for a Unix socket, the usual way behind a proxy on the
    /// same machine (its file is made with mode 660 and removed on exit).
    /// Repeat for several; the default is 127.0.0.1:8000.
    #[arg(long = "bind", value_name = "ADDRESS")]
    pub binds: Vec<String>,
    /// A directory to put on sys.path before importing the app (repeatable).
    #[arg(long = "pythonpath", value_name = "DIR")]
    pub pythonpath: Vec<PathBuf>,
    /// The application: module:callable (like app:application, imported
    /// from the current directory) or path/to/file.py:callable. Without
    /// it, a built-in demo app is served.
    pub app: Option<String>,
    /// The proxies whose X-Forwarded-For and X-Forwarded-Proto say who the
    /// client is and which scheme it used: addresses and networks
    /// (10.0.0.0/8) separated by commas, or * for every peer (then the
    /// left-most X-Forwarded-For entry is the client: only for a proxy that
    /// replaces the header). From other peers these headers change
    /// nothing. A peer over a Unix socket is always believed.
    #[arg(long, value_name = "IPS", default_value = "127.0.0.1,::1")]
    pub forwarded_allow_ips: Trusted,
    /// Replace each worker after it has handled this many requests, so
    /// that memory a leaking app holds is given back; 0 never does. The
    /// worker finishes its requests, then exits, and the master starts a
    /// new one; connections wait in the socket meanwhile. Needs --workers
    /// 1 or more.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_requests: u64,
    /// Add a random number from 0 to N to each worker's --max-requests,
    /// so that workers started together are not all replaced at once.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_requests_jitter: u64,
    /// Where the access log goes: a file, appended to, or - for standard
    /// output. Without it, the lines go to standard error (with the error
    /// log).
    #[arg(long, value_name = "FILE", conflicts_with = "no_access_log")]
    pub access_logfile: Option<PathBuf>,
    /// The access log's line, with gunicorn's atoms: %(h)s client address,
    /// %(l)s -, %(u)s Basic-auth user, %(t)s time, %(r)s request line,
    /// %(s)s status, %(b)s / %(B)s body bytes, %(f)s referer, %(a)s user
    /// agent, %(D)s duration in microseconds, %(M)s milliseconds, %(T)s
    /// seconds, %(L)s seconds with decimals, %(m)s method, %(U)s path,
    /// %(q)s query, %(H)s protocol, %(p)s pid, %({header}i)s a request
    /// header, %({header}o)s a response header the app set; %% for a %.
    #[arg(long, value_name = "FORMAT", default_value = DEFAULT_FORMAT)]
    pub access_logformat: String,
    /// Where the error log goes: a file, appended to, or - for standard
    /// error. It has the server's messages, the app's tracebacks, and what
    /// the app writes to standard error.
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub error_logfile: PathBuf,
    /// The least important of the server's messages to write.
    #[arg(long, value_enum, value_name = "LEVEL", default_value = "info")]
    pub log_level: Level,
}

/// Where every stage listens unless told otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:8000";

impl DeployArgs {
    /// The `--bind` values, or the default every stage listens on.
    pub fn binds(&self) -> Vec<Bind> {
        if self.binds.is_empty() {
            return vec![Bind::parse(DEFAULT_BIND)];
        }
        self.binds.iter().map(|text| Bind::parse(text)).collect()
    }

    /// What stage-04's app loader needs: where the app is. (Its `--bind`
    /// takes one address; this one, several.)
    pub fn app_args(&self) -> AppArgs {
        AppArgs {
            bind: DEFAULT_BIND.into(),
            pythonpath: self.pythonpath.clone(),
            app: self.app.clone(),
        }
    }

    /// Refuses what cannot work with `workers` (0: no master).
    pub fn check(&self, workers: usize) -> Result<(), String> {
        if self.max_requests > 0 && workers == 0 {
            return Err(
                "--max-requests needs a master to replace the worker: use --workers 1 or more"
                    .into(),
            );
        }
        Ok(())
    }
}

/// A flag's number of seconds as a duration; a negative, infinite or
/// not-a-number value is refused with the flag's name.
fn seconds(value: f64, flag: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("--{flag} must be a positive number of seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        server: ServerArgs,
    }

    #[test]
    fn the_flags_become_timeouts_and_the_masters_settings() {
        let cli = Cli::parse_from([
            "x",
            "--keep-alive",
            "2.5",
            "--workers",
            "3",
            "--timeout",
            "7",
        ]);
        let timeouts = cli.server.timeouts().unwrap();
        assert_eq!(timeouts.keep_alive, Duration::from_millis(2500));
        assert_eq!(timeouts.header, Duration::from_secs(10));
        let master = cli.server.master().unwrap();
        assert_eq!(
            (master.workers, master.timeout),
            (3, Duration::from_secs(7))
        );
        let negative = Cli::parse_from(["x", "--keep-alive=-1"]);
        #[derive(Parser)]
        struct Threads {
            #[command(flatten)]
            threads: ThreadArgs,
        }
        assert_eq!(Threads::parse_from(["x"]).threads.threads.get(), 1);
        let eight = Threads::parse_from(["x", "--threads", "8"]);
        assert_eq!(eight.threads.threads.get(), 8);
        assert!(Threads::try_parse_from(["x", "--threads", "0"]).is_err());
        assert_eq!(
            negative.server.timeouts().unwrap_err(),
            "--keep-alive must be a positive number of seconds"
        );
    }
}
