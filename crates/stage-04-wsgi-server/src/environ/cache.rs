//! [`build_environ`](super::build_environ) for a server that keeps its
//! connections open: the same `environ`, with less of it made anew for
//! every request.
//!
//! The plain function makes a dict and fills it entry by entry, each key
//! and value a new Python string. Here, measured as the performance
//! appendix tells (a hello-world app served under callgrind by the
//! event-loop server), the same `environ` costs 13.1 thousand
//! instructions per request in all where the plain function's cost 47.7
//! thousand: 34.7 thousand fewer, from four tricks, each measured on top
//! of the ones before it:
//!
//! - **`sys` imported once** (`sys_module`), and `wsgi.errors` looked up
//!   once per connection: `import` goes through `__import__` even for a
//!   module that is already loaded. 12.9 thousand fewer.
//! - **Keys made once per process**: the CGI names (`cgi_key`), the
//!   `wsgi.*` names, and the keys of header names seen before
//!   (`header_key`, a bounded cache with a small hash) are Python
//!   strings that already exist, their hashes computed. 11.5 thousand
//!   fewer.
//! - **A template per connection** ([`ConnectionEnviron`]): the entries
//!   that never change (the `wsgi.*` constants) and those that are the same
//!   for every request on a connection (addresses, ports, `wsgi.errors`)
//!   sit in a dict made once, and each request starts from a copy of it: a
//!   copy is one allocation and a `memcpy`, where twenty insertions grow
//!   the dict two or three times and make their values anew. 9.6 thousand
//!   fewer.
//! - **Values reused** ([`ConnectionEnviron::environ`]): a value equal to
//!   the previous request's at the same place on the connection is the
//!   same Python string again. 0.7 thousand fewer.
//!
//! What the entries are is still decided by the plain code:
//! [`request_variables`], [`connection_variables`] and [`Key::text`]. The
//! property tests below check that a connection's `environ`s are equal to
//! [`build_environ`](super::build_environ)'s, request after request. One
//! difference is on purpose: `wsgi.errors` is `sys.stderr` as it was when
//! the connection opened, so an app that replaces `sys.stderr` sees the
//! change from the next connection on.

use std::collections::HashMap;
use std::sync::Mutex;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule, PyString, PyTuple};
use stage_02::Request;

use crate::file_wrapper::FileWrapper;

use super::{Cgi, ConnectionInfo, Key, connection_variables, request_variables};

/// What every `environ` on one connection starts with: the entries that
/// never change, and the connection's addresses. A keep-alive connection
/// makes this once and copies it for each request, which is much cheaper
/// than inserting the same entries one by one into a dict that keeps
/// growing.
#[derive(Debug)]
pub struct ConnectionEnviron {
    template: Py<PyDict>,
    /// The previous request's entries, in order. Requests on a connection
    /// repeat most of them (the method, `Host`, `User-Agent`, `Accept`,
    /// cookies): a value equal to the one at the same place last time is
    /// the same Python string, shared (strings are immutable), rather
    /// than a new one.
    previous: Vec<(Py<PyString>, Py<PyString>)>,
}

impl ConnectionEnviron {
    /// The template for requests on `conn`.
    pub fn new(py: Python<'_>, conn: &ConnectionInfo) -> PyResult<ConnectionEnviron> {
        let template = constant_entries(py)?.copy()?;
        for (cgi, value) in connection_variables(conn) {
            template.set_item(cgi_key(py, cgi), value)?;
        }
        // sys.stderr as it is when the connection opens: an app that
        // replaces it sees the change from the next connection on.
        template.set_item(
            intern!(py, "wsgi.errors"),
            sys_module(py)?.getattr(intern!(py, "stderr"))?,
        )?;
        Ok(ConnectionEnviron {
            template: template.unbind(),
            previous: Vec::new(),
        })
    }

