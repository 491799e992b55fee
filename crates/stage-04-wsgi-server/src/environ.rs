//! From a parsed request to the `environ` dictionary of PEP 3333.
//!
//! Two halves: [`cgi_variables`] computes every string entry in plain
//! Rust (so it can be tested without Python), and [`build_environ`] puts
//! them in a dict together with the `wsgi.*` objects.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule, PyString, PyTuple};
use stage_02::Request;
use stage_02::parse::latin1;

/// Where a request came in and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The server's own address on this connection.
    pub local: SocketAddr,
    /// The client's address.
    pub peer: SocketAddr,
}

// ANCHOR: cgi_variables
/// The CGI-style string entries of `environ`, in a stable order.
///
/// Every value is a native `str` whose characters are the request's bytes
/// decoded as latin-1, as PEP 3333 requires: an application recovers the
/// bytes with `.encode("latin-1")` and decodes them as it knows best.
pub fn cgi_variables<'r>(
    request: &'r Request,
    conn: &ConnectionInfo,
) -> Vec<(Cow<'static, str>, Cow<'r, str>)> {
    let mut vars: Vec<(Cow<'static, str>, Cow<'r, str>)> = vec![
        ("REQUEST_METHOD".into(), request.method.as_str().into()),
        // The app is mounted at the root: everything is PATH_INFO.
        ("SCRIPT_NAME".into(), "".into()),
        ("PATH_INFO".into(), path_info(&request.path)),
        // The query string stays percent-encoded; parsing it is the app's job.
        ("QUERY_STRING".into(), as_latin1(&request.query)),
        ("SERVER_NAME".into(), ip_text(conn.local.ip()).into()),
        (
            "SERVER_PORT".into(),
            decimal(conn.local.port().into()).into(),
        ),
        ("SERVER_PROTOCOL".into(), request.version.to_string().into()),
        ("REMOTE_ADDR".into(), ip_text(conn.peer.ip()).into()),
        (
            "REMOTE_PORT".into(),
            decimal(conn.peer.port().into()).into(),
        ),
    ];
    // CGI gives these two their own names, without the HTTP_ prefix, and
    // never also as HTTP_CONTENT_TYPE / HTTP_CONTENT_LENGTH.
    if let Some(content_type) = joined(request, "content-type") {
        vars.push(("CONTENT_TYPE".into(), content_type));
    }
    if let Some(length) = request.content_length {
        vars.push(("CONTENT_LENGTH".into(), decimal(length).into()));
    }
    for (name, _) in &request.headers {
        let Some(key) = http_key(name) else { continue };
        if vars.iter().all(|(k, _)| *k != key) {
            let value = joined(request, name).unwrap_or_default();
            vars.push((key.into(), value));
        }
    }
    vars
}

/// PATH_INFO: the path percent-decoded, each byte then one latin-1 char.
/// Most paths have neither `%` nor non-ASCII bytes, and are used as they are.
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

/// `X-Forwarded-For` becomes `HTTP_X_FORWARDED_FOR`. Names that contain
/// `_` are dropped: `X_Forwarded_For` would map to the same key, and a
/// client could use it to overwrite a header set by a proxy in front
/// (nginx and gunicorn drop them too). Content-Type and Content-Length
/// have their own keys.
fn http_key(name: &str) -> Option<String> {
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

/// All values of a header joined into one, as CGI has one key per name:
/// with `, ` as HTTP defines for lists (RFC 9110, section 5.3), except
/// `Cookie`, whose pairs are separated by `; ` (RFC 6265, section 5.4).
fn joined<'r>(request: &'r Request, name: &str) -> Option<Cow<'r, str>> {
    let values: Vec<&'r str> = request.header_values(name).collect();
    match values.as_slice() {
        [] => return None,
        [only] => return Some(Cow::Borrowed(only)),
        _ => {}
    }
    // ANCHOR: ex-04.3-repeated-headers
    let separator = if name.eq_ignore_ascii_case("cookie") {
        "; "
    } else {
        ", "
    };
    // ANCHOR_END: ex-04.3-repeated-headers
    Some(Cow::Owned(values.join(separator)))
}
// ANCHOR_END: cgi_variables

