//! The book includes its code from the crates; this test makes sure every
//! include still points at something.
//!
//! mdBook itself exits 0 when an `{{#include}}` names a missing file or
//! anchor (a missing anchor silently becomes an empty code block), so a
//! renamed function would quietly empty a chapter. This test fails instead.

use std::fs;
use std::path::{Path, PathBuf};

/// One `{{#include …}}` or `{{#rustdoc_include …}}` found in the book.
#[derive(Debug)]
struct Include {
    /// The Markdown file it is in, and the line.
    page: PathBuf,
    line: usize,
    /// What follows the directive name: `path[:anchor | :start:end]`.
    args: String,
}

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src")
}

fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(markdown_files(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Finds every include directive in a page; `\{{#include}}` is mdBook's
/// escape for a literal one and is skipped.
fn includes_in(page: &Path, text: &str) -> Vec<Include> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{#") {
            let escaped = rest[..start].ends_with('\\');
            let after = &rest[start + 3..];
            let end = after.find("}}").unwrap_or(after.len());
            let directive = after[..end].trim();
            rest = &after[end..];
            let (name, args) = directive
                .split_once(char::is_whitespace)
                .unwrap_or((directive, ""));
            if !escaped && (name == "include" || name == "rustdoc_include") {
                found.push(Include {
                    page: page.to_path_buf(),
                    line: index + 1,
                    args: args.trim().to_string(),
                });
            }
        }
    }
    found
}

/// Checks one include; the error says what is wrong, in words.
fn check(include: &Include) -> Result<(), String> {
    if include.args.is_empty() {
        return Err("an include with no path".into());
    }
    let (path, selector) = include.args.split_once(':').unwrap_or((&include.args, ""));
    let file = include.page.parent().unwrap().join(path);
    let text = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let selected: Vec<&str> = if selector.is_empty() {
        lines.clone()
    } else if selector.starts_with(|c: char| c.is_ascii_digit() || c == ':') {
        select_range(&lines, selector, path)?
    } else {
        select_anchor(&lines, selector)?
    };
    if selected
        .iter()
        .all(|l| l.trim().is_empty() || l.contains("ANCHOR"))
    {
        return Err(format!("{path}:{selector} includes nothing"));
    }
    Ok(())
}

/// `start:end`, `start:` or `:end`, 1-based and inclusive, as mdBook reads
/// them. A snapshot (`.snap`) must start right after insta's header, so
/// that the book shows the bytes and not the YAML above them.
fn select_range<'a>(lines: &[&'a str], selector: &str, path: &str) -> Result<Vec<&'a str>, String> {
    let (start, end) = selector.split_once(':').unwrap_or((selector, selector));
    let number = |s: &str, default: usize| -> Result<usize, String> {
        if s.is_empty() {
            Ok(default)
        } else {
            s.parse().map_err(|_| format!("bad line number {s:?}"))
        }
    };
    let start = number(start, 1)?;
    let end = number(end, lines.len())?;
    if start == 0 || start > end || end > lines.len() {
        return Err(format!(
            "{path}: lines {start} to {end} are not in a file of {} lines",
            lines.len()
        ));
    }
    if path.ends_with(".snap") {
        let header_end = lines
            .iter()
            .skip(1)
            .position(|l| *l == "---")
            .map(|i| i + 2);
        if header_end.map(|h| h + 1) != Some(start) {
            return Err(format!(
                "{path}: a snapshot include must start at line {:?}, after the header",
                header_end.map(|h| h + 1)
            ));
        }
    }
    Ok(lines[start - 1..end].to_vec())
}

/// The lines between `ANCHOR: name` and `ANCHOR_END: name`.
fn select_anchor<'a>(lines: &[&'a str], anchor: &str) -> Result<Vec<&'a str>, String> {
    let is_marker = |line: &str, kind: &str| {
        line.split_once(kind)
            .is_some_and(|(_, name)| name.trim() == anchor)
    };
    let start = lines
        .iter()
        .position(|l| is_marker(l, "ANCHOR:"))
        .ok_or(format!("no `ANCHOR: {anchor}`"))?;
    let end = lines[start..]
        .iter()
        .position(|l| is_marker(l, "ANCHOR_END:"))
        .ok_or(format!("no `ANCHOR_END: {anchor}` after its ANCHOR"))?;
    Ok(lines[start + 1..start + end].to_vec())
}

#[test]
fn every_include_in_the_book_resolves_to_content() {
    let pages = markdown_files(&book_src());
    assert!(pages.len() > 3, "the book has only {} pages", pages.len());
    let includes: Vec<Include> = pages
        .iter()
        .flat_map(|page| includes_in(page, &fs::read_to_string(page).unwrap()))
        .collect();
    assert!(
        includes.len() > 10,
        "the book includes only {} pieces of code",
        includes.len()
    );
    let broken: Vec<String> = includes
        .iter()
        .filter_map(|inc| {
            check(inc)
                .err()
                .map(|e| format!("{}:{}: {e}", inc.page.display(), inc.line))
        })
        .collect();
    assert!(
        broken.is_empty(),
        "broken includes in the book:\n{}",
        broken.join("\n")
    );
}

#[test]
fn every_chapter_in_the_summary_exists() {
    let src = book_src();
    let summary = fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let missing: Vec<&str> = summary
        .lines()
        .filter_map(|line| {
            line.split_once("](")
                .map(|(_, rest)| rest.trim_end_matches(')'))
        })
        .filter(|target| !target.is_empty() && !src.join(target).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "SUMMARY.md links to missing pages: {missing:?}"
    );
}

/// The checker must itself catch what it is for.
#[test]
fn the_checker_catches_each_kind_of_breakage() {
    let dir = std::env::temp_dir().join(format!("book-include-check-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("code.rs"), "// ANCHOR: good\nfn f() {}\n// ANCHOR_END: good\n// ANCHOR: empty\n// ANCHOR_END: empty\n// ANCHOR: open\n").unwrap();
    fs::write(
        dir.join("a.snap"),
        "---\nsource: x\nexpression: y\n---\nHTTP/1.1 200 OK\\r\\n\n",
    )
    .unwrap();
    let page = dir.join("page.md");
    let verdict = |args: &str| {
        check(&Include {
            page: page.clone(),
            line: 1,
            args: args.into(),
        })
    };

    assert_eq!(verdict("code.rs:good"), Ok(()));
    assert_eq!(verdict("a.snap:5:"), Ok(()));
    assert!(verdict("").is_err(), "no path");
    assert!(verdict("missing.rs:good").is_err(), "missing file");
    assert!(verdict("code.rs:nope").is_err(), "missing anchor");
    assert!(verdict("code.rs:empty").is_err(), "empty anchor");
    assert!(verdict("code.rs:open").is_err(), "anchor never closed");
    assert!(verdict("code.rs:9:12").is_err(), "range past the end");
    assert!(verdict("a.snap:1:").is_err(), "snapshot header included");

    let found = includes_in(
        &page,
        "x {{#include code.rs:good}} \\{{#include skipped.rs}} {{#rustdoc_include b.rs}}",
    );
    assert_eq!(
        found.iter().map(|i| i.args.as_str()).collect::<Vec<_>>(),
        ["code.rs:good", "b.rs"]
    );
    fs::remove_dir_all(&dir).unwrap();
}
