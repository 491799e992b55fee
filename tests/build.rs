//! Point the test binaries at the libpython they were built against, as
//! the stage crates' build scripts do: `tests/framework.rs` embeds Python
//! to serve the framework's app in-process, and without an rpath the
//! loader may take another installation's `libpython3.X.so` (a system one
//! beside a pyenv one).
//!
//! The stages call `pyo3_build_config::add_libpython_rpath_link_args`,
//! which needs pyo3 as a normal dependency; here pyo3 is only a
//! dev-dependency (every stage's tests use this crate, and most of them
//! must not link libpython), so the script asks the interpreter pyo3
//! builds against, `PYO3_PYTHON` or else `python3` on `PATH`, for its
//! library directory, and gives it to the test binaries only.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-env-changed=PATH");
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".into());
    let asked = Command::new(python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_config_var('LIBDIR') or '')",
        ])
        .output();
    if let Ok(output) = asked {
        let libdir = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if output.status.success() && !libdir.is_empty() {
            println!("cargo:rustc-link-arg-tests=-Wl,-rpath,{libdir}");
        }
    }
}
