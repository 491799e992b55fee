//! The book's code listings, and the exercises folded out of them.
//!
//! A chapter shows its stage's code with a line of its own,
//!
//! ```text
//! {{#listing ../../crates/stage-04-wsgi-server/src/app.rs:load_app}}
//! ```
//!
//! which the book's preprocessor (`src/bin/book-listings.rs`, run by
//! `mdbook build`) turns into a numbered listing: a caption with the file it
//! comes from ("Listing 4-2 · crates/stage-04-wsgi-server/src/app.rs"), then
//! the anchor's lines. Three rules keep the listings readable:
//!
//! - **The answer is one click away, never in view.** An exercise region
//!   (an `ex-ID` anchor) inside a listing is replaced by a placeholder that
//!   names the exercise, and its reference code follows the listing in a
//!   folded `<details>` block. A learner sent to the section by the
//!   workshop sees the shape of the code around the gap, not the answer.
//! - **A listing a reader can hold**: at most [`MAX_LINES`] lines; a longer
//!   region is split into several anchors with prose between them.
//! - **A chapter shows its own stage.** Chapter N lists only files of
//!   `crates/stage-0N-*` (and anything outside the stages, such as the
//!   Python apps); an earlier stage's code is pointed to, not shown again.
//!
//! An anchor's nested marker lines are dropped, as mdBook's own include
//! drops them, and the lines are dedented, so a method reads like a
//! top-level function.

use std::fs;
use std::path::Path;

use crate::anchors;
use crate::exercise::Exercise;

/// The most lines a listing may have.
pub const MAX_LINES: usize = 40;

/// The directive, as it starts a line of Markdown.
const DIRECTIVE: &str = "{{#listing ";

/// A page of the book, as mdBook knows it.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// Its path relative to the book's `src`; a `chNN-...` page is stage
    /// NN's chapter, and its listings' paths are relative to it.
    pub path: &'a str,
    /// Its number in the book's table of contents, which its listings'
    /// numbers start with ("Listing 7-2"); without one, the chapter of a
    /// `chNN` name, or else the name's first letter.
    pub number: Option<u32>,
}

/// Rewrites every `{{#listing PATH:ANCHOR}}` line of a page.
///
/// `root` is the repository root, and `book_src` the book's `src` folder.
/// Listings are numbered in page order. An error names the page, the line
/// and what is wrong.
pub fn render_page(
    root: &Path,
    book_src: &Path,
    page: Page<'_>,
    content: &str,
    exercises: &[Exercise],
) -> Result<String, String> {
    let prefix = page
        .number
        .map_or_else(|| listing_prefix(page.path), |n| n.to_string());
    let page = page.path;
    // Every listing's label first, so that a listing can point at a later
    // one that shows what it skips.
    let labels: Vec<(String, String)> = content
        .lines()
        .filter_map(Directive::parse)
        .enumerate()
        .map(|(i, d)| (d.anchor.to_string(), format!("{prefix}-{}", i + 1)))
        .collect();
    let mut out = String::with_capacity(content.len());
    let mut number = 0;
    for (index, line) in content.split_inclusive('\n').enumerate() {
        let Some(directive) = Directive::parse(line) else {
            out.push_str(line);
            continue;
        };
        number += 1;
        let listing = Listing::read(root, book_src, &directive, exercises, &labels)
            .and_then(|listing| listing.check_stage(page).map(|()| listing))
            .map_err(|e| format!("{page}:{}: {e}", index + 1))?;
        out.push_str(&listing.render(&format!("{prefix}-{number}")));
        out.push('\n');
    }
    Ok(out)
}

/// `{{#listing PATH:ANCHOR}}`, or `{{#listing PATH:ANCHOR skip=A,B}}` to
/// show the region with the nested regions `A` and `B` left out (a
/// one-line `// ...` stands in their place): a long function is shown in
/// two listings, its outline, then the part skipped.
#[derive(Debug)]
struct Directive<'a> {
    path: &'a str,
    anchor: &'a str,
    skip: Vec<&'a str>,
}

