//! Preparing the embedded interpreter so that an app's imports work.
//!
//! `python3 app.py` puts the script's directory on `sys.path`, and an
//! activated virtualenv puts its own site-packages there. An interpreter
//! embedded in a Rust binary gets neither, so the server does both itself,
//! the way gunicorn does: the current directory first, then any
//! `--pythonpath` directories, then the virtualenv named by `VIRTUAL_ENV`,
//! or else the one the server is installed in.

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
    if let Some(venv) = virtualenv() {
        // site.addsitedir also reads the .pth files that editable installs
        // and some packages rely on.
        let site = py.import("site")?;
        for dir in venv_site_packages(py, &venv)? {
            site.call_method1("addsitedir", (dir.to_string_lossy().as_ref(),))?;
        }
    }
    Ok(())
}
// ANCHOR_END: prepare

/// The active virtualenv (`VIRTUAL_ENV`), or else the one this program
/// was installed in: `pip install` puts a server in `VENV/bin/`, so that
/// running it from there serves with that environment's packages without
/// activating it, as `VENV/bin/gunicorn` does.
fn virtualenv() -> Option<PathBuf> {
    match std::env::var_os("VIRTUAL_ENV") {
        Some(venv) => Some(venv.into()),
        None => installed_in(&std::env::current_exe().ok()?),
    }
}

/// The virtualenv around `program`, if it is in one's `bin/`: a
/// virtualenv is the folder with a `pyvenv.cfg` (PEP 405).
fn installed_in(program: &Path) -> Option<PathBuf> {
    let venv = program.parent()?.parent()?;
    venv.join("pyvenv.cfg")
        .is_file()
        .then(|| venv.to_path_buf())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_in_a_virtualenvs_bin_belongs_to_it() {
        let venv = std::env::temp_dir().join(format!("venv-{}", std::process::id()));
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        let program = venv.join("bin").join("server");
        assert_eq!(installed_in(&program), None, "no pyvenv.cfg yet");
        std::fs::write(venv.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        assert_eq!(installed_in(&program), Some(venv.clone()));
        assert_eq!(installed_in(Path::new("/usr/bin/python3")), None);
        std::fs::remove_dir_all(venv).unwrap();
    }
}
