//! Preparing the embedded interpreter so that an app's imports work.
//!
//! `python3 app.py` puts the script's directory on `sys.path`, and an
//! activated virtualenv puts its own site-packages there. An interpreter
//! embedded in a Rust binary gets neither, so the server does both itself,
//! the way gunicorn does: the current directory first, then any
//! `--pythonpath` directories, then the virtualenv named by `VIRTUAL_ENV`.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::PyString;

// ANCHOR: prepare
/// Puts the current directory, `extra` paths and the active virtualenv's
/// site-packages on `sys.path`.
pub fn prepare(py: Python<'_>, extra: &[PathBuf]) -> PyResult<()> {
    let sys = py.import("sys")?;
    let path = sys.getattr("path")?;
    let mut front: Vec<PathBuf> = vec![std::env::current_dir()?];
    front.extend(
        extra
            .iter()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())),
    );
    for (index, dir) in front.iter().enumerate() {
        path.call_method1("insert", (index, dir.to_string_lossy().as_ref()))?;
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        // site.addsitedir also reads the .pth files that editable installs
        // and some packages rely on.
        let site = py.import("site")?;
        for dir in venv_site_packages(py, Path::new(&venv))? {
            site.call_method1("addsitedir", (dir.to_string_lossy().as_ref(),))?;
        }
    }
    Ok(())
}
// ANCHOR_END: prepare

/// `VENV/lib/pythonX.Y/site-packages` for this interpreter's X.Y (and the
/// Windows layout, `VENV/Lib/site-packages`), where they exist.
fn venv_site_packages(py: Python<'_>, venv: &Path) -> PyResult<Vec<PathBuf>> {
    let version = py.version_info();
    let candidates = [
        venv.join("lib")
            .join(format!("python{}.{}", version.major, version.minor))
            .join("site-packages"),
        venv.join("Lib").join("site-packages"),
    ];
    Ok(candidates.into_iter().filter(|p| p.is_dir()).collect())
}

/// Formats a Python exception with its traceback, as Python would print it.
pub fn traceback_text(py: Python<'_>, error: &PyErr) -> String {
    let formatted = py.import("traceback").and_then(|tb| {
        let lines = tb.call_method1(
            "format_exception",
            (error.get_type(py), error.value(py), error.traceback(py)),
        )?;
        PyString::new(py, "")
            .call_method1("join", (lines,))?
            .extract::<String>()
    });
    formatted.unwrap_or_else(|_| format!("{error}\n"))
}
