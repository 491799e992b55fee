//! The limits as command-line flags, defined once for every command line
//! that reads requests with this parser: `stage-02`'s own, and those of
//! the servers built on it. `--limit-request-line` and
//! `--limit-request-fields` are gunicorn's flags, with the same meaning;
//! gunicorn limits neither a whole head nor a body, so
//! `--limit-request-head-size` and `--limit-request-body` are this
//! project's names, in the same style.

use crate::limits::Limits;

/// `--limit-request-line`, `--limit-request-fields`,
/// `--limit-request-head-size` and `--limit-request-body`: the fields of
/// [`Limits`], with its defaults.
#[derive(clap::Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitArgs {
    /// Longest request line, in bytes (longer: 414). The default fills
    /// nginx's 8 KiB line buffer with its CR LF.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_request_line)]
    pub limit_request_line: usize,
    /// Most header lines in a request (more: 431). The default is
    /// gunicorn's.
    #[arg(long, value_name = "LINES", default_value_t = Limits::default().max_headers)]
    pub limit_request_fields: usize,
    /// Most bytes in a request head (more: 431). The default, 32 KiB, is
    /// the most nginx holds for one head: what it passes on is accepted.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_head_bytes)]
    pub limit_request_head_size: usize,
    /// Largest request body, in bytes (larger: 413).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub limit_request_body: u64,
}

impl LimitArgs {
    /// The limits these flags set.
    pub fn limits(&self) -> Limits {
        Limits {
            max_request_line: self.limit_request_line,
            max_headers: self.limit_request_fields,
            max_head_bytes: self.limit_request_head_size,
            max_body_bytes: self.limit_request_body,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::LimitArgs;
    use crate::limits::Limits;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        limits: LimitArgs,
    }

    #[test]
    fn no_flags_give_the_default_limits() {
        let cli = Cli::try_parse_from(["test"]).unwrap();
        assert_eq!(cli.limits.limits(), Limits::default());
    }

    #[test]
    fn each_flag_sets_its_own_limit() {
        let cli = Cli::try_parse_from([
            "test",
            "--limit-request-line",
            "1",
            "--limit-request-fields",
            "2",
            "--limit-request-head-size",
            "3",
            "--limit-request-body",
            "4",
        ])
        .unwrap();
        assert_eq!(
            cli.limits.limits(),
            Limits {
                max_request_line: 1,
                max_headers: 2,
                max_head_bytes: 3,
                max_body_bytes: 4,
            }
        );
    }
}