    /// The template in `slot`, made for `conn` if there is none yet: a
    /// server keeps one per connection, made at its first request (making
    /// it needs the GIL, which a server may not hold when it accepts).
    pub fn of_connection<'s>(
        slot: &'s mut Option<ConnectionEnviron>,
        py: Python<'_>,
        conn: &ConnectionInfo,
    ) -> PyResult<&'s mut ConnectionEnviron> {
        match slot {
            Some(template) => Ok(template),
            None => Ok(slot.insert(ConnectionEnviron::new(py, conn)?)),
        }
    }

    /// Sets an entry for every request on the connection, such as
    /// `wsgi.multiprocess` in a server with several worker processes.
    pub fn set<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        value: impl IntoPyObject<'py>,
    ) -> PyResult<()> {
        self.template.bind(py).set_item(key, value)
    }

    /// Leaves an entry out of every request's `environ` on the connection,
    /// such as `REMOTE_PORT` for a peer that has no port.
    pub fn remove(&self, py: Python<'_>, key: &str) -> PyResult<()> {
        let template = self.template.bind(py);
        if template.contains(key)? {
            template.del_item(key)?;
        }
        Ok(())
    }

    // ANCHOR: cached_environ
    /// The `environ` for one request on the connection.
    pub fn environ<'py>(
        &mut self,
        py: Python<'py>,
        request: &Request,
        input: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let environ = self.template.bind(py).copy()?;
        let mut at = 0;
        for (key, value) in request_variables(request) {
            let key = match key {
                Key::Cgi(cgi) => cgi_key(py, cgi),
                Key::Header(name) => match header_key(py, name) {
                    Some(key) => key,
                    None => continue, // a name environ leaves out
                },
            };
            let value = self.value_at(py, at, &key, &value);
            environ.set_item(key, value)?;
            at += 1;
        }
        self.previous.truncate(at);
        environ.set_item(intern!(py, "wsgi.input"), input)?;
        Ok(environ)
    }
    // ANCHOR_END: cached_environ

    /// The string for the `at`-th entry: last request's, if it had the same
    /// key and text there, or else a new one, remembered for the next.
    fn value_at<'py>(
        &mut self,
        py: Python<'py>,
        at: usize,
        key: &Bound<'py, PyString>,
        text: &str,
    ) -> Bound<'py, PyString> {
        if let Some((previous_key, previous)) = self.previous.get(at) {
            let previous = previous.bind(py);
            // Keys are made once (cgi_key, header_key): the same key is
            // the same object.
            if previous_key.is(key) && previous.to_str().is_ok_and(|t| t == text) {
                return previous.clone();
            }
        }
        let value = PyString::new(py, text);
        let entry = (key.clone().unbind(), value.clone().unbind());
        match self.previous.get_mut(at) {
            Some(slot) => *slot = entry,
            None => self.previous.push(entry),
        }
        value
    }
}

/// The entries every `environ` starts with, built once per process.
fn constant_entries(py: Python<'_>) -> PyResult<&Bound<'_, PyDict>> {
    static TEMPLATE: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    let template = TEMPLATE.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let template = PyDict::new(py);
        // The keys every request sets, with a placeholder: the copy then has
        // room for them all, and setting them replaces values instead of
        // growing the dict two or three times.
        for cgi in [
            Cgi::RequestMethod,
            Cgi::PathInfo,
            Cgi::ServerProtocol,
            Cgi::ServerName,
            Cgi::ServerPort,
            Cgi::RemoteAddr,
            Cgi::RemotePort,
        ] {
            template.set_item(cgi_key(py, cgi), py.None())?;
        }
        template.set_item(intern!(py, "wsgi.input"), py.None())?;
        template.set_item(intern!(py, "wsgi.errors"), py.None())?;
        // Replaced when the request has a query string.
        template.set_item(cgi_key(py, Cgi::QueryString), "")?;
        template.set_item("SCRIPT_NAME", "")?;
        template.set_item("wsgi.version", PyTuple::new(py, [1, 0])?)?;
        template.set_item("wsgi.url_scheme", "http")?;
        // The input ends where the body ends: reading to EOF is safe.
        template.set_item("wsgi.input_terminated", true)?;
        // One request at a time per process, and the process lives on;
        // a server with several workers says so itself.
        template.set_item("wsgi.multithread", false)?;
        template.set_item("wsgi.multiprocess", false)?;
        template.set_item("wsgi.run_once", false)?;
        template.set_item("wsgi.file_wrapper", py.get_type::<FileWrapper>())?;
        Ok(template.unbind())
    })?;
    Ok(template.bind(py))
}

