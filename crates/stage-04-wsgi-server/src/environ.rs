//! From a parsed request to the `environ` dictionary of PEP 3333.
//!
//! Two halves: [`connection_variables`] and [`request_variables`] compute
//! every string entry in plain Rust (so they can be tested without
//! Python), and [`build_environ`] puts them in a dict together with the
//! `wsgi.*` objects. [`cache`] makes the same dict for a server that keeps
//! connections open, with less work per request, and a property test that
//! the two agree.

pub mod cache;

use std::borrow::Cow;
use std::net::SocketAddr;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use stage_02::Request;
use stage_02::parse::latin1;

use crate::file_wrapper::FileWrapper;

/// Where a request came in and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The server's own address on this connection.
    pub local: SocketAddr,
    /// The client's address.
    pub peer: SocketAddr,
}

// ANCHOR: cgi_names
/// The CGI variables a server sets from the request line, the connection
/// and the two headers CGI names itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cgi {
    /// `REQUEST_METHOD`
    RequestMethod,
    /// `PATH_INFO`
    PathInfo,
    /// `QUERY_STRING`
    QueryString,
    /// `SERVER_PROTOCOL`
    ServerProtocol,
    /// `CONTENT_TYPE`
    ContentType,
    /// `CONTENT_LENGTH`
    ContentLength,
    /// `SERVER_NAME`
    ServerName,
    /// `SERVER_PORT`
    ServerPort,
    /// `REMOTE_ADDR`
    RemoteAddr,
    /// `REMOTE_PORT`
    RemotePort,
}
// ANCHOR_END: cgi_names

impl Cgi {
    /// Every variant, in declaration order.
    pub const ALL: [Cgi; 10] = [
        Cgi::RequestMethod,
        Cgi::PathInfo,
        Cgi::QueryString,
        Cgi::ServerProtocol,
        Cgi::ContentType,
        Cgi::ContentLength,
        Cgi::ServerName,
        Cgi::ServerPort,
        Cgi::RemoteAddr,
        Cgi::RemotePort,
    ];

    /// The variable's name, the key in `environ`.
    pub fn name(self) -> &'static str {
        match self {
            Cgi::RequestMethod => "REQUEST_METHOD",
            Cgi::PathInfo => "PATH_INFO",
            Cgi::QueryString => "QUERY_STRING",
            Cgi::ServerProtocol => "SERVER_PROTOCOL",
            Cgi::ContentType => "CONTENT_TYPE",
            Cgi::ContentLength => "CONTENT_LENGTH",
            Cgi::ServerName => "SERVER_NAME",
            Cgi::ServerPort => "SERVER_PORT",
            Cgi::RemoteAddr => "REMOTE_ADDR",
            Cgi::RemotePort => "REMOTE_PORT",
        }
    }
}

/// A key of `environ`: one of CGI's own names, or a request header's,
/// which becomes `HTTP_` and the name (see [`Key::text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key<'r> {
    /// A CGI variable.
    Cgi(Cgi),
    /// A request header, by its name as sent.
    Header(&'r str),
}

impl Key<'_> {
    /// The key as text, or `None` for a header that `environ` leaves out.
    pub fn text(&self) -> Option<Cow<'static, str>> {
        match self {
            Key::Cgi(cgi) => Some(cgi.name().into()),
            Key::Header(name) => http_key(name).map(Cow::Owned),
        }
    }
}

/// The entries that are the same for every request on a connection: the
/// two ends' addresses and ports. A keep-alive connection computes them
/// once ([`ConnectionEnviron`](cache::ConnectionEnviron)).
pub fn connection_variables(conn: &ConnectionInfo) -> [(Cgi, String); 4] {
    [
        (Cgi::ServerName, conn.local.ip().to_string()),
        (Cgi::ServerPort, conn.local.port().to_string()),
        (Cgi::RemoteAddr, conn.peer.ip().to_string()),
        (Cgi::RemotePort, conn.peer.port().to_string()),
    ]
}

