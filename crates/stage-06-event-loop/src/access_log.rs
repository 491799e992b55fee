//! The access log's line, in a format the user chooses with gunicorn's
//! atoms: `%(h)s` for the client's address, `%(D)s` for the request's
//! duration in microseconds, `%({user-agent}i)s` for a request header.
//!
//! The default format is the common log format with referer and user
//! agent, the line every stage writes (stage-04's `log` module):
//!
//! ```text
//! 127.0.0.1 - - [21/Nov/2026:20:58:09 +0000] "GET /tasks HTTP/1.1" 200 73 "-" "curl/8.5.0"
//! ```
//!
//! The atoms:
//!
//! | atom | what |
//! |------|------|
//! | `h` | the client's address: `REMOTE_ADDR` as the app saw it, so the client a trusted proxy named (`-` for a Unix peer no proxy named) |
//! | `l` | `-` (the identd answer nobody asks for any more) |
//! | `u` | the user name of HTTP Basic authentication, or `-` |
//! | `t` | the time, `[21/Nov/2026:20:58:09 +0000]` |
//! | `r` | the request line, `GET /tasks?x=1 HTTP/1.1` |
//! | `s` | the status |
//! | `b` | body bytes sent; `-` when no response went out at all |
//! | `B` | body bytes sent, a number always |
//! | `f` | the `Referer` header, or `-` |
//! | `a` | the `User-Agent` header, or `-` |
//! | `T`, `M`, `D` | the duration in whole seconds, milliseconds, microseconds |
//! | `L` | the duration in seconds, with six decimals |
//! | `m`, `U`, `q`, `H` | method, path (as sent), query string, protocol |
//! | `p` | `<pid>` of the worker |
//! | `{name}i` | a request header (all its values), or `-` |
//! | `{name}o` | a response header the app set (all its values), or `-` |
//!
//! An unknown atom gives `-`, and `%%` a `%`, as in gunicorn (which uses
//! Python's `%` formatting for the same strings). The duration runs from
//! the moment the request was complete to the moment the app's last piece
//! of body was taken: a body the socket had not yet taken when the app
//! finished is not counted.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use stage_02::Request;
use stage_03::HeaderLines;
use stage_04::Outcome;
use stage_04::log::clf_time;

/// What the loop reports about each finished request.
#[derive(Debug, Clone, Copy)]
pub struct Finished<'a> {
    /// The request, when its head could be read.
    pub request: Option<&'a Request>,
    /// How the response went.
    pub outcome: &'a Outcome,
    /// `REMOTE_ADDR` as the app saw it (empty for a Unix peer no proxy
    /// named).
    pub remote: &'a str,
    /// The headers the app answered with; `None` when the server answered
    /// by itself (a refused request) or the app never started a response.
    pub response_headers: Option<&'a HeaderLines>,
    /// From the complete request to the app's last piece of body; zero
    /// for a request the server answered itself.
    pub duration: Duration,
}

/// gunicorn's default format, which is also every stage's line.
pub const DEFAULT_FORMAT: &str = r#"%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s""#;

/// An access-log format, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Atom(String),
}

impl Default for Format {
    fn default() -> Format {
        Format::parse(DEFAULT_FORMAT)
    }
}

impl Format {
    /// Parses `%(name)s` atoms and `%%`; everything else is text as it is.
    pub fn parse(text: &str) -> Format {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('%') {
            literal.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix("%%") {
                literal.push('%');
                rest = after;
                continue;
            }
            let atom = rest
                .strip_prefix("%(")
                .and_then(|inner| inner.split_once(")s"))
                .filter(|(name, _)| !name.contains(')') || name.starts_with('{'));
            match atom {
                Some((name, after)) => {
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Atom(name.to_string()));
                    rest = after;
                }
                None => {
                    literal.push('%');
                    rest = &rest[1..];
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Format { parts }
    }

    // ANCHOR: render
    /// The line for `finished`, at `when`, written by process `pid`;
    /// without its newline.
    pub fn render(&self, finished: &Finished<'_>, when: SystemTime, pid: u32) -> String {
        let mut line = String::with_capacity(160);
        for part in &self.parts {
            match part {
                Part::Text(text) => line.push_str(text),
                Part::Atom(name) => push_atom(&mut line, name, finished, when, pid),
            }
        }
        line
    }
    // ANCHOR_END: render
}

/// Text from the request goes in with its quotes and backslashes
/// escaped, so that a header cannot end the quoted field it is logged in
/// and forge the fields after it.
fn push_escaped(line: &mut String, value: &str) {
    // Nearly every value has nothing to escape: copied whole.
    if !value.contains(['"', '\\']) && !value.contains(char::is_control) {
        line.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(line, "\\x{:02x}", u32::from(c));
            }
            c => line.push(c),
        }
    }
}

