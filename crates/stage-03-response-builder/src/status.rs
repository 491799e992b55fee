//! Status codes, their reason phrases, and which of them may carry a body.

use crate::headers::InvalidResponse;

/// A status code with the reason phrase to send after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The three-digit code.
    pub code: u16,
    /// The reason phrase: text for people, ignored by clients (RFC 9112,
    /// section 4), so an application may choose its own.
    pub reason: String,
}

impl Status {
    /// The code with its standard reason phrase (empty if it has none).
    pub fn new(code: u16) -> Status {
        Status {
            code,
            reason: reason_phrase(code).unwrap_or("").to_string(),
        }
    }

    /// Parses a WSGI-style status string such as `"404 Not Found"`.
    pub fn parse(text: &str) -> Result<Status, InvalidResponse> {
        let (code, reason) = text.split_once(' ').unwrap_or((text, ""));
        let bad = || InvalidResponse::BadStatus(text.to_string());
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let status = Status {
            code: code.parse().map_err(|_| bad())?,
            reason: reason.to_string(),
        };
        status.validate()?;
        Ok(status)
    }

    /// Checks that the status line can be written as is: a code from 100
    /// to 999 and a reason phrase with no control characters.
    pub fn validate(&self) -> Result<(), InvalidResponse> {
        let reason_ok = self
            .reason
            .chars()
            .all(|c| c == '\t' || (!c.is_control() && u32::from(c) <= 0xff));
        if (100..=999).contains(&self.code) && reason_ok {
            Ok(())
        } else {
            Err(InvalidResponse::BadStatus(format!(
                "{} {}",
                self.code, self.reason
            )))
        }
    }
}

// ANCHOR: body_allowed
/// Whether a response with this status may have a body. 1xx, 204 and 304
/// never do (RFC 9110, sections 15.2, 15.3.5 and 15.4.5): a client reads
/// the next response right after their empty line, so a body sent anyway
/// would be taken for the start of the next response.
pub fn body_allowed(code: u16) -> bool {
    // ANCHOR: ex-03.3-body-allowed
    !matches!(code, 100..=199 | 204 | 304)
    // ANCHOR_END: ex-03.3-body-allowed
}
// ANCHOR_END: body_allowed

/// The reason phrase registered for `code` (RFC 9110, section 15).
pub fn reason_phrase(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wsgi_status_strings() {
        assert_eq!(Status::parse("404 Not Found").unwrap(), Status::new(404));
        assert_eq!(Status::parse("299 Custom").unwrap().reason, "Custom");
        assert_eq!(Status::parse("200").unwrap().reason, "");
        for bad in [
            "",
            "OK",
            "20 OK",
            "2000 OK",
            "abc OK",
            "200 OK\r\nX: y",
            "099 Low",
        ] {
            assert!(Status::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bodies_are_forbidden_exactly_where_http_says() {
        for code in [100, 101, 199, 204, 304] {
            assert!(!body_allowed(code), "{code}");
        }
        for code in [200, 201, 203, 205, 301, 400, 404, 500] {
            assert!(body_allowed(code), "{code}");
        }
    }
}
