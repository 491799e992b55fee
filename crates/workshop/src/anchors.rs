//! The anchors of the stage sources, and the check that they make sense.
//!
//! Anchors are mdBook's: a line `// ANCHOR: name` opens a region and a line
//! `// ANCHOR_END: name` closes it. The book includes regions by name and
//! the workshop carves its exercises out of the `ex-ID` ones. mdBook itself
//! forgives a lot: a second `ANCHOR_END` is ignored, a missing one takes the
//! region to the end of the file, and an `ANCHOR` opened twice includes the
//! first. The workshop's own region finder forgives the same way. Both
//! would then quietly show or carve the wrong lines, so [`check`] refuses:
//!
//! - an `ANCHOR_END` with no `ANCHOR` of the same name before it, or a
//!   second one;
//! - an `ANCHOR` never closed, or opened twice in one file;
//! - a marker that shares its line with code (a region is whole lines);
//! - in Rust files, a region whose brackets do not balance;
//! - an `ex-ID` region without its exercise file, or an exercise file
//!   without its region.
//!
//! The bracket rule is a cheap stand-in for "a region encloses whole
//! items": the region's `()`, `[]` and `{}` must pair up, ignoring those in
//! comments, strings and character literals. It does not parse Rust (a
//! region could hold half of one statement and half of the next and still
//! balance), but it catches the usual slip, a marker one line off that cuts
//! a block or a call in two, and that is good enough here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::ops::Range;
use std::path::Path;

use crate::exercise::{EXERCISES_DIR, exercise_files};

/// One region, as its markers fence it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The file, relative to the repository root.
    pub file: String,
    /// The anchor's name, such as `ex-01.2-request-bytes` or `parse`.
    pub name: String,
    /// The lines strictly between the two markers, counted from 0.
    pub lines: Range<usize>,
}

/// Every region of `text`, the contents of `file`, and what is wrong with
/// its markers (each problem names the file and line).
pub fn scan(file: &str, text: &str) -> (Vec<Anchor>, Vec<String>) {
    let mut problems = Vec::new();
    // Name to the line of its ANCHOR, and of its ANCHOR_END once seen.
    let mut opened: BTreeMap<String, (usize, Option<usize>)> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let Some((kind, name)) = marker(line) else {
            continue;
        };
        let at = format!("{file}:{}", index + 1);
        if !stands_alone(line, kind, &name) {
            problems.push(format!(
                "{at}: `{kind} {name}` shares its line with code; a marker stands on a line of its own"
            ));
        }
        match (kind, opened.get_mut(&name)) {
            ("ANCHOR:", None) => drop(opened.insert(name, (index, None))),
            ("ANCHOR:", Some((start, _))) => problems.push(format!(
                "{at}: `ANCHOR: {name}` is opened a second time (first at line {})",
                *start + 1
            )),
            (_, None) => problems.push(format!(
                "{at}: `ANCHOR_END: {name}` has no `ANCHOR: {name}` before it"
            )),
            (_, Some((_, Some(end)))) => problems.push(format!(
                "{at}: `ANCHOR_END: {name}` closes `{name}` a second time (first at line {})",
                *end + 1
            )),
            (_, Some((_, end @ None))) => *end = Some(index),
        }
    }
    let mut anchors = Vec::new();
    for (name, (start, end)) in opened {
        let Some(end) = end else {
            problems.push(format!(
                "{file}:{}: `ANCHOR: {name}` is never closed",
                start + 1
            ));
            continue;
        };
        let anchor = Anchor {
            file: file.to_string(),
            name,
            lines: start + 1..end,
        };
        if file.ends_with(".rs") {
            let region: String = text
                .lines()
                .skip(anchor.lines.start)
                .take(anchor.lines.len())
                .map(|l| format!("{l}\n"))
                .collect();
            if let Err(problem) = balanced(&region) {
                problems.push(format!(
                    "{file}:{}: the region `{}` does not enclose whole items: {problem}",
                    start + 1,
                    anchor.name
                ));
            }
        }
        anchors.push(anchor);
    }
    anchors.sort_by_key(|a| a.lines.start);
    (anchors, problems)
}

/// The marker on `line`, if any, read as mdBook reads it: `ANCHOR:` or
/// `ANCHOR_END:` anywhere in the line, then the name.
fn marker(line: &str) -> Option<(&'static str, String)> {
    ["ANCHOR_END:", "ANCHOR:"].into_iter().find_map(|kind| {
        let (_, rest) = line.split_once(kind)?;
        let name = rest.split_whitespace().next().unwrap_or_default();
        Some((kind, name.to_string()))
    })
}