impl<'a> Directive<'a> {
    fn parse(line: &'a str) -> Option<Directive<'a>> {
        let inside = line.trim().strip_prefix(DIRECTIVE)?.strip_suffix("}}")?;
        let mut words = inside.split_whitespace();
        let (path, anchor) = words.next()?.rsplit_once(':')?;
        let skip = words
            .filter_map(|w| w.strip_prefix("skip="))
            .flat_map(|names| names.split(','))
            .collect();
        Some(Directive { path, anchor, skip })
    }
}

/// "4" for `ch04-wsgi-server.md`; another page takes its name's first
/// letter, so `performance.md` numbers "Listing P-1".
fn listing_prefix(page: &str) -> String {
    let stem = Path::new(page)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match chapter_of(&stem) {
        Some(n) => n.to_string(),
        None => stem.chars().next().unwrap_or('X').to_uppercase().collect(),
    }
}

/// The chapter number of a page named `chNN-...`.
fn chapter_of(stem: &str) -> Option<u8> {
    stem.strip_prefix("ch")?.get(..2)?.parse().ok()
}

/// One listing: where it comes from, and its lines.
#[derive(Debug)]
struct Listing {
    /// The file, relative to the repository root.
    file: String,
    /// The region's lines without marker lines, exercise regions replaced
    /// by a placeholder, dedented.
    shown: Vec<String>,
    /// The exercise regions folded out, by anchor name, with their lines.
    folded: Vec<(String, Vec<String>)>,
}

impl Listing {
    /// Reads a directive's region (its path is relative to `book_src`).
    fn read(
        root: &Path,
        book_src: &Path,
        directive: &Directive<'_>,
        exercises: &[Exercise],
        labels: &[(String, String)],
    ) -> Result<Listing, String> {
        let Directive { path, anchor, .. } = directive;
        let full = book_src.join(path);
        let text = fs::read_to_string(&full).map_err(|e| format!("{path}: {e}"))?;
        let file = relative_to(root, &full);
        let (regions, problems) = anchors::scan(&file, &text);
        if let Some(problem) = problems.first() {
            return Err(problem.clone());
        }
        let find = |name: &str| {
            regions
                .iter()
                .find(|r| r.name == name)
                .ok_or_else(|| format!("{file} has no anchor `{name}`"))
        };
        let region = find(anchor)?;
        for name in &directive.skip {
            find(name)?;
        }
        let lines: Vec<&str> = text.lines().collect();
        // What a line the listing puts in place of a region starts with.
        let comment = if file.ends_with(".py") { "#" } else { "//" };
        let mut shown = Vec::new();
        let mut folded = Vec::new();
        let mut at = region.lines.start;
        while at < region.lines.end {
            // A nested region starts on the line after its marker.
            let nested = regions
                .iter()
                .find(|r| r.lines.start == at + 1 && r.lines.end < region.lines.end);
            let indent = indentation(lines[at]);
            match nested {
                Some(skipped) if directive.skip.contains(&skipped.name.as_str()) => {
                    let shown_in = labels
                        .iter()
                        .find(|(a, _)| *a == skipped.name)
                        .map_or(String::new(), |(_, label)| format!(": Listing {label}"));
                    shown.push(format!(
                        "{indent}{comment} ... ({}{shown_in})",
                        skipped.name
                    ));
                    at = skipped.lines.end;
                }
                Some(exercise) if exercise.name.starts_with("ex-") => {
                    let id = exercise.name.trim_start_matches("ex-");
                    for line in placeholder(id, exercises) {
                        shown.push(format!("{indent}{comment} {line}"));
                    }
                    let body = lines[exercise.lines.clone()]
                        .iter()
                        .filter(|l| !is_marker(l))
                        .map(|l| l.to_string())
                        .collect();
                    folded.push((exercise.name.clone(), dedent(body)));
                    at = exercise.lines.end;
                }
                _ if is_marker(lines[at]) => {}
                _ => shown.push(lines[at].to_string()),
            }
            at += 1;
        }
        if shown.iter().all(|l| l.trim().is_empty()) {
            return Err(format!("{file}:{anchor} shows nothing"));
        }
        if shown.len() > MAX_LINES {
            return Err(format!(
                "{file}:{anchor} is {} lines; a listing has at most {MAX_LINES} \
                 (split it into smaller anchors, with prose between)",
                shown.len()
            ));
        }
        Ok(Listing {
            file,
            shown: dedent(shown),
            folded,
        })
    }

    /// Chapter N shows only stage N's crate.
    fn check_stage(&self, page: &str) -> Result<(), String> {
        let stem = Path::new(page).file_stem().unwrap_or_default();
        let Some(chapter) = chapter_of(&stem.to_string_lossy()) else {
            return Ok(());
        };
        let own = format!("crates/stage-{chapter:02}-");
        if self.file.starts_with("crates/stage-") && !self.file.starts_with(&own) {
            return Err(format!(
                "chapter {chapter} lists {}, another stage's code; point to that \
                 stage's chapter instead",
                self.file
            ));
        }
        Ok(())
    }

