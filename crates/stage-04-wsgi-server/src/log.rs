//! One access-log line per request, in the common log format that
//! gunicorn and nginx write by default:
//!
//! ```text
//! 127.0.0.1 - - [21/Nov/2026:20:58:09 +0000] "GET /tasks HTTP/1.1" 200 73 "-" "curl/8.5.0"
//! ```

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// What one line of the access log says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    /// The client's IP address.
    pub remote: String,
    /// `METHOD target VERSION`, or `-` when the request could not be parsed.
    pub request_line: String,
    /// The status sent.
    pub status: u16,
    /// Body bytes sent.
    pub body_bytes: u64,
    /// The `Referer` header, or `-`.
    pub referer: String,
    /// The `User-Agent` header, or `-`.
    pub user_agent: String,
}

impl AccessEntry {
    /// The log line for this entry at time `when`.
    pub fn line(&self, when: SystemTime) -> String {
        format!(
            "{} - - [{}] \"{}\" {} {} \"{}\" \"{}\"",
            self.remote,
            clf_time(when),
            self.request_line,
            self.status,
            self.body_bytes,
            self.referer,
            self.user_agent
        )
    }
}

/// Writes `entry`'s line and its newline to `out` in one `write_all`.
///
/// `eprintln!` writes the line and the newline separately, and standard
/// error is unbuffered: two system calls, between which another process
/// sharing the same stderr (a worker beside this one) may write its own
/// line, and two lines run together. One write per line cannot be split
/// that way (a write of up to `PIPE_BUF`, 4096 bytes, to a pipe is
/// atomic, POSIX says).
pub fn write_line(out: &mut impl Write, entry: &AccessEntry, when: SystemTime) -> io::Result<()> {
    let mut line = entry.line(when);
    line.push('\n');
    out.write_all(line.as_bytes())
}

/// `21/Nov/2026:20:58:09 +0000`, always in UTC.
pub fn clf_time(when: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = when.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_date(seconds / 86_400);
    let time_of_day = seconds % 86_400;
    format!(
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[(month - 1) as usize],
        time_of_day / 3600,
        time_of_day / 60 % 60,
        time_of_day % 60
    )
}

/// The (year, month, day) of a count of days since 1970-01-01, in the
/// proleptic Gregorian calendar. Counting in 400-year eras starting on
/// 1 March puts the leap day at the end of each year, which keeps the
/// arithmetic free of special cases.
fn civil_date(days_since_epoch: u64) -> (u64, u64, u64) {
    let days = days_since_epoch + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(seconds: u64) -> String {
        clf_time(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    /// Remembers each `write` call separately, as a pipe shared with other
    /// processes would see them.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl Write for Writes {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.push(bytes.to_vec());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_log_line_and_its_newline_go_out_in_one_write() {
        let entry = AccessEntry {
            remote: "127.0.0.1".into(),
            request_line: "GET / HTTP/1.1".into(),
            status: 200,
            body_bytes: 14,
            referer: "-".into(),
            user_agent: "curl/8.5.0".into(),
        };
        let when = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let mut out = Writes::default();
        write_line(&mut out, &entry, when).unwrap();
        let expected = "127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"GET / HTTP/1.1\" 200 14 \"-\" \"curl/8.5.0\"\n";
        assert_eq!(out.0, vec![expected.as_bytes().to_vec()]);
        // What eprintln! does, for comparison: two writes.
        let mut split = Writes::default();
        writeln!(split, "{}", entry.line(when)).unwrap();
        assert_eq!(
            split.0.len(),
            2,
            "writeln! is no longer two writes: {:?}",
            split.0
        );
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(at(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(at(784_111_777), "06/Nov/1994:08:49:37 +0000");
        assert_eq!(at(951_782_400), "29/Feb/2000:00:00:00 +0000");
        assert_eq!(at(1_709_164_799), "28/Feb/2024:23:59:59 +0000");
        assert_eq!(at(1_709_251_199), "29/Feb/2024:23:59:59 +0000");
        assert_eq!(at(4_102_444_800), "01/Jan/2100:00:00:00 +0000");
    }

    #[test]
    fn agrees_with_the_http_date_of_the_same_instant() {
        // httpdate formats the same instants independently.
        for seconds in (0..4_000_000_000u64).step_by(7_654_321) {
            let when = UNIX_EPOCH + Duration::from_secs(seconds);
            let http = httpdate_parts(when);
            assert!(
                clf_time(when).starts_with(&http),
                "{seconds}: {} vs {http}",
                clf_time(when)
            );
        }
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` rearranged as `06/Nov/1994:08:49:37`.
    fn httpdate_parts(when: SystemTime) -> String {
        let text = httpdate::fmt_http_date(when);
        let parts: Vec<&str> = text.split([' ', ',']).filter(|p| !p.is_empty()).collect();
        format!("{}/{}/{}:{}", parts[1], parts[2], parts[3], parts[4])
    }
}