/// An IP address as text. IPv4 is written by hand: going through
/// `Display` costs as much as the rest of `environ` put together.
fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let mut text = String::with_capacity(15);
            for (index, octet) in v4.octets().into_iter().enumerate() {
                if index > 0 {
                    text.push('.');
                }
                push_decimal(&mut text, octet.into());
            }
            text
        }
        IpAddr::V6(v6) => v6.to_string(),
    }
}

/// A number as decimal text.
fn decimal(n: u64) -> String {
    let mut text = String::with_capacity(20);
    push_decimal(&mut text, n);
    text
}

fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
}

/// The path of an absolute-form target (`GET http://host/path HTTP/1.1`,
/// which proxies send and servers must accept, RFC 9112 section 3.2.2).
fn origin_path(path: &str) -> &str {
    let lower = path.get(..8).unwrap_or(path).to_ascii_lowercase();
    let Some(scheme_len) = ["http://", "https://"]
        .iter()
        .find(|s| lower.starts_with(**s))
        .map(|s| s.len())
    else {
        return path;
    };
    let after_scheme = &path[scheme_len..];
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
/// object: [`Input`](crate::input::Input) here, a streaming one in chapter 5.
pub fn build_environ<'py>(
    py: Python<'py>,
    request: &Request,
    input: Bound<'py, PyAny>,
    conn: &ConnectionInfo,
) -> PyResult<Bound<'py, PyDict>> {
    // The entries that never change come from a template, copied: much
    // cheaper than inserting them one by one into a dict that keeps growing.
    let environ = constant_entries(py)?.copy()?;
    for (key, value) in cgi_variables(request, conn) {
        environ.set_item(key_object(py, &key), value)?;
    }
    environ.set_item(intern!(py, "wsgi.input"), input)?;
    environ.set_item(
        intern!(py, "wsgi.errors"),
        sys_module(py)?.getattr(intern!(py, "stderr"))?,
    )?;
    Ok(environ)
}
// ANCHOR_END: build_environ

/// The entries every `environ` starts with, built once per process.
fn constant_entries(py: Python<'_>) -> PyResult<&Bound<'_, PyDict>> {
    static TEMPLATE: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    let template = TEMPLATE.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let template = PyDict::new(py);
        // The keys every request sets, with a placeholder: the copy then has
        // room for them all, and setting them replaces values instead of
        // growing the dict two or three times.
        for key in [
            "REQUEST_METHOD",
            "SCRIPT_NAME",
            "PATH_INFO",
            "QUERY_STRING",
            "SERVER_NAME",
            "SERVER_PORT",
            "SERVER_PROTOCOL",
            "REMOTE_ADDR",
            "REMOTE_PORT",
            "wsgi.input",
            "wsgi.errors",
        ] {
            template.set_item(key_object(py, key), py.None())?;
        }
        template.set_item("wsgi.version", PyTuple::new(py, [1, 0])?)?;
        template.set_item("wsgi.url_scheme", "http")?;
        // The input ends where the body ends: reading to EOF is safe.
        template.set_item("wsgi.input_terminated", true)?;
        // One request at a time per process, and the process lives on;
        // a server with several workers says so itself.
        template.set_item("wsgi.multithread", false)?;
        template.set_item("wsgi.multiprocess", false)?;
        template.set_item("wsgi.run_once", false)?;
        Ok(template.unbind())
    })?;
    Ok(template.bind(py))
}

/// The Python string for an environ key, made once and kept: the same few
/// dozen keys come with every request, and inserting a string that already
/// exists, its hash computed, is cheaper than making a new one. Header
/// names come from clients, so the cache is bounded.
fn key_object<'py>(py: Python<'py>, key: &str) -> Bound<'py, PyString> {
    const MAX_KEYS: usize = 256;
    static KEYS: PyOnceLock<Mutex<HashMap<String, Py<PyString>, BuildFnv>>> = PyOnceLock::new();
    let mut keys = KEYS
        .get_or_init(py, Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = keys.get(key) {
        return known.bind(py).clone();
    }
    let made = PyString::intern(py, key);
    if keys.len() < MAX_KEYS {
        keys.insert(key.to_string(), made.clone().unbind());
    }
    made
}