/// Appends one atom's value. Written straight into the line, not made
/// as a string of its own: the access log runs for every request, and
/// an allocation per atom cost about 0.7 µs a request (8% of a hello
/// world's CPU time, measured against the fixed line it replaced).
fn push_atom(line: &mut String, name: &str, finished: &Finished<'_>, when: SystemTime, pid: u32) {
    let request = finished.request;
    let micros = finished.duration.as_micros();
    // Numbers have nothing to escape; `write!` into a String cannot fail.
    let _ = match (name, request) {
        ("h", _) if finished.remote.is_empty() => write!(line, "-"),
        ("h", _) => write!(line, "{}", finished.remote),
        ("l", _) => write!(line, "-"),
        ("u", Some(request)) => match basic_user(request) {
            Some(user) => {
                push_escaped(line, &user);
                Ok(())
            }
            None => write!(line, "-"),
        },
        ("t", _) => write!(line, "[{}]", clf_time(when)),
        ("r", Some(r)) => {
            push_escaped(line, r.method.as_str());
            line.push(' ');
            push_escaped(line, &r.target);
            write!(line, " {}", r.version)
        }
        ("s", _) => write!(line, "{}", finished.outcome.status),
        ("b", _) if finished.outcome.status == 0 => write!(line, "-"),
        ("b" | "B", _) => write!(line, "{}", finished.outcome.body_bytes),
        ("f", Some(request)) => {
            push_values(line, request.header_values("referer"));
            Ok(())
        }
        ("a", Some(request)) => {
            push_values(line, request.header_values("user-agent"));
            Ok(())
        }
        // ANCHOR: ex-08.5-duration
        ("T", _) => write!(line, "{}", finished.duration.as_secs()),
        ("M", _) => write!(line, "{}", finished.duration.as_millis()),
        ("D", _) => write!(line, "{micros}"),
        ("L", _) => write!(line, "{}.{:06}", micros / 1_000_000, micros % 1_000_000),
        // ANCHOR_END: ex-08.5-duration
        ("m", Some(r)) => {
            push_escaped(line, r.method.as_str());
            Ok(())
        }
        ("U", Some(r)) => {
            push_escaped(line, r.path());
            Ok(())
        }
        ("q", Some(r)) => {
            push_escaped(line, r.query());
            Ok(())
        }
        ("H", Some(r)) => write!(line, "{}", r.version),
        ("p", _) => write!(line, "<{pid}>"),
        (name, request) => match name.strip_prefix('{').and_then(|n| n.rsplit_once('}')) {
            Some((header, "i")) => {
                let values = request.into_iter().flat_map(|r| r.header_values(header));
                push_values(line, values);
                Ok(())
            }
            Some((header, "o")) => {
                let headers = finished.response_headers.into_iter();
                push_values(line, headers.flat_map(|h| h.header_values(header)));
                Ok(())
            }
            // Unknown, or a request whose head could not be read.
            _ => write!(line, "-"),
        },
    };
}

/// Appends all values of a header, joined by `, `, or `-` when it has
/// none.
fn push_values<S: AsRef<str>>(line: &mut String, values: impl Iterator<Item = S>) {
    let mut any = false;
    for value in values {
        if any {
            line.push_str(", ");
        }
        push_escaped(line, value.as_ref());
        any = true;
    }
    if !any {
        line.push('-');
    }
}

/// The user name of `Authorization: Basic base64(user:password)`.
fn basic_user(request: &Request) -> Option<String> {
    let value = request.header("authorization")?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64(token.trim())?;
    let user = decoded.split(|&b| b == b':').next()?;
    // Latin-1, as every header byte here: a byte is a char.
    Some(user.iter().map(|&b| char::from(b)).collect())
}

