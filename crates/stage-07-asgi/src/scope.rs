//! The `scope` of an `http` request: what `environ` was to WSGI.
//!
//! ASGI keeps bytes where HTTP has bytes (ASGI HTTP spec, "HTTP Connection
//! Scope"): `raw_path`, `query_string` and the header pairs are `bytes`,
//! header names lower-cased, in the order sent, repeats kept; only `path`
//! is text, percent-decoded and then decoded as UTF-8 (WSGI's `PATH_INFO`
//! was latin-1). Addresses are `(host, port)` tuples with int ports.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use stage_02::{Request, Version};
use stage_03::headers::push_latin1;
use stage_04::environ::percent_decode;

/// The version of the HTTP sub-specification this server implements.
/// 2.4 would promise that `send` raises `OSError` after a disconnect;
/// this server ignores such a `send`, as 2.3 allows.
pub const SPEC_VERSION: &str = "2.3";

// ANCHOR: decoded_path
/// `path` in the scope: [`raw_path`] percent-decoded and read as UTF-8.
/// Bytes that are not UTF-8 become U+FFFD; `raw_path` keeps them.
pub fn decoded_path(request: &Request) -> String {
    let bytes = percent_decode(raw_path(request));
    // ANCHOR: ex-09.1-utf8-path
    String::from_utf8_lossy(&bytes).into_owned()
    // ANCHOR_END: ex-09.1-utf8-path
}

/// `raw_path` in the scope: the target's path as sent, without the query.
/// The rare absolute-form target (`http://host/path`, RFC 9112, section
/// 3.2.2, what a client talking to a proxy sends) loses its scheme and
/// host, so that an app sees the path an origin-form request would have
/// sent (uvicorn does the same with httptools); an empty path there is
/// `/`. `*` stays.
pub fn raw_path(request: &Request) -> &str {
    let target = request.path();
    match target.split_once("://") {
        Some((_, rest)) if !target.starts_with('/') => rest.find('/').map_or("/", |at| &rest[at..]),
        _ => target,
    }
}
// ANCHOR_END: decoded_path

/// The connection's two ends as the scope tells them, and its scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ends {
    /// `(host, port)` of the client; `None` over a Unix socket (no
    /// address) unless a trusted proxy named the client, whose port it
    /// does not give, and which is then 0 (as uvicorn's proxy headers do).
    pub client: Option<(String, u16)>,
    /// `(host, port)` the server listens on; `(path, None)` for a Unix
    /// socket (ASGI HTTP spec, "server").
    pub server: Option<(String, Option<u16>)>,
    /// `http`, or what a trusted proxy's `X-Forwarded-Proto` says.
    pub scheme: &'static str,
}

// ANCHOR: http_scope
/// The scope dict for `request` on a connection between `ends`. `state`
/// is the lifespan state, of which each request gets a shallow copy (ASGI
/// lifespan spec, "Lifespan State").
pub fn http_scope<'py>(
    py: Python<'py>,
    request: &Request,
    ends: &Ends,
    state: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let scope = PyDict::new(py);
    scope.set_item(intern!(py, "type"), intern!(py, "http"))?;
    let asgi = PyDict::new(py);
    asgi.set_item(intern!(py, "version"), intern!(py, "3.0"))?;
    asgi.set_item(intern!(py, "spec_version"), SPEC_VERSION)?;
    scope.set_item(intern!(py, "asgi"), asgi)?;
    let version = match request.version {
        Version::Http10 => intern!(py, "1.0"),
        Version::Http11 => intern!(py, "1.1"),
    };
    scope.set_item(intern!(py, "http_version"), version)?;
    scope.set_item(intern!(py, "method"), request.method.to_ascii_uppercase())?;
    scope.set_item(intern!(py, "scheme"), ends.scheme)?;
    scope.set_item(intern!(py, "path"), decoded_path(request))?;
    let raw = raw_path(request).as_bytes();
    scope.set_item(intern!(py, "raw_path"), PyBytes::new(py, raw))?;
    let query = request.query().as_bytes();
    scope.set_item(intern!(py, "query_string"), PyBytes::new(py, query))?;
    scope.set_item(intern!(py, "root_path"), intern!(py, ""))?;
    scope.set_item(intern!(py, "headers"), header_pairs(py, request)?)?;
    scope.set_item(intern!(py, "client"), &ends.client)?;
    scope.set_item(intern!(py, "server"), &ends.server)?;
    if let Some(state) = state {
        scope.set_item(intern!(py, "state"), state.copy()?)?;
    }
    Ok(scope)
}
// ANCHOR_END: http_scope