/// The Python string for a CGI name, made once per process: inserting a
/// string that exists, its hash already computed, is cheaper than making
/// a new one for every request.
fn cgi_key(py: Python<'_>, cgi: Cgi) -> Bound<'_, PyString> {
    static KEYS: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();
    let keys = KEYS.get_or_init(py, || {
        Cgi::ALL
            .iter()
            .map(|cgi| PyString::intern(py, cgi.name()).unbind())
            .collect()
    });
    // ALL lists the variants in declaration order, so the discriminant
    // is the index.
    keys[cgi as usize].bind(py).clone()
}

/// The key for a header, by its name as sent (`Host` gives `HTTP_HOST`),
/// or `None` if environ leaves the header out. Made once and kept: the
/// same few dozen names come with every request. Names come from
/// clients, so the cache is bounded.
fn header_key<'py>(py: Python<'py>, name: &str) -> Option<Bound<'py, PyString>> {
    const MAX_NAMES: usize = 256;
    type Cache = HashMap<String, Option<Py<PyString>>, BuildFnv>;
    static KEYS: PyOnceLock<Mutex<Cache>> = PyOnceLock::new();
    let mut keys = KEYS
        .get_or_init(py, Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = keys.get(name) {
        return known.as_ref().map(|key| key.bind(py).clone());
    }
    let made = Key::Header(name)
        .text()
        .map(|key| PyString::intern(py, &key));
    if keys.len() < MAX_NAMES {
        let kept = made.as_ref().map(|key| key.clone().unbind());
        keys.insert(name.to_string(), kept);
    }
    made
}

/// FNV-1a, a tiny hash for the key cache: its keys are a few dozen short
/// strings, where the standard SipHash (built to resist crafted keys in
/// big tables) costs about 75 instructions more per name looked up
/// (measured with requests of one header: 13 135 instructions per request
/// with SipHash, 13 060 with this). The cache is bounded, so crafted
/// header names cannot make it degrade.
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

