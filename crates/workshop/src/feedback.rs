//! Turning cargo's output into what a learner reads after a failed check:
//! each failed test with the source of the check that failed, values that
//! are bytes shown as text with CR and LF visible, an `assert_eq!`'s two
//! sides compared byte by byte, and compile errors once each.

use std::fs;
use std::path::Path;

use crate::anchors::balanced;
use crate::diff::byte_diff;

/// Where a thread panicked, as libtest prints it: `panicked at FILE:LINE:COL:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, relative to the workspace root (as cargo runs tests from).
    pub file: String,
    /// The line, counted from 1.
    pub line: usize,
}

/// The location on one line of output, if it reports a panic.
fn location_on(line: &str) -> Option<Location> {
    let (_, rest) = line.split_once("panicked at ")?;
    let rest = rest.trim_end().strip_suffix(':').unwrap_or(rest);
    // FILE:LINE:COL, and FILE may itself hold a colon (a Windows drive).
    let mut parts = rest.rsplitn(3, ':');
    let (_column, line, file) = (parts.next()?, parts.next()?, parts.next()?);
    Some(Location {
        file: file.to_string(),
        line: line.parse().ok()?,
    })
}

/// Every panic location in `output`, in order, once each: those of the
/// tests themselves and of the server threads they started.
pub fn panic_locations(output: &str) -> Vec<Location> {
    let mut found: Vec<Location> = Vec::new();
    for location in output.lines().filter_map(location_on) {
        if !found.contains(&location) {
            found.push(location);
        }
    }
    found
}

/// One failed test, as libtest reports it between `---- NAME stdout ----`
/// and the next such line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTest {
    /// The test's name.
    pub name: String,
    /// What the test printed and its panic message.
    pub text: String,
}

impl FailedTest {
    /// Where the test's own thread panicked (not a server thread it
    /// started): the failing assertion, or a `todo!()` it ran into.
    pub fn location(&self) -> Option<Location> {
        let own = format!("thread '{}'", self.name);
        let lines = || self.text.lines();
        lines()
            .filter(|l| l.starts_with(&own))
            .find_map(location_on)
            .or_else(|| lines().find_map(location_on))
    }
}

/// The failed tests in the `failures` text of [`crate::tests_run::failures`].
pub fn failed_tests(failures: &str) -> Vec<FailedTest> {
    let mut tests: Vec<FailedTest> = Vec::new();
    for line in failures.lines() {
        let header = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"));
        match (header, tests.last_mut()) {
            (Some(name), _) => tests.push(FailedTest {
                name: name.to_string(),
                text: String::new(),
            }),
            (None, Some(test)) => {
                test.text.push_str(line);
                test.text.push('\n');
            }
            (None, None) => {}
        }
    }
    for test in &mut tests {
        test.text = test.text.trim().to_string();
    }
    tests
}

/// The statement that starts at `location`, read from the file under
/// `root`: from its line until its brackets pair up, at most a dozen lines,
/// each with its line number.
pub fn source_at(root: &Path, location: &Location) -> Option<String> {
    let text = fs::read_to_string(root.join(&location.file)).ok()?;
    let mut statement = String::new();
    let mut shown = String::new();
    for (index, line) in text
        .lines()
        .enumerate()
        .skip(location.line.saturating_sub(1))
        .take(12)
    {
        statement.push_str(line);
        statement.push('\n');
        shown.push_str(&format!("{:>5} | {line}\n", index + 1));
        if balanced(&statement).is_ok() {
            break;
        }
    }
    (!shown.is_empty()).then_some(shown)
}

/// `[71, 69, 84]`, the way Rust prints a byte slice or vector, as the text
/// it stands for with CR, LF and the other control bytes visible.
pub fn bytes_as_text(value: &str) -> Option<String> {
    let inner = value.trim().strip_prefix('[')?.strip_suffix(']')?;
    let bytes: Option<Vec<u8>> = inner
        .split(',')
        .map(|n| n.trim().parse::<u8>().ok())
        .collect();
    let bytes = bytes.filter(|b| b.len() > 1)?;
    Some(stage_01::visible(&bytes))
}