/// `[(name, value), ...]` as bytes: names lower-cased, values back to the
/// bytes they were (the parser read them as latin-1).
fn header_pairs<'py>(py: Python<'py>, request: &Request) -> PyResult<Bound<'py, PyList>> {
    // ANCHOR: ex-09.2-header-pairs
    let mut bytes = Vec::new();
    let pairs = request.headers.iter().map(|(name, value)| {
        bytes.clear();
        push_latin1(&mut bytes, value);
        let name = PyBytes::new(py, name.to_ascii_lowercase().as_bytes());
        PyTuple::new(py, [name, PyBytes::new(py, &bytes)])
    });
    PyList::new(py, pairs.collect::<PyResult<Vec<_>>>()?)
    // ANCHOR_END: ex-09.2-header-pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use stage_02::{Limits, Parsed, parse_request};

    fn path_of(target: &str) -> String {
        let head = format!("OPTIONS {target} HTTP/1.1\r\nHost: t\r\n\r\n");
        match parse_request(head.as_bytes(), &Limits::default()) {
            Ok(Parsed::Complete { request, .. }) => decoded_path(&request),
            other => panic!("{other:?}"),
        }
    }

    fn raw_path_of(target: &str) -> String {
        let head = format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n");
        match parse_request(head.as_bytes(), &Limits::default()) {
            Ok(Parsed::Complete { request, .. }) => raw_path(&request).to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn raw_path_is_the_targets_path_alone_even_in_absolute_form() {
        assert_eq!(raw_path_of("/a%2Fb?x"), "/a%2Fb");
        assert_eq!(raw_path_of("http://example.com/a%2Fb?x"), "/a%2Fb");
        assert_eq!(raw_path_of("https://user@example.com:8080/p/q"), "/p/q");
        assert_eq!(raw_path_of("http://example.com"), "/");
        assert_eq!(raw_path_of("http://example.com?x"), "/");
        assert_eq!(path_of("http://example.com/a%2Fb?x"), "/a/b");
    }

    #[test]
    fn the_path_is_percent_decoded_utf8_and_absolute_form_loses_its_host() {
        assert_eq!(path_of("/caf%C3%A9/a%20b?x=%41"), "/caf\u{e9}/a b");
        assert_eq!(path_of("/a%2Fb"), "/a/b");
        assert_eq!(path_of("/bad%FF"), "/bad\u{fffd}");
        assert_eq!(path_of("http://example.com/x%41"), "/xA");
        assert_eq!(path_of("*"), "*");
    }

    #[test]
    fn header_names_are_lower_cased_bytes_in_order_with_repeats_and_values_as_sent() {
        let head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Tag: a\r\nAccept: */*\r\nx-tag: b\r\nX-Name: caf\xe9\r\n\r\n";
        let request = match parse_request(head, &Limits::default()) {
            Ok(Parsed::Complete { request, .. }) => request,
            other => panic!("{other:?}"),
        };
        let pairs: Vec<(Vec<u8>, Vec<u8>)> =
            Python::attach(|py| header_pairs(py, &request).and_then(|list| list.extract()))
                .unwrap();
        let expected: [(&[u8], &[u8]); 5] = [
            (b"host", b"t"),
            (b"x-tag", b"a"),
            (b"accept", b"*/*"),
            (b"x-tag", b"b"),
            // The byte 0xE9 the client sent, not UTF-8's two bytes for é.
            (b"x-name", b"caf\xe9"),
        ];
        let expected: Vec<(Vec<u8>, Vec<u8>)> = expected
            .iter()
            .map(|(n, v)| (n.to_vec(), v.to_vec()))
            .collect();
        assert_eq!(pairs, expected);
    }
}