/// Standard base64 (RFC 4648, section 4), padding optional; `None` for
/// anything else.
fn base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0);
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use stage_02::{Limits, Parsed, parse_request};

    use super::*;

    fn request(head: &str) -> Request {
        match parse_request(head.as_bytes(), &Limits::default()) {
            Ok(Parsed::Complete { request, .. }) => request,
            other => panic!("{head:?}: {other:?}"),
        }
    }

    fn outcome(status: u16, body_bytes: u64) -> Outcome {
        Outcome {
            status,
            body_bytes,
            error: None,
            abort: false,
            client_gone: false,
            reusable: true,
        }
    }

    const WHEN: u64 = 784_111_777; // 06/Nov/1994:08:49:37

    fn render(format: &str, finished: &Finished<'_>) -> String {
        Format::parse(format).render(finished, UNIX_EPOCH + Duration::from_secs(WHEN), 4242)
    }

    #[test]
    fn every_atom_renders() {
        let request = request(
            "POST /a/b%20c?x=1&y=2 HTTP/1.1\r\nHost: t\r\nReferer: http://r/\r\n\
             User-Agent: curl/8.5.0\r\nAuthorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l\r\n\
             X-Trace: one\r\nx-trace: two\r\nContent-Length: 0\r\n\r\n",
        );
        let outcome = outcome(201, 1234);
        let mut response_headers = HeaderLines::new();
        for (name, value) in [
            ("Content-Type", "text/plain"),
            ("X-Served", "a\"b"),
            ("x-served", "c"),
        ] {
            response_headers.push(name, value).unwrap();
        }
        let finished = Finished {
            request: Some(&request),
            outcome: &outcome,
            remote: "203.0.113.7",
            response_headers: Some(&response_headers),
            duration: Duration::from_micros(2_345_678),
        };
        let cases = [
            ("h", "203.0.113.7"),
            ("l", "-"),
            ("u", "aladdin"),
            ("t", "[06/Nov/1994:08:49:37 +0000]"),
            ("r", "POST /a/b%20c?x=1&y=2 HTTP/1.1"),
            ("s", "201"),
            ("b", "1234"),
            ("B", "1234"),
            ("f", "http://r/"),
            ("a", "curl/8.5.0"),
            ("T", "2"),
            ("M", "2345"),
            ("D", "2345678"),
            ("L", "2.345678"),
            ("m", "POST"),
            ("U", "/a/b%20c"),
            ("q", "x=1&y=2"),
            ("H", "HTTP/1.1"),
            ("p", "<4242>"),
            ("{x-trace}i", "one, two"),
            ("{X-TRACE}i", "one, two"),
            ("{missing}i", "-"),
            ("{content-type}o", "text/plain"),
            ("{X-SERVED}o", r#"a\"b, c"#),
            ("{missing}o", "-"),
            ("nonsense", "-"),
        ];
        for (name, expected) in cases {
            assert_eq!(
                render(&format!("%({name})s"), &finished),
                expected,
                "%({name})s"
            );
        }
    }

    #[test]
    fn the_default_format_is_the_common_log_line() {
        let request = request("GET /tasks HTTP/1.1\r\nHost: t\r\nUser-Agent: curl/8.5.0\r\n\r\n");
        let outcome = outcome(200, 73);
        let finished = Finished {
            request: Some(&request),
            outcome: &outcome,
            remote: "127.0.0.1",
            response_headers: None,
            duration: Duration::ZERO,
        };
        assert_eq!(
            Format::default().render(&finished, UNIX_EPOCH + Duration::from_secs(WHEN), 1),
            r#"127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] "GET /tasks HTTP/1.1" 200 73 "-" "curl/8.5.0""#
        );
    }

    #[test]
    fn no_request_no_response_and_a_unix_peer_give_dashes() {
        let outcome = outcome(0, 0);
        let finished = Finished {
            request: None,
            outcome: &outcome,
            remote: "",
            response_headers: None,
            duration: Duration::ZERO,
        };
        assert_eq!(
            render(
                "%(h)s %(r)s %(m)s %(U)s %(q)s %(H)s %(b)s %(B)s %(a)s %(D)s %(L)s %({a}i)s %({b}o)s",
                &finished
            ),
            "- - - - - - - 0 - 0 0.000000 - -"
        );
    }

    #[test]
    fn the_duration_atoms_truncate_and_agree() {
        // 1.9999999 s: every unit cuts off what it cannot show, as
        // gunicorn does, so that `%(L)s` never says 2 s while `%(D)s`
        // says 1,999,999 µs.
        let request = request("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        let outcome = outcome(200, 0);
        let finished = Finished {
            request: Some(&request),
            outcome: &outcome,
            remote: "::1",
            response_headers: None,
            duration: Duration::from_nanos(1_999_999_900),
        };
        assert_eq!(
            render("%(T)s %(M)s %(D)s %(L)s", &finished),
            "1 1999 1999999 1.999999"
        );
    }

    #[test]
    fn text_percent_signs_and_quotes_come_out_right() {
        let request = request("GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: a\"b\\c\r\n\r\n");
        let outcome = outcome(200, 0);
        let finished = Finished {
            request: Some(&request),
            outcome: &outcome,
            remote: "::1",
            response_headers: None,
            duration: Duration::from_millis(5),
        };
        assert_eq!(
            render(r#"100%% "%(a)s" %(D)sus %d %(h) %(h)s"#, &finished),
            r#"100% "a\"b\\c" 5000us %d %(h) ::1"#
        );
    }

    #[test]
    fn basic_credentials_decode() {
        assert_eq!(
            base64("YWxhZGRpbjpvcGVuc2VzYW1l").unwrap(),
            b"aladdin:opensesame"
        );
        assert_eq!(base64("YQ==").unwrap(), b"a");
        assert_eq!(base64("YWI").unwrap(), b"ab");
        assert_eq!(base64("not base64!"), None);
        let bearer = request("GET / HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer abc\r\n\r\n");
        assert_eq!(basic_user(&bearer), None);
    }
}