/// Whether the marker is all its line holds, behind a comment leader.
fn stands_alone(line: &str, kind: &str, name: &str) -> bool {
    let line = line.trim();
    let rest = line
        .strip_prefix("//")
        .or_else(|| line.strip_prefix('#'))
        .unwrap_or(line);
    rest.trim() == format!("{kind} {name}")
}

/// Whether the brackets of Rust source `text` pair up, outside comments,
/// strings and character literals; the error says where they do not.
///
/// Good enough for code as rustfmt writes it, not a lexer: it knows line
/// and (nested) block comments, strings with escapes, raw strings
/// (`r#"..."#`, `br"..."`), and tells a character literal (`'{'`,
/// `'\''`) from a lifetime (`'a`) by the quote two characters on.
pub fn balanced(text: &str) -> Result<(), String> {
    let chars: Vec<char> = text.chars().collect();
    let line_of = |at: usize| chars[..at].iter().filter(|&&c| c == '\n').count() + 1;
    let is_ident = |at: Option<usize>| {
        at.and_then(|i| chars.get(i))
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
    };
    let mut open: Vec<(char, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let next = chars.get(i + 1).copied();
        match chars[i] {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let start = i;
                let mut depth = 0;
                loop {
                    match (chars.get(i), chars.get(i + 1)) {
                        (Some('/'), Some('*')) => (depth, i) = (depth + 1, i + 2),
                        (Some('*'), Some('/')) => (depth, i) = (depth - 1, i + 2),
                        (Some(_), _) => i += 1,
                        (None, _) => {
                            return Err(format!(
                                "the comment on line {} is not closed",
                                line_of(start)
                            ));
                        }
                    }
                    if depth == 0 {
                        break;
                    }
                }
                continue;
            }
            '"' => {
                i = string_end(&chars, i + 1, false, 0)
                    .ok_or_else(|| format!("the string on line {} is not closed", line_of(i)))?
            }
            'r' if !is_ident(i.checked_sub(1))
                || (i >= 1 && chars[i - 1] == 'b' && !is_ident(i.checked_sub(2))) =>
            {
                let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
                if chars.get(i + 1 + hashes) == Some(&'"') {
                    let start = i;
                    i = string_end(&chars, i + 2 + hashes, true, hashes).ok_or_else(|| {
                        format!("the raw string on line {} is not closed", line_of(start))
                    })?;
                }
            }
            '\'' if next == Some('\\') => {
                // An escape: '\n', '\'', '\u{7f}'; the quote that ends it
                // comes after the escaped character.
                let start = i;
                i += 3;
                while chars.get(i).is_some_and(|&c| c != '\'') {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(format!(
                        "the character literal on line {} is not closed",
                        line_of(start)
                    ));
                }
            }
            '\'' if chars.get(i + 2) == Some(&'\'') => i += 2,
            c @ ('(' | '[' | '{') => open.push((c, i)),
            c @ (')' | ']' | '}') => {
                let wanted = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                match open.pop() {
                    Some((o, _)) if o == wanted => {}
                    Some((o, at)) => {
                        return Err(format!(
                            "`{c}` on line {} closes the `{o}` of line {}",
                            line_of(i),
                            line_of(at)
                        ));
                    }
                    None => {
                        return Err(format!(
                            "`{c}` on line {} closes nothing the region opened",
                            line_of(i)
                        ));
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    match open.last() {
        Some((o, at)) => Err(format!(
            "`{o}` on line {} is not closed in the region",
            line_of(*at)
        )),
        None => Ok(()),
    }
}

/// The index of the last character of a string whose text starts at
/// `from`: its closing quote, then the `hashes` of a raw string. Only a
/// plain string has escapes.
fn string_end(chars: &[char], from: usize, raw: bool, hashes: usize) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '\\' if !raw => i += 2,
            '"' if chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes =>
            {
                return Some(i + hashes);
            }
            _ => i += 1,
        }
    }
    None
}

/// Every source file exercises may be carved from, relative to the root,
/// with its text: the stages' `crates/stage-*/src`, and the Python of
/// `framework/` (the middleware chapter's).
pub fn stage_sources(root: &Path) -> Result<Vec<(String, String)>, String> {
    let mut files = Vec::new();
    let framework = root.join("framework");
    if framework.is_dir() {
        let mut python = Vec::new();
        walk(root, &framework, &mut python)?;
        files.extend(
            python
                .into_iter()
                .filter(|(f, _)| f.ends_with(".py") && !f.contains("__pycache__")),
        );
    }
    let crates = root.join("crates");
    let entries = fs::read_dir(&crates).map_err(|e| format!("{}: {e}", crates.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let is_stage = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("stage-"));
        if is_stage {
            walk(root, &path.join("src"), &mut files)?;
        }
    }
    files.sort();
    Ok(files)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            walk(root, &path, out)?;
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        // Only text can hold anchors.
        if let Ok(text) = fs::read_to_string(&path) {
            out.push((relative, text));
        }
    }
    Ok(())
}