    /// The caption, the code, then each folded answer.
    fn render(&self, label: &str) -> String {
        let language = match Path::new(&self.file).extension().and_then(|e| e.to_str()) {
            Some("rs") => "rust,ignore",
            Some("py") => "python",
            _ => "text",
        };
        let code = self.shown.join("\n");
        let mut out = format!(
            "<p class=\"listing-caption\" id=\"listing-{label}\">\
             <strong>Listing {label}</strong> · <code>{}</code></p>\n\n\
             ```{language}\n{code}\n```\n",
            self.file
        );
        for (anchor, body) in &self.folded {
            let short = short_id(anchor.trim_start_matches("ex-"));
            out.push_str(&format!(
                "\n<details class=\"exercise-answer\">\n\
                 <summary>The answer to exercise {short} (the reference code)</summary>\n\n\
                 ```{language}\n{}\n```\n\n</details>\n",
                body.join("\n")
            ));
        }
        out
    }
}

/// The lines that take an exercise region's place in a listing, each
/// to follow the language's comment marker.
fn placeholder(id: &str, exercises: &[Exercise]) -> [String; 2] {
    let what = match exercises.iter().find(|e| e.id == id) {
        Some(e) => format!(" ({}): {}", e.kind, e.title.trim_end_matches('.')),
        None => String::new(),
    };
    [
        format!("✎ Exercise {}{what}.", short_id(id)),
        "(The answer is folded below this listing.)".to_string(),
    ]
}

/// `03.2` for `03.2-header-injection`.
fn short_id(id: &str) -> &str {
    id.split_once('-').map_or(id, |(short, _)| short)
}

fn is_marker(line: &str) -> bool {
    let line = line.trim_start();
    ["// ANCHOR", "# ANCHOR"]
        .iter()
        .any(|start| line.starts_with(start))
}

fn indentation(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// Removes the indentation all non-blank lines share.
fn dedent(lines: Vec<String>) -> Vec<String> {
    let common = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indentation(l).len())
        .min()
        .unwrap_or(0);
    lines
        .into_iter()
        .map(|l| l.get(common..).unwrap_or("").to_string())
        .collect()
}

fn relative_to(root: &Path, path: &Path) -> String {
    let path = path.canonicalize().unwrap_or(path.to_path_buf());
    let root = root.canonicalize().unwrap_or(root.to_path_buf());
    path.strip_prefix(&root)
        .unwrap_or(&path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// The lines of an exercise's reference code that would give it away if
/// a reader saw them: long enough to mean something, not in the starter
/// (which the learner sees anyway), and found nowhere in the stage
/// sources but in the region (a line that is elsewhere too is shown there
/// and gives nothing away; so does a line that is part of another). `sources` are the stage sources' texts.
pub fn distinctive_lines(reference: &str, starter: &str, sources: &[&str]) -> Vec<String> {
    let trimmed =
        |text: &str| -> Vec<String> { text.lines().map(|l| l.trim().to_string()).collect() };
    let starter = trimmed(starter);
    let everywhere: Vec<String> = sources.iter().flat_map(|s| trimmed(s)).collect();
    trimmed(reference)
        .into_iter()
        .filter(|line| line.len() >= 14 && !is_marker(line))
        .filter(|line| !starter.contains(line))
        .filter(|line| {
            everywhere
                .iter()
                .filter(|l| l.contains(line.as_str()))
                .count()
                == 1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch repository: `crates/stage-03-x/src/a.rs` holding `source`,
    /// and a book `src` folder beside it.
    fn scratch(name: &str, source: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let root = std::env::temp_dir().join(format!("listings-{name}-{}", std::process::id()));
        let src = root.join("crates/stage-03-x/src");
        fs::create_dir_all(&src).unwrap();
        fs::create_dir_all(root.join("book/src")).unwrap();
        fs::write(src.join("a.rs"), source).unwrap();
        (root.clone(), root.join("book/src"))
    }

    const SOURCE: &str = "\
// ANCHOR: check
fn check(value: &str) -> bool {
    // ANCHOR: ex-03.9-demo
    value.contains('\\r')
    // ANCHOR_END: ex-03.9-demo
}
// ANCHOR_END: check

// ANCHOR: outline
fn outline() {
    first();
    // ANCHOR: middle
    second();
    // ANCHOR_END: middle
    third();
}
// ANCHOR_END: outline
";

    fn render(name: &str, page: &str, markdown: &str) -> Result<String, String> {
        let (root, book_src) = scratch(name, SOURCE);
        let result = render_page(
            &root,
            &book_src,
            Page {
                path: page,
                number: None,
            },
            markdown,
            &[],
        );
        let _ = fs::remove_dir_all(root);
        result
    }

    #[test]
    fn an_exercise_region_is_folded_below_a_numbered_captioned_listing() {
        let out = render(
            "fold",
            "ch03-x.md",
            "Text.\n\n{{#listing ../../crates/stage-03-x/src/a.rs:check}}\n",
        )
        .unwrap();
        let (shown, folded) = out.split_once("<details").unwrap();
        assert!(shown.contains("<strong>Listing 3-1</strong>"), "{out}");
        assert!(shown.contains("crates/stage-03-x/src/a.rs"), "{out}");
        assert!(shown.contains("// ✎ Exercise 03.9"), "{out}");
        assert!(
            !shown.contains("contains('\\r')"),
            "the answer is in view:\n{out}"
        );
        assert!(!shown.contains("ANCHOR"), "{out}");
        assert!(folded.contains("value.contains('\\r')"), "{out}");
    }

    #[test]
    fn a_skipped_region_points_at_the_listing_that_shows_it() {
        let page = "{{#listing ../../crates/stage-03-x/src/a.rs:outline skip=middle}}\n\n\
                    {{#listing ../../crates/stage-03-x/src/a.rs:middle}}\n";
        let out = render("skip", "ch03-x.md", page).unwrap();
        let (first, second) = out.split_once("Listing 3-2</strong>").unwrap();
        assert!(first.contains("    // ... (middle: Listing 3-2)"), "{out}");
        assert!(!first.contains("second();"), "{out}");
        assert!(second.contains("\nsecond();\n"), "dedented:\n{out}");
    }

    #[test]
    fn a_python_listing_marks_what_it_leaves_out_with_a_python_comment() {
        let (root, book_src) = scratch("python", SOURCE);
        let python = "# ANCHOR: outer\ndef outer():\n    # ANCHOR: inner\n    inner()\n    # ANCHOR_END: inner\n# ANCHOR_END: outer\n";
        fs::write(root.join("crates/stage-03-x/src/b.py"), python).unwrap();
        let page = "{{#listing ../../crates/stage-03-x/src/b.py:outer skip=inner}}\n";
        let out = render_page(
            &root,
            &book_src,
            Page {
                path: "ch03-x.md",
                number: None,
            },
            page,
            &[],
        );
        let _ = fs::remove_dir_all(root);
        let out = out.unwrap();
        assert!(
            out.contains("```python\ndef outer():\n    # ... (inner)\n```"),
            "{out}"
        );
    }

    #[test]
    fn another_stages_code_and_a_missing_anchor_are_refused() {
        let listing = "{{#listing ../../crates/stage-03-x/src/a.rs:check}}\n";
        let error = render("stage", "ch04-y.md", listing).unwrap_err();
        assert!(error.contains("another stage's code"), "{error}");
        // An appendix may show any stage.
        assert!(
            render("appendix", "performance.md", listing)
                .unwrap()
                .contains("Listing P-1")
        );
        let missing = "{{#listing ../../crates/stage-03-x/src/a.rs:nowhere}}\n";
        let error = render("missing", "ch03-x.md", missing).unwrap_err();
        assert!(
            error.starts_with("ch03-x.md:1:") && error.contains("nowhere"),
            "{error}"
        );
    }

    #[test]
    fn a_listing_longer_than_the_limit_is_refused() {
        let body: String = (0..=MAX_LINES)
            .map(|i| format!("    call({i});\n"))
            .collect();
        let source = format!("// ANCHOR: long\nfn long() {{\n{body}}}\n// ANCHOR_END: long\n");
        let (root, book_src) = scratch("long", &source);
        let page = "{{#listing ../../crates/stage-03-x/src/a.rs:long}}\n";
        let error = render_page(
            &root,
            &book_src,
            Page {
                path: "ch03-x.md",
                number: None,
            },
            page,
            &[],
        )
        .unwrap_err();
        let _ = fs::remove_dir_all(root);
        assert!(error.contains("at most 40"), "{error}");
    }

    #[test]
    fn only_lines_found_nowhere_else_give_an_answer_away() {
        let reference =
            "    if value.chars().any(|c| c.is_control()) {\n        return Err(Bad);\n    }\n";
        let starter = "    if value.contains(\"\\r\\n\") {\n        return Err(Bad);\n    }\n";
        let sources = [reference, "fn other() { return Err(Bad); }"];
        assert_eq!(
            distinctive_lines(reference, starter, &sources),
            vec!["if value.chars().any(|c| c.is_control()) {".to_string()]
        );
    }
}
