//! A readable description of a parsed request, for people.

use std::fmt::Write;

use crate::request::Request;

// ANCHOR: describe
/// Describes a request line by line: what the parser understood.
///
/// Header values are shown with Rust's escaping (`{:?}`), so a latin-1
/// byte such as `\xe9` shows as `é` and a tab as `\t`.
pub fn describe(request: &Request, body: &[u8]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "method:  {}", request.method);
    let _ = writeln!(out, "target:  {}", request.target);
    let _ = writeln!(out, "path:    {}", request.path());
    let _ = writeln!(out, "query:   {}", request.query());
    let _ = writeln!(out, "version: {}", request.version);
    let _ = writeln!(out, "headers: {}", request.headers.len());
    for (name, value) in &request.headers {
        let _ = writeln!(out, "  {name}: {value:?}");
    }
    let _ = match request.content_length {
        Some(n) => writeln!(out, "body:    {} bytes (Content-Length: {n})", body.len()),
        None => writeln!(out, "body:    {} bytes (no Content-Length)", body.len()),
    };
    if !body.is_empty() {
        let _ = writeln!(out, "{}", stage_01::visible(body));
    }
    out
}
// ANCHOR_END: describe