/// The `sys` module, imported once: `import` is not free, and this runs
/// for every connection.
fn sys_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static SYS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    SYS.get_or_try_init(py, || py.import("sys").map(Bound::unbind))
        .map(|sys| sys.bind(py))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::sample::select;
    use proptest::test_runner::TestCaseError;
    use stage_02::{Limits, Parsed, parse_request};

    use super::*;
    use crate::environ::{build_environ, http_key};
    use crate::input::Input;

    #[test]
    fn every_cgi_name_is_listed_once_in_order() {
        for (index, cgi) in Cgi::ALL.iter().enumerate() {
            // cgi_key relies on this to index its table.
            assert_eq!(*cgi as usize, index);
        }
    }

    /// A header name: one that requests send, in either case, or a token
    /// made of any of the characters a name may have (`_` included, which
    /// environ drops).
    fn header_name() -> impl Strategy<Value = String> {
        prop_oneof![
            select(vec![
                "Accept",
                "accept",
                "User-Agent",
                "Cookie",
                "cookie",
                "Content-Type",
                "X-Forwarded-For",
                "X_Forwarded_For",
            ])
            .prop_map(str::to_string),
            "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}",
        ]
    }

    /// A header value: from a small set, so that values repeat from one
    /// request to the next, or any visible bytes and obs-text.
    fn header_value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            select(vec![&b"a"[..], b"b", b"text/html", b"caf\xe9", b"", b"s=1"])
                .prop_map(<[u8]>::to_vec),
            proptest::collection::vec(prop_oneof![0x21..0x7fu8, 0x80..=0xffu8, Just(b' ')], 0..10),
        ]
    }

    /// A request head that parses, mostly: a method, a target in each of
    /// its forms, with or without a query and percent escapes, and a few
    /// headers, some of them repeated.
    fn request() -> impl Strategy<Value = Request> {
        let line = (
            select(vec!["GET", "POST", "HEAD", "OPTIONS"]),
            select(vec!["/", "/a/b", "/caf%C3%A9", "/100%", "http://h/x", "*"]),
            select(vec!["", "?", "?q=1", "?q=caf%C3%A9&x"]),
            select(vec!["HTTP/1.1", "HTTP/1.0"]),
            select(vec!["x", "example.com:80"]),
        );
        let headers = proptest::collection::vec((header_name(), header_value()), 0..6);
        (line, headers).prop_filter_map(
            "not a request the parser accepts",
            |((method, path, query, version, host), headers)| {
                let mut head =
                    format!("{method} {path}{query} {version}\r\nHost: {host}\r\n").into_bytes();
                for (name, value) in headers {
                    head.extend([name.as_bytes(), b": ", &value, b"\r\n"].concat());
                }
                head.extend(b"\r\n");
                match parse_request(&head, &Limits::default()) {
                    Ok(Parsed::Complete { request, .. }) => Some(request),
                    _ => None,
                }
            },
        )
    }

    fn connection() -> impl Strategy<Value = ConnectionInfo> {
        (
            any::<[u8; 4]>(),
            any::<u16>(),
            any::<[u16; 8]>(),
            any::<u16>(),
        )
            .prop_map(|(local, local_port, peer, peer_port)| ConnectionInfo {
                local: (local, local_port).into(),
                peer: (peer, peer_port).into(),
            })
    }

    /// The dict's items as text, sorted: key and `repr` of the value, so
    /// that a difference in type shows as well as one in value.
    fn items(environ: &Bound<'_, PyDict>) -> PyResult<Vec<(String, String)>> {
        let mut items = environ
            .iter()
            .map(|(key, value)| Ok((key.extract()?, value.repr()?.extract()?)))
            .collect::<PyResult<Vec<_>>>()?;
        items.sort();
        Ok(items)
    }

    fn failed(error: PyErr) -> TestCaseError {
        TestCaseError::fail(error.to_string())
    }

    proptest! {
        #[test]
        fn a_connections_environs_are_the_plain_ones(
            requests in proptest::collection::vec(request(), 1..8),
            conn in connection(),
        ) {
            Python::attach(|py| {
                let input = Bound::new(py, Input::new(Vec::new())).map_err(failed)?.into_any();
                let mut template = ConnectionEnviron::new(py, &conn).map_err(failed)?;
                for request in &requests {
                    let fast = template.environ(py, request, input.clone()).map_err(failed)?;
                    let plain = build_environ(py, request, input.clone(), &conn).map_err(failed)?;
                    prop_assert_eq!(items(&fast).map_err(failed)?, items(&plain).map_err(failed)?);
                }
                Ok(())
            })?;
        }

        #[test]
        fn cached_header_keys_are_the_plain_ones(
            names in proptest::collection::vec(header_name(), 1..40),
        ) {
            // The cache is bounded and shared by the whole process: past its
            // bound, new names take the uncached way, which must agree too.
            Python::attach(|py| {
                for name in &names {
                    let fast = header_key(py, name).map(|key| key.to_string());
                    prop_assert_eq!(fast, http_key(name), "{:?}", name);
                }
                Ok(())
            })?;
        }
    }
}