/// FNV-1a, a tiny hash for the key cache: its keys are a few dozen short
/// strings, where the standard SipHash (built to resist crafted keys in
/// big tables) costs more than the lookup saves. The cache is bounded, so
/// crafted header names cannot make it degrade.
#[derive(Default, Clone, Copy)]
struct BuildFnv;

struct Fnv(u64);

impl std::hash::BuildHasher for BuildFnv {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
// ANCHOR_END: build_environ

/// The `sys` module, imported once: `import` is not free, and this runs
/// for every request. (`sys.stderr` itself is looked up each time, as an
/// app may replace it.)
fn sys_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static SYS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    SYS.get_or_try_init(py, || py.import("sys").map(Bound::unbind))
        .map(|sys| sys.bind(py))
}

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
    }

    #[test]
    fn repeated_headers_share_one_key() {
        let bytes = b"GET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\nCookie: s=1\r\naccept: b\r\nCookie: t=2\r\n\r\n";
        let Ok(stage_02::Parsed::Complete { request, .. }) =
            stage_02::parse_request(bytes, &stage_02::Limits::default())
        else {
            panic!("the request parses");
        };
        let conn = ConnectionInfo {
            local: ([127, 0, 0, 1], 8000).into(),
            peer: ([127, 0, 0, 1], 5000).into(),
        };
        let vars = cgi_variables(&request, &conn);
        let get = |key: &str| vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref());
        assert_eq!(get("HTTP_ACCEPT"), Some("a, b"));
        assert_eq!(get("HTTP_COOKIE"), Some("s=1; t=2"));
        assert_eq!(vars.iter().filter(|(k, _)| k == "HTTP_COOKIE").count(), 1);
    }

    #[test]
    fn addresses_and_numbers_as_text() {
        assert_eq!(ip_text([127, 0, 0, 1].into()), "127.0.0.1");
        assert_eq!(ip_text([255, 10, 0, 200].into()), "255.10.0.200");
        assert_eq!(ip_text(std::net::Ipv6Addr::LOCALHOST.into()), "::1");
        assert_eq!(
            (decimal(0), decimal(8000), decimal(u64::MAX)),
            ("0".into(), "8000".into(), u64::MAX.to_string())
        );
    }

    #[test]
    fn header_keys() {
        assert_eq!(
            http_key("X-Forwarded-For").as_deref(),
            Some("HTTP_X_FORWARDED_FOR")
        );
        assert_eq!(http_key("X_Forwarded_For"), None);
        assert_eq!(http_key("content-type"), None);
    }
}

/* workshop exercise
id: 04.1-percent-decode
title: Percent-decode the path
kind: implement
book: ch04-wsgi-server.html#from-bytes-to-environ
tests: percent_decoding_keeps_what_is_not_an_escape
hint: `%` followed by two hex digits is one byte: `%C3%A9` is the two bytes C3 A9. Decode into bytes, not chars.
hint: A `%` that is not followed by two hex digits (`/100%`, `%zz`) stays as it is.
starter:
    let _ = text;
    todo!("exercise 04.1: turn each %XX into its byte")
*/

/* workshop exercise
id: 04.2-header-keys
title: Header names as environ keys, without spoofing
kind: fix the bug
book: ch04-wsgi-server.html#from-bytes-to-environ
tests: header_keys
hint: Which two header names map to HTTP_X_FORWARDED_FOR? Could a client send one to overwrite what a proxy set?
hint: Drop any header whose name contains `_`, as nginx and gunicorn do.
starter:
    if name.eq_ignore_ascii_case("content-type") || name.eq_ignore_ascii_case("content-length") {
        return None;
    }
    Some(format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_")))
*/

/* workshop exercise
id: 04.3-repeated-headers
title: One environ key for repeated headers
kind: fix the bug
book: ch04-wsgi-server.html#from-bytes-to-environ
tests: repeated_headers_share_one_key
hint: HTTP lists are joined with ", " (RFC 9110, section 5.3). Is that true of every header?
hint: Cookie pairs are separated by "; " (RFC 6265, section 5.4); a Cookie joined with ", " reads as one broken cookie.
starter:
    let separator = ", ";
*/