// ANCHOR: request_variables
/// The request's own string entries of `environ`, in a stable order.
///
/// Every value is a native `str` whose characters are the request's bytes
/// decoded as latin-1, as PEP 3333 requires: an application recovers the
/// bytes with `.encode("latin-1")` and decodes them as it knows best. The
/// app is mounted at the root, so `SCRIPT_NAME` is always empty and the
/// whole path is `PATH_INFO`; an empty `SCRIPT_NAME` and `QUERY_STRING`
/// are in every `environ` from the start ([`build_environ`]).
pub fn request_variables(request: &Request) -> Vec<(Key<'_>, Cow<'_, str>)> {
    let mut vars = Vec::with_capacity(6 + request.headers.len());
    let mut cgi = |name, value| vars.push((Key::Cgi(name), value));
    cgi(Cgi::RequestMethod, request.method.as_str().into());
    cgi(Cgi::PathInfo, path_info(request.path()));
    // The query string stays percent-encoded; parsing it is the app's job.
    if !request.query().is_empty() {
        cgi(Cgi::QueryString, as_latin1(request.query()));
    }
    cgi(Cgi::ServerProtocol, request.version.as_str().into());
    // CGI gives these two their own names, without the HTTP_ prefix, and
    // never also as HTTP_CONTENT_TYPE / HTTP_CONTENT_LENGTH (http_key).
    if let Some(content_type) = joined(request, "content-type") {
        cgi(Cgi::ContentType, content_type);
    }
    if let Some(length) = request.content_length {
        cgi(Cgi::ContentLength, length.to_string().into());
    }
    for (index, (name, _)) in request.headers.iter().enumerate() {
        // A repeated header has one key, for all its values (joined).
        let seen = request.headers[..index]
            .iter()
            .any(|(earlier, _)| earlier.eq_ignore_ascii_case(name));
        if !seen {
            let value = joined(request, name).unwrap_or_default();
            vars.push((Key::Header(name), value));
        }
    }
    vars
}
// ANCHOR_END: request_variables

// ANCHOR: path_info
/// PATH_INFO: the path percent-decoded, each byte then one latin-1 char.
/// Most paths have neither `%` nor non-ASCII bytes, and are used as they are.
/// It starts with `/`, except for `OPTIONS *`, whose PATH_INFO is `*`
/// ([`origin_path`]); wsgiref's validator asserts a leading `/`, so an
/// app wrapped in it answers `OPTIONS *` with a 500.
fn path_info(path: &str) -> Cow<'_, str> {
    let path = origin_path(path);
    if path.is_ascii() && !path.contains('%') {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(latin1(&percent_decode(path)))
    }
}

/// The text's bytes as latin-1 chars: ASCII is already that.
fn as_latin1(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(latin1(text.as_bytes()))
    }
}
// ANCHOR_END: path_info

// ANCHOR: http_key
/// `X-Forwarded-For` becomes `HTTP_X_FORWARDED_FOR`. Names that contain
/// `_` are dropped: `X_Forwarded_For` would map to the same key, and a
/// client could use it to overwrite a header set by a proxy in front
/// (nginx and gunicorn drop them too). Content-Type and Content-Length
/// have their own keys.
pub fn http_key(name: &str) -> Option<String> {
    // ANCHOR: ex-04.2-header-keys
    if name.contains('_')
        || name.eq_ignore_ascii_case("content-type")
        || name.eq_ignore_ascii_case("content-length")
    {
        return None;
    }
    Some(format!(
        "HTTP_{}",
        name.to_ascii_uppercase().replace('-', "_")
    ))
    // ANCHOR_END: ex-04.2-header-keys
}
// ANCHOR_END: http_key

