//! The flags of a pre-forking server: how many workers, how long each
//! thing may take, the request limits, the access log. Stage-06 takes them,
//! and stage-07 (the ASGI server, on stage-06's master) takes the same,
//! defined once here. [`ThreadArgs`] is stage-06's alone: how many app
//! calls a worker runs at once.

use std::num::NonZeroUsize;
use std::time::Duration;

use clap::Args;
use stage_02::LimitArgs;

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
    /// compute faster: only one runs Python at a time (the GIL).
    #[arg(long, value_name = "N", default_value = "1")]
    pub threads: NonZeroUsize,
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
