//! Showing a learner how the bytes they produced differ from the expected
//! ones: both with CR and LF visible, and the first differing byte marked.

use std::fs;
use std::path::{Path, PathBuf};

// ANCHOR: byte_diff
/// Expected and actual renderings, line by line from the first line that
/// differs, with a caret under the first differing character.
pub fn byte_diff(expected: &str, actual: &str) -> String {
    let position = expected
        .chars()
        .zip(actual.chars())
        .take_while(|(e, a)| e == a)
        .count();
    if position == expected.chars().count() && position == actual.chars().count() {
        return "the two are identical\n".to_string();
    }
    // The line holding the first difference, and the column within it.
    let before: String = expected.chars().take(position).collect();
    let line_number = before.matches('\n').count();
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count();
    let line = |text: &str| {
        let line = text.lines().nth(line_number).unwrap_or("(nothing)");
        around(line, column)
    };
    let (expected_line, caret) = line(expected);
    let (actual_line, _) = line(actual);
    format!(
        "first difference at byte {position} (line {}, column {}):\n  expected: {expected_line}\n  actual:   {actual_line}\n            {}^\n",
        line_number + 1,
        column + 1,
        " ".repeat(caret)
    )
}

/// A long line cut to the part around `column`, and where `column` is in
/// the part: a caret under a 300-character line is lost off the screen.
fn around(line: &str, column: usize) -> (String, usize) {
    const BEFORE: usize = 40;
    const AFTER: usize = 60;
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= BEFORE + AFTER {
        return (line.to_string(), column);
    }
    let start = column.saturating_sub(BEFORE).min(chars.len());
    let end = (column + AFTER).clamp(start, chars.len());
    if start == 0 && end == chars.len() {
        return (line.to_string(), column);
    }
    let mut part: String = chars[start..end].iter().collect();
    let mut caret = column - start;
    if start > 0 {
        part.insert(0, '…');
        caret += 1;
    }
    if end < chars.len() {
        part.push('…');
    }
    (part, caret)
}
// ANCHOR_END: byte_diff

/// The body of a snapshot file: everything after insta's `---` header.
fn snapshot_body(text: &str) -> String {
    let mut parts = text.splitn(3, "---\n");
    let (_, _, body) = (parts.next(), parts.next(), parts.next());
    body.unwrap_or(text).to_string()
}

/// For each `.snap.new` insta wrote under `dir` (a failed wire snapshot),
/// the byte diff against its `.snap`; the `.snap.new` files are removed.
pub fn snapshot_diffs(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    collect_new_snapshots(dir, &mut found);
    found.sort();
    found
        .into_iter()
        .filter_map(|new| {
            let old = new.with_extension("");
            let actual = snapshot_body(&fs::read_to_string(&new).ok()?);
            let expected = snapshot_body(&fs::read_to_string(&old).unwrap_or_default());
            let _ = fs::remove_file(&new);
            Some((old, byte_diff(&expected, &actual)))
        })
        .collect()
}

fn collect_new_snapshots(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_new_snapshots(&path, out);
        } else if path.to_string_lossy().ends_with(".snap.new") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stage_01::visible;

    #[test]
    fn marks_the_first_differing_byte() {
        let expected = visible(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let actual = visible(b"GET / HTTP/1.1\r\nHost: x\n\r\n");
        let diff = byte_diff(&expected, &actual);
        // `Host: x\` is the same in both; then `r` against `n`.
        assert!(diff.contains("(line 2, column 9)"), "{diff}");
        assert!(
            diff.contains("  expected: Host: x\\r\\n\n  actual:   Host: x\\n\n"),
            "{diff}"
        );
        let caret_line = diff.lines().last().unwrap();
        assert_eq!(
            caret_line.find('^'),
            Some("  expected: ".len() + 8),
            "{diff}"
        );
    }

    #[test]
    fn says_when_there_is_no_difference() {
        assert_eq!(byte_diff("a\\r\\n", "a\\r\\n"), "the two are identical\n");
        assert!(byte_diff("abc", "ab").contains("column 3"));
    }

    #[test]
    fn a_long_line_is_cut_around_the_difference() {
        let expected = format!("{}X{}", "a".repeat(200), "b".repeat(100));
        let actual = format!("{}Y{}", "a".repeat(200), "b".repeat(100));
        let diff = byte_diff(&expected, &actual);
        let lines: Vec<&str> = diff.lines().collect();
        assert!(lines[1].ends_with(&format!("…{}X{}…", "a".repeat(40), "b".repeat(59))));
        let short = byte_diff(
            "Err(BadHeaderValue { name: \"X\", value: \"a\" })",
            "Ok(())",
        );
        assert!(
            short.contains("value: \"a\" })\n"),
            "a short line is whole: {short}"
        );
        let at = |line: &str, c: char| line.chars().position(|x| x == c);
        assert_eq!(at(lines[3], '^'), at(lines[1], 'X'), "{diff}");
    }

    #[test]
    fn reads_the_body_after_the_insta_header() {
        assert_eq!(
            snapshot_body("---\nsource: a\nexpression: b\n---\nHTTP/1.1\n"),
            "HTTP/1.1\n"
        );
    }
}
