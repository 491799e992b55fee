//! Runs a fixture app from `tests/apps/` in this process, on a free
//! loopback port, with the RFC example date so that bytes are repeatable.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use pyo3::prelude::*;
use stage_03::FixedClock;
use stage_04::log::AccessEntry;
use stage_04::{AppSpec, Outcome, Server, ServerConfig, load_app};

/// A fixture app served on a thread of its own.
pub struct Fixture {
    /// Where it listens.
    pub addr: SocketAddr,
    outcomes: Receiver<(AccessEntry, Outcome)>,
}

impl Fixture {
    /// The access entry and outcome of the next request served.
    pub fn next_outcome(&self) -> (AccessEntry, Outcome) {
        self.outcomes
            .recv_timeout(Duration::from_secs(20))
            .expect("the server served no request in time")
    }
}

/// The fixture file `tests/apps/<file>` of the workspace.
pub fn fixture_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/apps")
        .join(file)
}

/// Serves `application` from `tests/apps/<file>`; wrapped in
/// `wsgiref.validate.validator` when `validate` is set, which turns any
/// breach of PEP 3333, by the app or by the server, into an AssertionError.
pub fn serve(file: &str, validate: bool) -> Fixture {
    let spec = AppSpec::File {
        path: fixture_path(file),
        callable: "application".into(),
    };
    let app = Python::attach(|py| -> PyResult<Py<PyAny>> {
        let app = load_app(py, &spec)
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
        if validate {
            let validator = py.import("wsgiref.validate")?.getattr("validator")?;
            return Ok(validator.call1((app,))?.unbind());
        }
        Ok(app)
    })
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let config = ServerConfig {
        linger: Duration::from_millis(200),
        ..ServerConfig::default()
    };
    let server = Server::new(listener, app, Arc::new(FixedClock::rfc_example()), config);
    let (tx, outcomes) = mpsc::channel();
    thread::spawn(move || {
        server.serve(|entry, outcome| {
            let _ = tx.send((entry.clone(), outcome.clone()));
        })
    });
    Fixture { addr, outcomes }
}

/// A GET request for `path`, as a client would send it.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\nUser-Agent: stage-04-tests\r\n\r\n").into_bytes()
}
