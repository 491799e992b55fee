//! Serves `tests/apps/wire.py` (under wsgiref's validator) with stage-05
//! in this process, with the RFC example date so that bytes are repeatable.

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
use stage_04::{AppSpec, Outcome, load_app};
use stage_05::{Server, ServerConfig};

/// A stage-05 server on a thread of its own.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    outcomes: Receiver<(AccessEntry, Outcome)>,
}

impl Running {
    /// The next request's access entry and outcome.
    pub fn next_outcome(&self) -> (AccessEntry, Outcome) {
        self.outcomes
            .recv_timeout(Duration::from_secs(20))
            .expect("no request was served in time")
    }
}

/// Serves the validated wire app with `config` (timeouts shortened for tests).
pub fn serve(config: ServerConfig) -> Running {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/apps/wire.py");
    let spec = AppSpec::File {
        path: file,
        callable: "application".into(),
    };
    let app = Python::attach(|py| {
        let app = load_app(py, &spec).expect("the fixture app loads");
        let validator = py.import("wsgiref.validate")?.getattr("validator")?;
        validator.call1((app,)).map(Bound::unbind)
    })
    .expect("wsgiref.validate wraps the app");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(listener, app, Arc::new(FixedClock::rfc_example()), config);
    let (tx, outcomes) = mpsc::channel();
    thread::spawn(move || {
        server.serve(|entry, outcome| drop(tx.send((entry.clone(), outcome.clone()))))
    });
    Running { addr, outcomes }
}

/// Test timeouts: short enough that a test never waits long.
pub fn quick() -> ServerConfig {
    ServerConfig {
        keep_alive: Duration::from_secs(2),
        header_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_secs(2),
        linger: Duration::from_millis(200),
        ..ServerConfig::default()
    }
}
