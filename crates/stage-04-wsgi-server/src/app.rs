//! Finding the application: `module:callable`, as gunicorn spells it.

use std::ffi::CString;
use std::fmt;
use std::path::{Path, PathBuf};

use pyo3::exceptions::PyModuleNotFoundError;
use pyo3::prelude::*;

use crate::python::traceback_text;

/// The Python source of the demo app served when no APP is given.
pub const DEMO_SOURCE: &str = include_str!("demo_app.py");

/// Where the application lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppSpec {
    /// `package.module:attribute.path`, imported from `sys.path`.
    Module {
        /// The dotted module name.
        module: String,
        /// The attribute path inside it (`application` by default).
        callable: String,
    },
    /// `path/to/file.py:attribute`, loaded from that file.
    File {
        /// The file.
        path: PathBuf,
        /// The attribute path inside it.
        callable: String,
    },
    /// The built-in demo app.
    Demo,
}

/// Why the application could not be loaded. Each message names what was
/// tried, so the fix is obvious.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The APP argument is not of the form `module:callable`.
    BadSpec(String),
    /// No module of that name on `sys.path`.
    NoModule {
        /// The module asked for.
        module: String,
        /// The `sys.path` that was searched.
        searched: Vec<String>,
    },
    /// No such file.
    NoFile(PathBuf),
    /// Importing raised an exception (a syntax error, a failing import).
    ImportFailed {
        /// The module or file.
        what: String,
        /// The Python traceback.
        traceback: String,
    },
    /// The module has no such attribute.
    NoAttribute {
        /// The module or file.
        what: String,
        /// The attribute path asked for.
        callable: String,
    },
    /// The attribute exists but cannot be called.
    NotCallable {
        /// `module:callable` as given.
        what: String,
        /// The Python type of what was found.
        type_name: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::BadSpec(spec) => write!(
                f,
                "cannot understand APP {spec:?}: expected module:callable (like app:application) or path/to/file.py:callable"
            ),
            LoadError::NoModule { module, searched } => write!(
                f,
                "cannot import module {module:?}: no such module on sys.path, which was searched in this order:\n  {}\n\
                 Run from the directory that holds it, add --pythonpath DIR, or activate the virtualenv that has it.",
                searched.join("\n  ")
            ),
            LoadError::NoFile(path) => write!(f, "there is no file {}", path.display()),
            LoadError::ImportFailed { what, traceback } => {
                write!(f, "importing {what} raised an exception:\n{traceback}")
            }
            LoadError::NoAttribute { what, callable } => {
                write!(
                    f,
                    "{what} was imported, but it has no attribute {callable:?}"
                )
            }
            LoadError::NotCallable { what, type_name } => write!(
                f,
                "{what} is an object of type {type_name}, not a callable; a WSGI application is called as application(environ, start_response)"
            ),
        }
    }
}

impl std::error::Error for LoadError {}

impl AppSpec {
    /// Parses the APP argument. `module` alone means `module:application`.
    pub fn parse(text: &str) -> Result<AppSpec, LoadError> {
        let (place, callable) = match text.rsplit_once(':') {
            // A Windows drive letter (`C:\app.py`) is not a separator.
            Some((place, callable)) if !callable.contains(['/', '\\']) => (place, callable),
            _ => (text, "application"),
        };
        let is_identifier_path = |s: &str| {
            !s.is_empty()
                && s.split('.').all(|part| {
                    part.chars()
                        .next()
                        .is_some_and(|c| c.is_alphabetic() || c == '_')
                        && part.chars().all(|c| c.is_alphanumeric() || c == '_')
                })
        };
        if !is_identifier_path(callable) {
            return Err(LoadError::BadSpec(text.to_string()));
        }
        let callable = callable.to_string();
        if place.ends_with(".py") || place.contains(['/', '\\']) {
            Ok(AppSpec::File {
                path: PathBuf::from(place),
                callable,
            })
        } else if is_identifier_path(place) {
            Ok(AppSpec::Module {
                module: place.to_string(),
                callable,
            })
        } else {
            Err(LoadError::BadSpec(text.to_string()))
        }
    }
}

impl fmt::Display for AppSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppSpec::Module { module, callable } => write!(f, "{module}:{callable}"),
            AppSpec::File { path, callable } => write!(f, "{}:{callable}", path.display()),
            AppSpec::Demo => write!(f, "the built-in demo app"),
        }
    }
}