// ANCHOR: joined
/// All values of a header joined into one, as CGI has one key per name:
/// with `, ` as HTTP defines for lists (RFC 9110, section 5.3), except
/// `Cookie`, whose pairs are separated by `; ` (RFC 6265, section 5.4).
fn joined<'r>(request: &'r Request, name: &str) -> Option<Cow<'r, str>> {
    let mut values = request.header_values(name);
    let first = values.next()?;
    let Some(second) = values.next() else {
        return Some(Cow::Borrowed(first));
    };
    // ANCHOR: ex-04.3-repeated-headers
    let separator = if name.eq_ignore_ascii_case("cookie") {
        "; "
    } else {
        ", "
    };
    // ANCHOR_END: ex-04.3-repeated-headers
    let all: Vec<&str> = [first, second].into_iter().chain(values).collect();
    Some(Cow::Owned(all.join(separator)))
}
// ANCHOR_END: joined

/// The path part of the request target's path, for PATH_INFO.
///
/// The parser lets through three forms of target (RFC 9112, section 3.2):
/// origin-form `/path`, used as it is; absolute-form `scheme://host/path`
/// (what clients send to proxies, and servers must accept, section 3.2.2),
/// of which only `/path` is kept (`/` when there is none), whatever the
/// scheme; and `*` for `OPTIONS *`, which is no path and stays `*`.
fn origin_path(path: &str) -> &str {
    if path.starts_with('/') {
        return path; // origin form, what nearly every request sends
    }
    let Some((_scheme, after_scheme)) = path.split_once("://") else {
        return path; // `*`
    };
    after_scheme
        .find('/')
        .map_or("/", |slash| &after_scheme[slash..])
}

// ANCHOR: percent_decode
/// Decodes `%XX` escapes into bytes. A `%` not followed by two hex digits
/// is kept as it is, as most servers do, rather than refusing the request.
pub fn percent_decode(text: &str) -> Vec<u8> {
    // ANCHOR: ex-04.1-percent-decode
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes.get(i + 1..i + 3).and_then(|hex| {
            let hex = std::str::from_utf8(hex).ok()?;
            u8::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.bytes().all(|b| b.is_ascii_hexdigit()))
        });
        match (bytes[i], escape) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
    // ANCHOR_END: ex-04.1-percent-decode
}
// ANCHOR_END: percent_decode