/// Every anchor of the stage sources, and every problem with them,
/// including an `ex-ID` region without an exercise file under
/// [`EXERCISES_DIR`] and an exercise file without its region.
pub fn check(root: &Path) -> Result<(Vec<Anchor>, Vec<String>), String> {
    let mut anchors = Vec::new();
    let mut problems = Vec::new();
    for (file, text) in stage_sources(root)? {
        let (found, wrong) = scan(&file, &text);
        anchors.extend(found);
        problems.extend(wrong);
    }
    let ids: BTreeSet<String> = exercise_files(root)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut regions: BTreeMap<&str, &Anchor> = BTreeMap::new();
    for anchor in &anchors {
        let Some(id) = anchor.name.strip_prefix("ex-") else {
            continue;
        };
        if let Some(first) = regions.insert(id, anchor) {
            problems.push(format!(
                "{}:{}: the exercise region `{}` is also in {}",
                anchor.file, anchor.lines.start, anchor.name, first.file
            ));
        }
        if !ids.contains(id) {
            problems.push(format!(
                "{}:{}: the exercise region `{}` has no {EXERCISES_DIR}/{id}.md",
                anchor.file, anchor.lines.start, anchor.name
            ));
        }
    }
    for id in ids.iter().filter(|id| !regions.contains_key(id.as_str())) {
        problems.push(format!(
            "{EXERCISES_DIR}/{id}.md: no stage source has the region `// ANCHOR: ex-{id}`"
        ));
    }
    Ok((anchors, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        scan("f.rs", text).1
    }

    #[test]
    fn finds_regions_nested_or_not() {
        let text = "// ANCHOR: outer\nfn f() {\n    // ANCHOR: inner\n    g();\n    // ANCHOR_END: inner\n}\n// ANCHOR_END: outer\n";
        let (anchors, problems) = scan("f.rs", text);
        assert_eq!(problems, Vec::<String>::new());
        let found: Vec<(&str, Range<usize>)> = anchors
            .iter()
            .map(|a| (a.name.as_str(), a.lines.clone()))
            .collect();
        assert_eq!(found, [("outer", 1..6), ("inner", 3..4)]);
    }

    #[test]
    fn refuses_unpaired_and_repeated_markers() {
        let stray_end = "// ANCHOR: a\nx();\n// ANCHOR_END: a\ny();\n// ANCHOR_END: a\n";
        assert_eq!(
            problems(stray_end),
            ["f.rs:5: `ANCHOR_END: a` closes `a` a second time (first at line 3)"]
        );
        assert_eq!(
            problems("// ANCHOR_END: a\n"),
            ["f.rs:1: `ANCHOR_END: a` has no `ANCHOR: a` before it"]
        );
        assert_eq!(
            problems("// ANCHOR: a\n"),
            ["f.rs:1: `ANCHOR: a` is never closed"]
        );
        let twice = "// ANCHOR: a\n// ANCHOR: a\n// ANCHOR_END: a\n";
        assert_eq!(
            problems(twice),
            ["f.rs:2: `ANCHOR: a` is opened a second time (first at line 1)"]
        );
        let on_code = "x(); // ANCHOR: a\n// ANCHOR_END: a\n";
        assert_eq!(problems(on_code).len(), 1, "{:?}", problems(on_code));
    }

    #[test]
    fn refuses_a_region_that_cuts_a_block() {
        let cut = "fn f() {\n    // ANCHOR: a\n    if x {\n        y();\n    // ANCHOR_END: a\n    }\n}\n";
        assert_eq!(
            problems(cut),
            [
                "f.rs:2: the region `a` does not enclose whole items: `{` on line 1 is not closed in the region"
            ]
        );
        // The same markers in a Python file: no bracket check.
        assert!(scan("f.py", &cut.replace("//", "#")).1.is_empty());
    }

    #[test]
    fn brackets_in_strings_comments_and_literals_do_not_count() {
        let fine = [
            "let s = \"(\"; // )\n",
            "let s = \"\\\"(\";\n",
            "let s = r#\"\"(\"#;\n",
            "let s = br\"\\\";\n",
            "let c = '{'; let d = b'['; let e = '\\'';\n",
            "fn f<'a>(x: &'a str) -> &'a str { x }\n",
            "/* ( /* nested ] */ { */ let u = '\\u{7f}';\n",
            "let r#type = (1);\n",
        ];
        for text in fine {
            assert_eq!(balanced(text), Ok(()), "{text}");
        }
        assert!(balanced("f(x]\n").is_err());
        assert!(balanced(")\n").is_err());
        assert!(balanced("let s = \"(;\n").is_err());
    }
}