// ANCHOR: load_app
/// Imports the module and finds the callable in it.
pub fn load_app(py: Python<'_>, spec: &AppSpec) -> Result<Py<PyAny>, LoadError> {
    let (module, what, callable) = match spec {
        AppSpec::Module { module, callable } => (
            import_module(py, module)?,
            module.clone(),
            callable.as_str(),
        ),
        AppSpec::File { path, callable } => (
            import_file(py, path)?,
            path.display().to_string(),
            callable.as_str(),
        ),
        AppSpec::Demo => (import_demo(py)?, "the demo app".to_string(), "application"),
    };
    let mut object = module.into_any();
    for name in callable.split('.') {
        object = object.getattr(name).map_err(|_| LoadError::NoAttribute {
            what: what.clone(),
            callable: callable.to_string(),
        })?;
    }
    if !object.is_callable() {
        let type_name = object
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        return Err(LoadError::NotCallable {
            what: spec.to_string(),
            type_name,
        });
    }
    Ok(object.unbind())
}
// ANCHOR_END: load_app

fn import_module<'py>(py: Python<'py>, module: &str) -> Result<Bound<'py, PyModule>, LoadError> {
    py.import(module).map_err(|error| {
        // ModuleNotFoundError for *this* module means it is not on the
        // path; for another name, the module exists and its own import
        // failed, which is a different fix.
        let missing = error.is_instance_of::<PyModuleNotFoundError>(py)
            && error
                .value(py)
                .getattr("name")
                .and_then(|n| n.extract::<String>())
                .is_ok_and(|name| name == module || module.starts_with(&format!("{name}.")));
        if missing {
            LoadError::NoModule {
                module: module.to_string(),
                searched: sys_path(py),
            }
        } else {
            LoadError::ImportFailed {
                what: format!("module {module:?}"),
                traceback: traceback_text(py, &error),
            }
        }
    })
}

/// Loads `path` as a module named after the file, with its directory on
/// `sys.path` so that it can import its neighbours.
fn import_file<'py>(py: Python<'py>, path: &Path) -> Result<Bound<'py, PyModule>, LoadError> {
    if !path.is_file() {
        return Err(LoadError::NoFile(path.to_path_buf()));
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let name = absolute
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let loaded = (|| -> PyResult<Bound<'py, PyModule>> {
        if let Some(dir) = absolute.parent() {
            py.import("sys")?
                .getattr("path")?
                .call_method1("insert", (0, dir.to_string_lossy().as_ref()))?;
        }
        let util = py.import("importlib.util")?;
        let spec = util.call_method1(
            "spec_from_file_location",
            (name.as_str(), absolute.to_string_lossy().as_ref()),
        )?;
        let module = util.call_method1("module_from_spec", (&spec,))?;
        py.import("sys")?
            .getattr("modules")?
            .set_item(name.as_str(), &module)?;
        spec.getattr("loader")?
            .call_method1("exec_module", (&module,))?;
        Ok(module.cast_into::<PyModule>()?)
    })();
    loaded.map_err(|error| LoadError::ImportFailed {
        what: path.display().to_string(),
        traceback: traceback_text(py, &error),
    })
}

fn import_demo(py: Python<'_>) -> Result<Bound<'_, PyModule>, LoadError> {
    let code = CString::new(DEMO_SOURCE).unwrap_or_default();
    PyModule::from_code(py, &code, c"demo_app.py", c"stage04_demo").map_err(|error| {
        LoadError::ImportFailed {
            what: "the demo app".into(),
            traceback: traceback_text(py, &error),
        }
    })
}

fn sys_path(py: Python<'_>) -> Vec<String> {
    py.import("sys")
        .and_then(|sys| sys.getattr("path")?.extract::<Vec<String>>())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_gunicorn_accepts() {
        let module = |m: &str, c: &str| AppSpec::Module {
            module: m.into(),
            callable: c.into(),
        };
        assert_eq!(
            AppSpec::parse("app:application"),
            Ok(module("app", "application"))
        );
        assert_eq!(
            AppSpec::parse("pkg.wsgi:app"),
            Ok(module("pkg.wsgi", "app"))
        );
        assert_eq!(AppSpec::parse("app"), Ok(module("app", "application")));
        assert_eq!(
            AppSpec::parse("app:factory.app"),
            Ok(module("app", "factory.app"))
        );
        assert_eq!(
            AppSpec::parse("tests/apps/hello.py:app"),
            Ok(AppSpec::File {
                path: "tests/apps/hello.py".into(),
                callable: "app".into()
            })
        );
        assert_eq!(
            AppSpec::parse("hello.py"),
            Ok(AppSpec::File {
                path: "hello.py".into(),
                callable: "application".into()
            })
        );
        for bad in [
            "",
            ":app",
            "app:",
            "app:1x",
            "my-app:app",
            "app:a b",
            "app:create_app()",
        ] {
            assert!(
                matches!(AppSpec::parse(bad), Err(LoadError::BadSpec(_))),
                "{bad:?}"
            );
        }
    }
}