// ANCHOR: build_environ
/// The `environ` dict for one request: the CGI variables, then the
/// `wsgi.*` entries PEP 3333 requires. `input` is the body as a file-like
/// object: [`Input`](crate::input::Input) in this stage's server, or any
/// other object with the methods PEP 3333 lists.
pub fn build_environ<'py>(
    py: Python<'py>,
    request: &Request,
    input: Bound<'py, PyAny>,
    conn: &ConnectionInfo,
) -> PyResult<Bound<'py, PyDict>> {
    let environ = PyDict::new(py);
    // The app is mounted at the root; a request without a query string
    // has an empty one (request_variables sets it when there is one).
    environ.set_item("SCRIPT_NAME", "")?;
    environ.set_item(Cgi::QueryString.name(), "")?;
    for (cgi, value) in connection_variables(conn) {
        environ.set_item(cgi.name(), value)?;
    }
    for (key, value) in request_variables(request) {
        // No text: a header environ leaves out (http_key).
        if let Some(key) = key.text() {
            environ.set_item(key, value)?;
        }
    }
    environ.set_item("wsgi.version", (1, 0))?;
    environ.set_item("wsgi.url_scheme", "http")?;
    environ.set_item("wsgi.input", input)?;
    environ.set_item("wsgi.errors", py.import("sys")?.getattr("stderr")?)?;
    // The input ends where the body ends: reading to EOF is safe.
    environ.set_item("wsgi.input_terminated", true)?;
    // One request at a time per process, and the process lives on.
    environ.set_item("wsgi.multithread", false)?;
    environ.set_item("wsgi.multiprocess", false)?;
    environ.set_item("wsgi.run_once", false)?;
    // PEP 3333's optional extension for files (see file_wrapper).
    environ.set_item("wsgi.file_wrapper", py.get_type::<FileWrapper>())?;
    Ok(environ)
}
// ANCHOR_END: build_environ

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("/caf%C3%A9"), "/café".as_bytes());
        assert_eq!(percent_decode("/a%2Fb"), b"/a/b");
        assert_eq!(percent_decode("/100%"), b"/100%");
        assert_eq!(percent_decode("/%zz%4"), b"/%zz%4");
        assert_eq!(percent_decode("/%e9"), b"/\xe9");
        assert_eq!(percent_decode("/%+1"), b"/%+1");
    }

    #[test]
    fn absolute_form_targets_keep_only_the_path() {
        assert_eq!(origin_path("http://example.com/a/b"), "/a/b");
        assert_eq!(origin_path("HTTP://example.com"), "/");
        assert_eq!(origin_path("/plain"), "/plain");
        assert_eq!(origin_path("*"), "*");
        // The parser lets any scheme through (RFC 3986, section 3.1).
        assert_eq!(origin_path("ftp://example.com/a"), "/a");
        assert_eq!(origin_path("svn+ssh://example.com"), "/");
    }

    /// The CGI variables of a request given as bytes, by their keys.
    fn variables(bytes: &[u8]) -> Vec<(String, String)> {
        let Ok(stage_02::Parsed::Complete { request, .. }) =
            stage_02::parse_request(bytes, &stage_02::Limits::default())
        else {
            panic!("the request parses");
        };
        request_variables(&request)
            .into_iter()
            .filter_map(|(key, value)| Some((key.text()?.into_owned(), value.into_owned())))
            .collect()
    }

    fn get<'v>(vars: &'v [(String, String)], key: &str) -> Option<&'v str> {
        vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn an_absolute_form_target_gives_its_path_and_query() {
        let vars = variables(
            b"GET http://example.com/caf%C3%A9?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
        );
        assert_eq!(get(&vars, "PATH_INFO"), Some("/caf\u{c3}\u{a9}"));
        assert_eq!(get(&vars, "QUERY_STRING"), Some("x=1"));
    }

    #[test]
    fn options_asterisk_reaches_the_app_as_path_info_asterisk() {
        // Not a path at all, so not one that starts with `/`: an app
        // answers it by looking for REQUEST_METHOD OPTIONS with PATH_INFO `*`.
        let vars = variables(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(get(&vars, "REQUEST_METHOD"), Some("OPTIONS"));
        assert_eq!(get(&vars, "PATH_INFO"), Some("*"));
        assert_eq!(get(&vars, "QUERY_STRING"), None);
    }

    #[test]
    fn repeated_headers_share_one_key() {
        let vars = variables(b"GET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\nCookie: s=1\r\naccept: b\r\nCookie: t=2\r\n\r\n");
        assert_eq!(get(&vars, "HTTP_ACCEPT"), Some("a, b"));
        assert_eq!(get(&vars, "HTTP_COOKIE"), Some("s=1; t=2"));
        assert_eq!(vars.iter().filter(|(k, _)| k == "HTTP_COOKIE").count(), 1);
        assert_eq!(vars.iter().filter(|(k, _)| k == "HTTP_ACCEPT").count(), 1);
    }

    #[test]
    fn the_connection_gives_addresses_and_ports() {
        let conn = ConnectionInfo {
            local: ([127, 0, 0, 1], 8000).into(),
            peer: (std::net::Ipv6Addr::LOCALHOST, 50123).into(),
        };
        let vars = connection_variables(&conn).map(|(cgi, value)| (cgi.name(), value));
        assert_eq!(
            vars,
            [
                ("SERVER_NAME", "127.0.0.1".to_string()),
                ("SERVER_PORT", "8000".to_string()),
                ("REMOTE_ADDR", "::1".to_string()),
                ("REMOTE_PORT", "50123".to_string()),
            ]
        );
    }

    #[test]
    fn underscored_header_names_cannot_spoof_environ_keys() {
        assert_eq!(
            http_key("X-Forwarded-For").as_deref(),
            Some("HTTP_X_FORWARDED_FOR")
        );
        assert_eq!(http_key("X_Forwarded_For"), None);
        // These two have keys of their own, without HTTP_ (PEP 3333).
        assert_eq!(http_key("content-type"), None);
        assert_eq!(http_key("Content-Length"), None);
    }
}
