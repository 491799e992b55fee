//! Assertions on raw responses whose failure reads like a wire diff: what
//! was expected and what came, both with CR and LF visible, reported at
//! the line of the test that called them (`#[track_caller]`). The stages'
//! server tests use them, and so do the workshop's learners, who see these
//! messages when a check fails.

use crate::visible;

/// Asserts that `actual` starts with `expected`.
#[track_caller]
pub fn assert_starts_with(actual: &[u8], expected: &str) {
    if !actual.starts_with(expected.as_bytes()) {
        fail("to start with", expected, actual);
    }
}

/// Asserts that `actual` ends with `expected`.
#[track_caller]
pub fn assert_ends_with(actual: &[u8], expected: &str) {
    if !actual.ends_with(expected.as_bytes()) {
        fail("to end with", expected, actual);
    }
}

/// Asserts that `unwanted` appears nowhere in `actual`; `why` says what it
/// would mean if it did.
#[track_caller]
pub fn assert_lacks(actual: &[u8], unwanted: &str, why: &str) {
    let found = actual
        .windows(unwanted.len().max(1))
        .any(|w| w == unwanted.as_bytes());
    if found {
        fail(&format!("never to contain ({why})"), unwanted, actual);
    }
}

#[track_caller]
fn fail(how: &str, expected: &str, actual: &[u8]) -> ! {
    panic!(
        "expected the bytes {how}:\n{}\nactual bytes:\n{}",
        indent(&visible(expected.as_bytes())),
        indent(&visible(actual))
    )
}

/// Each line indented, so that where one value ends and the next heading
/// starts stays clear.
fn indent(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(|l| format!("  {l}")).collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(check: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let panic = std::panic::catch_unwind(check).unwrap_err();
        panic.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn a_failure_shows_both_sides_with_cr_and_lf_visible() {
        let shown = message(|| assert_starts_with(b"HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 503"));
        assert_eq!(
            shown,
            "expected the bytes to start with:\n  HTTP/1.1 503\nactual bytes:\n  HTTP/1.1 200 OK\\r\\n\n  \\r\\n"
        );
        let shown = message(|| assert_lacks(b"a 200 OK b", "200 OK", "sent too early"));
        assert!(
            shown.starts_with("expected the bytes never to contain (sent too early):\n  200 OK\n")
        );
        assert!(message(|| assert_ends_with(b"abc", "bd")).contains("to end with"));
    }

    #[test]
    fn passing_checks_say_nothing() {
        assert_starts_with(b"abc", "ab");
        assert_ends_with(b"abc", "bc");
        assert_lacks(b"abc", "x", "never");
    }
}