/// `line` with each byte list in it (an assertion's message that printed
/// a request with `{:?}`) written as text, CR and LF visible, on one line.
fn byte_lists_as_text(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']').map(|c| open + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        match bytes_as_text(&rest[open..=close]) {
            Some(text) => out.push_str(&format!("\"{}\"", text.replace('\n', ""))),
            None => out.push_str(&rest[open..=close]),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The `left:` and `right:` values of a failed `assert_eq!`, in that order.
pub fn assertion_pair(text: &str) -> Option<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    lines.windows(2).find_map(|pair| {
        Some((
            pair[0].trim().strip_prefix("left: ")?.to_string(),
            pair[1].trim().strip_prefix("right: ")?.to_string(),
        ))
    })
}

/// One failed test as the learner reads it: its message, where it failed
/// (with the source there), and for an `assert_eq!` which side is which,
/// byte lists shown as text, and the first byte that differs.
pub fn render_failed_test(root: &Path, test: &FailedTest) -> String {
    let mut out = format!("---- {} ----\n", test.name);
    let pair = assertion_pair(&test.text);
    // An assert_eq! of byte lists is unreadable as numbers: the pair is
    // shown below as text, so its raw left/right lines are left out here.
    let as_text = pair
        .as_ref()
        .and_then(|(left, right)| Some((bytes_as_text(left)?, bytes_as_text(right)?)));
    for line in test.text.lines() {
        let side = line.trim_start();
        if as_text.is_some() && (side.starts_with("left: ") || side.starts_with("right: ")) {
            continue;
        }
        out.push_str(&byte_lists_as_text(line));
        out.push('\n');
    }
    if let Some(location) = test.location() {
        if let Some(source) = source_at(root, &location) {
            out.push_str(&format!(
                "\nwhere it failed, {}:{}:\n{source}",
                location.file, location.line
            ));
        }
    }
    if let Some((actual, expected)) = as_text.or(pair) {
        out.push_str(&format!(
            "\nexpected (the assertion's right side) against actual (its left side), \
             as Rust escapes them (\\r is CR, \\n is LF):\n{}",
            byte_diff(&expected, &actual)
        ));
    }
    out
}

/// The compile errors in cargo's output, each once: cargo builds the
/// library and its tests separately and reports the same error for both.
/// Warnings are left out (starters leave code unused on purpose).
pub fn compile_errors(output: &str) -> String {
    let mut blocks: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in output.lines() {
        let starts_block = line.starts_with("error") || line.starts_with("warning");
        if starts_block {
            if let Some(block) = current.take() {
                blocks.push(block);
            }
            // Only errors are kept; a warning's lines are skipped.
            current = line.starts_with("error").then(String::new);
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    blocks.extend(current);
    let mut unique: Vec<String> = Vec::new();
    for block in blocks {
        let block = block.trim_end().to_string();
        // cargo's closing "could not compile" lines name the target; they
        // add nothing to the errors above them.
        if block.starts_with("error: could not compile") || unique.contains(&block) {
            continue;
        }
        unique.push(block);
    }
    unique.join("\n\n")
}

/// `n test` or `n tests`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "---- chunked::tests::sizes stdout ----\n\n\
thread '<unnamed>' (12) panicked at chapters/05-keep-alive/src/persist.rs:17:5:\n\
not yet implemented\n\
thread 'chunked::tests::sizes' (11) panicked at chapters/05-keep-alive/src/chunked.rs:3:9:\n\
assertion `left == right` failed\n  left: [53, 13, 10]\n right: [53, 10]\n\n";

    #[test]
    fn finds_each_panic_location_once() {
        let twice = format!("{OUTPUT}{OUTPUT}");
        let found = panic_locations(&twice);
        assert_eq!(
            found,
            [
                Location {
                    file: "chapters/05-keep-alive/src/persist.rs".into(),
                    line: 17
                },
                Location {
                    file: "chapters/05-keep-alive/src/chunked.rs".into(),
                    line: 3
                }
            ]
        );
    }

    #[test]
    fn the_location_is_the_tests_own_not_a_server_threads() {
        let tests = failed_tests(OUTPUT);
        assert_eq!(tests.len(), 1);
        assert_eq!(tests[0].name, "chunked::tests::sizes");
        assert_eq!(tests[0].location().map(|l| l.line), Some(3));
    }

    #[test]
    fn a_failure_shows_expected_actual_visible_bytes_and_the_source_line() {
        let root = std::env::temp_dir().join(format!("workshop-feedback-{}", std::process::id()));
        let file = root.join("chapters/05-keep-alive/src/chunked.rs");
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(
            &file,
            "fn f() {\n    let x = 1;\n    assert_eq!(\n        encode(b\"5\"),\n        b\"5\\n\"\n    );\n}\n",
        )
        .unwrap();
        let shown = render_failed_test(&root, &failed_tests(OUTPUT)[0]);
        fs::remove_dir_all(&root).unwrap();
        // The source of the failing assertion, the whole statement.
        assert!(
            shown.contains("chunked.rs:3:\n    3 |     assert_eq!(\n")
                && shown.contains("    6 |     );\n"),
            "{shown}"
        );
        assert!(!shown.contains("    7 |"), "{shown}");
        // Expected and actual, as text with CR and LF visible, not numbers.
        assert!(
            shown.contains("  expected: 5\\n\n  actual:   5\\r\\n\n"),
            "{shown}"
        );
        assert!(!shown.contains("left: [53"), "{shown}");
    }

    #[test]
    fn a_message_that_printed_bytes_reads_as_text() {
        assert_eq!(
            byte_lists_as_text("failed: [71, 10, 13, 10] and [x]"),
            "failed: \"G\\n\\r\\n\" and [x]"
        );
    }

    #[test]
    fn byte_lists_read_as_text_and_other_lists_do_not() {
        assert_eq!(
            bytes_as_text("[71, 69, 84, 13, 10]").as_deref(),
            Some("GET\\r\\n\n")
        );
        assert_eq!(bytes_as_text("[1000, 2]"), None);
        assert_eq!(bytes_as_text("[\"a\", \"b\"]"), None);
        assert_eq!(bytes_as_text("Some(1)"), None);
    }

    #[test]
    fn a_compile_error_reported_for_the_library_and_its_tests_is_shown_once() {
        let error = "error[E0308]: mismatched types\n --> src/lib.rs:3:5\n  |\n3 |     1\n  |     ^ expected `bool`\n";
        let output = format!(
            "warning: unused variable: `x`\n --> src/a.rs:1:1\n\n{error}\n\
             error: could not compile `ch01` (lib) due to 1 previous error\n{error}\n\
             error: could not compile `ch01` (lib test) due to 1 previous error\n"
        );
        let shown = compile_errors(&output);
        assert_eq!(shown, error.trim_end());
    }

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(count(1, "test"), "1 test");
        assert_eq!(count(0, "test"), "0 tests");
        assert_eq!(count(2, "test"), "2 tests");
    }
}
