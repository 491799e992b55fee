//! Point the binary at the libpython it was built against.
//!
//! Without an rpath the dynamic loader takes the first `libpython3.X.so`
//! on its search path, which may belong to another Python installation
//! (a system one beside a pyenv one), whose standard library and
//! site-packages are not the ones the app's packages were installed into.

fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
}
