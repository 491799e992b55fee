//! An awaitable that is already complete.
//!
//! `await x` asks `x.__await__()` for an iterator and runs it: each value
//! the iterator yields goes up to the event loop (an asyncio future yields
//! itself, and the task sleeps until it is done); when it raises
//! `StopIteration(value)`, `await` gives `value` without ever leaving the
//! coroutine. So when `receive` already has the message, or `send` has
//! nothing to wait for, an object whose first `__next__` raises
//! `StopIteration` makes `await` return at once: no future made, no trip
//! through the loop (what `asyncio.sleep(0)` or a done future's callbacks
//! would cost). Only a real wait gets a real `loop.create_future()`.

use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;

// ANCHOR: ready
/// An awaitable whose result is `value`, available at once.
#[pyclass(frozen, module = "stage07")]
pub struct Ready {
    value: Option<Py<PyAny>>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Never yields: the result is handed over as `StopIteration`'s value.
    /// Nothing changes, so one `Ready` may be awaited any number of times.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match &self.value {
            None => Ok(None), // StopIteration with no value: `await` gives None
            // A one-element tuple, so that a value that is itself a tuple
            // is not taken for the exception's arguments.
            Some(value) => Err(PyStopIteration::new_err((value.clone_ref(py),))),
        }
    }
}
// ANCHOR_END: ready

impl Ready {
    /// An awaitable giving `value`.
    pub fn with(value: Py<PyAny>) -> Ready {
        Ready { value: Some(value) }
    }

    /// An awaitable giving `None`, what `send` returns.
    pub fn none() -> Ready {
        Ready { value: None }
    }
}
