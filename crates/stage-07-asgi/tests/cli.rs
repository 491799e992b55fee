//! The command line's failures: an app that cannot be loaded is a clear
//! message and a non-zero exit, with or without the master.

mod common;

use std::process::{Command, Stdio};

use common::BIN;
use testkit::apps_dir;

#[test]
fn an_app_that_cannot_be_loaded_is_a_clear_error() {
    for workers in ["0", "1"] {
        let output = Command::new(BIN)
            .args([
                "--bind",
                "127.0.0.1:0",
                "--workers",
                workers,
                "no_such_module:app",
            ])
            .current_dir(apps_dir())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "--workers {workers}: {stderr}");
        assert!(
            stderr.contains("cannot import module \"no_such_module\""),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
