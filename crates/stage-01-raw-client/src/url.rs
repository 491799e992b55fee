//! Just enough of URL parsing for `http://host[:port][/path][?query]`.
//!
//! A client needs three things out of a URL: where to connect (host and
//! port), what to put in the `Host` header, and the request target (path and
//! query) for the request line. The fragment (`#...`) never goes on the wire.

use std::fmt;

/// The default port of the `http` scheme (RFC 9110, section 4.2.1).
pub const DEFAULT_HTTP_PORT: u16 = 80;

/// An `http://` URL split into the parts a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The host as written, without brackets for an IPv6 literal.
    pub host: String,
    /// The port to connect to: the one written, or 80.
    pub port: u16,
    /// Whether the URL named its port; if so the `Host` header repeats it.
    pub explicit_port: bool,
    /// Path and query, the request target of the request line (`/` if empty).
    pub target: String,
}

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// No `scheme://` at the start.
    MissingScheme,
    /// A scheme other than `http`, such as `https`, which needs TLS.
    UnsupportedScheme(String),
    /// Nothing between `http://` and the path.
    MissingHost,
    /// A port that is not a number from 1 to 65535.
    BadPort(String),
    /// A space or control character, which cannot go in a request line.
    BadCharacter(char),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::MissingScheme => write!(f, "the URL must start with http://"),
            UrlError::UnsupportedScheme(scheme) => write!(
                f,
                "the scheme {scheme}:// is not supported: stage-01 speaks plain http:// only (TLS is left out)"
            ),
            UrlError::MissingHost => write!(f, "the URL has no host after http://"),
            UrlError::BadPort(port) => {
                write!(f, "the port {port:?} is not a number from 1 to 65535")
            }
            UrlError::BadCharacter(c) => write!(
                f,
                "the URL contains {c:?}, which cannot appear in a request line (percent-encode it)"
            ),
        }
    }
}

impl std::error::Error for UrlError {}

impl Url {
    /// Parses an `http://` URL.
    pub fn parse(input: &str) -> Result<Url, UrlError> {
        let (scheme, rest) = input.split_once("://").ok_or(UrlError::MissingScheme)?;
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(UrlError::UnsupportedScheme(scheme.to_string()));
        }
        // A space or a control byte in the target would break the request
        // line apart, or worse, smuggle in a header of the user's making.
        if let Some(c) = rest.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::BadCharacter(c));
        }
        let rest = rest.split('#').next().unwrap_or_default();
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(authority_end);
        let (host, port) = split_host_port(authority)?;
        let target = match target {
            "" => "/".to_string(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_string(),
        };
        Ok(Url {
            host: host.to_string(),
            port: port.unwrap_or(DEFAULT_HTTP_PORT),
            explicit_port: port.is_some(),
            target,
        })
    }

    /// The value of the `Host` header: the host, and the port if one was given.
    pub fn host_header(&self) -> String {
        // ANCHOR: ex-01.4-host-header
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        // ANCHOR_END: ex-01.4-host-header
        if self.explicit_port {
            format!("{host}:{}", self.port)
        } else {
            host
        }
    }
}

/// Splits `host[:port]`, with `[v6 literal]` for IPv6 addresses.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), UrlError> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or(UrlError::MissingHost)?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':').unwrap_or(p))),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(UrlError::BadPort(p.to_string())),
        },
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_host_port_and_target() {
        let url = Url::parse("http://127.0.0.1:8000/x?y=1#frag").unwrap();
        assert_eq!(url.host, "127.0.0.1");
        assert_eq!(url.port, 8000);
        assert_eq!(url.target, "/x?y=1");
        assert_eq!(url.host_header(), "127.0.0.1:8000");
    }

    #[test]
    fn defaults_to_port_80_and_root_path() {
        let url = Url::parse("http://example.test").unwrap();
        assert_eq!((url.port, url.target.as_str()), (80, "/"));
        assert_eq!(url.host_header(), "example.test");
    }

    #[test]
    fn a_query_without_a_path_gets_a_slash() {
        assert_eq!(Url::parse("http://h?q").unwrap().target, "/?q");
    }

    #[test]
    fn ipv6_literals_keep_their_brackets_in_the_host_header() {
        let url = Url::parse("http://[::1]:8080/").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 8080));
        assert_eq!(url.host_header(), "[::1]:8080");
    }

    #[test]
    fn refuses_what_it_cannot_send() {
        assert_eq!(
            Url::parse("https://x/"),
            Err(UrlError::UnsupportedScheme("https".into()))
        );
        assert_eq!(Url::parse("x/"), Err(UrlError::MissingScheme));
        assert_eq!(Url::parse("http:///x"), Err(UrlError::MissingHost));
        assert_eq!(Url::parse("http://:80/"), Err(UrlError::MissingHost));
        assert_eq!(
            Url::parse("http://h:0/"),
            Err(UrlError::BadPort("0".into()))
        );
        assert_eq!(
            Url::parse("http://h:99999/"),
            Err(UrlError::BadPort("99999".into()))
        );
        assert_eq!(
            Url::parse("http://h:+80/"),
            Err(UrlError::BadPort("+80".into()))
        );
        assert_eq!(Url::parse("http://h:/"), Err(UrlError::BadPort("".into())));
        assert_eq!(Url::parse("http://h/a b"), Err(UrlError::BadCharacter(' ')));
        assert_eq!(
            Url::parse("http://h/a\r\nX: y"),
            Err(UrlError::BadCharacter('\r'))
        );
    }
}
