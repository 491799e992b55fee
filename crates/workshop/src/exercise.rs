//! Exercises: a region of a stage source, and what the workshop says
//! about it.
//!
//! The stage source only marks the region, with two mdBook anchors (which
//! the book already hides from its includes):
//!
//! ```text
//! // ANCHOR: ex-01.2-request-bytes
//! ...reference code...
//! // ANCHOR_END: ex-01.2-request-bytes
//! ```
//!
//! Everything else is the workshop's, in `crates/workshop/exercises/ID.md`,
//! one file per exercise named by its id: a few `key: value` lines, then
//! the hints as a list and the starter as a fenced block:
//!
//! ````text
//! title: Write the bytes of a request
//! kind: implement                      (or: fix the bug)
//! book: ch01-http-is-text.html#the-smallest-complete-request
//! tests: request_bytes_are_pinned other_test_name
//! beyond: also ...                     (optional: what the reference does
//!                                       that the exercise does not ask)
//!
//! ## Hints
//!
//! - One item per hint, shown one at a time; an item may go on over
//!   indented lines.
//!
//! ## Starter
//!
//! ```rust
//!     the text that replaces the region in the learner's copy
//! ```
//! ````
//!
//! Markdown, so that a teacher edits prose as prose and the starter as
//! code; the starter is taken verbatim, indentation and all, up to the
//! first line that is exactly three backticks.

use std::fmt;
use std::fs;
use std::path::Path;

/// Where the exercise files are, relative to the repository root.
pub const EXERCISES_DIR: &str = "crates/workshop/exercises";

/// One exercise: its file under [`EXERCISES_DIR`], and where its region is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exercise {
    /// A stable id such as `01.2-request-bytes`; its first two digits are
    /// the chapter.
    pub id: String,
    /// What the learner does, in a few words.
    pub title: String,
    /// `implement` or `fix the bug`.
    pub kind: String,
    /// The book page and section, as `page.html#section`.
    pub book: String,
    /// Test-name filters that check this exercise.
    pub tests: Vec<String>,
    /// Hints, shown one at a time.
    pub hints: Vec<String>,
    /// The lines that replace the reference region in the learner's copy.
    pub starter: String,
    /// The stage source file holding the region, relative to the
    /// repository root.
    pub file: String,
    /// What the reference does beyond what the exercise asks, if anything
    /// (`solution` says it): a sentence that follows "the reference".
    pub beyond: Option<String>,
}

/// An exercise file or region that does not make sense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExerciseError(pub String);

impl fmt::Display for ExerciseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExerciseError {}

impl Exercise {
    /// The chapter number, from the id's first two digits.
    pub fn chapter(&self) -> u8 {
        self.id.get(..2).and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// The anchor name that fences the region.
    pub fn anchor(&self) -> String {
        format!("ex-{}", self.id)
    }
}

/// Every exercise file, as its id (the file name without `.md`) and its
/// text, in id order; a `README.md` there is for people, not an exercise.
pub fn exercise_files(root: &Path) -> Result<Vec<(String, String)>, ExerciseError> {
    let dir = root.join(EXERCISES_DIR);
    let error = |e: std::io::Error| ExerciseError(format!("{EXERCISES_DIR}: {e}"));
    let mut files = Vec::new();
    for entry in fs::read_dir(&dir).map_err(error)? {
        let path = entry.map_err(error)?.path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".md"))
        else {
            continue;
        };
        if id != "README" {
            files.push((id.to_string(), fs::read_to_string(&path).map_err(error)?));
        }
    }
    files.sort();
    Ok(files)
}

/// The parts of an exercise file, in the order they come.
enum Part {
    Fields,
    Hints,
    Starter { fenced: bool, closed: bool },
}

/// Reads the exercise `id` from `text`, the contents of its file; `file`
/// is the stage source that holds its region.
pub fn parse(id: &str, text: &str, file: &str) -> Result<Exercise, ExerciseError> {
    let at = |line: usize| format!("{EXERCISES_DIR}/{id}.md:{}", line + 1);
    let mut exercise = Exercise {
        id: id.to_string(),
        title: String::new(),
        kind: String::new(),
        book: String::new(),
        tests: Vec::new(),
        hints: Vec::new(),
        starter: String::new(),
        file: file.to_string(),
        beyond: None,
    };
    let mut part = Part::Fields;
    for (index, line) in text.lines().enumerate() {
        let in_fence = matches!(
            part,
            Part::Starter {
                fenced: true,
                closed: false
            }
        );
        let heading = line.strip_prefix("## ").filter(|_| !in_fence);
        match heading.map(str::trim) {
            Some("Hints") if matches!(part, Part::Fields) => part = Part::Hints,
            Some("Starter") if matches!(part, Part::Hints) => {
                part = Part::Starter {
                    fenced: false,
                    closed: false,
                };
            }
            Some(heading) => {
                return Err(ExerciseError(format!(
                    "{}: unexpected heading {heading:?}; the file has `## Hints`, then `## Starter`",
                    at(index)
                )));
            }
            None => {}
        }
        if heading.is_some() {
            continue;
        }
        match &mut part {
            Part::Fields => {
                if line.trim().is_empty() {
                    continue;
                }
                let Some((key, value)) = line.split_once(':') else {
                    return Err(ExerciseError(format!(
                        "{}: expected a `key: value` line",
                        at(index)
                    )));
                };
                let value = value.trim().to_string();
                match key.trim() {
                    "title" => exercise.title = value,
                    "kind" => exercise.kind = value,
                    "book" => exercise.book = value,
                    "beyond" => exercise.beyond = Some(value),
                    "tests" => {
                        exercise.tests = value.split_whitespace().map(str::to_string).collect();
                    }
                    other => {
                        return Err(ExerciseError(format!(
                            "{}: unknown field {other:?}",
                            at(index)
                        )));
                    }
                }
            }
            Part::Hints => {
                if let Some(hint) = line.strip_prefix("- ") {
                    exercise.hints.push(hint.trim().to_string());
                } else if line.starts_with(char::is_whitespace) && !line.trim().is_empty() {
                    // A hint going on over another line.
                    let Some(hint) = exercise.hints.last_mut() else {
                        return Err(ExerciseError(format!(
                            "{}: an indented line before the first hint",
                            at(index)
                        )));
                    };
                    hint.push(' ');
                    hint.push_str(line.trim());
                } else if !line.trim().is_empty() {
                    return Err(ExerciseError(format!(
                        "{}: a hint is a list item, `- ...`",
                        at(index)
                    )));
                }
            }
            Part::Starter { fenced, closed } => {
                if *closed || (!*fenced && line.trim().is_empty()) {
                    if !line.trim().is_empty() {
                        return Err(ExerciseError(format!(
                            "{}: text after the starter's fenced block",
                            at(index)
                        )));
                    }
                } else if !*fenced {
                    if !line.starts_with("```") {
                        return Err(ExerciseError(format!(
                            "{}: the starter is a fenced block, ```rust ... ```",
                            at(index)
                        )));
                    }
                    *fenced = true;
                } else if line == "```" {
                    *closed = true;
                } else {
                    exercise.starter.push_str(line);
                    exercise.starter.push('\n');
                }
            }
        }
    }
    let well_formed_id = id.len() > 5
        && id.as_bytes()[2] == b'.'
        && id[..2].bytes().all(|b| b.is_ascii_digit())
        && id.contains('-');
    let starter_closed = matches!(part, Part::Starter { closed: true, .. });
    let missing = [
        ("id (NN.N-slug)", !well_formed_id),
        ("title", exercise.title.is_empty()),
        (
            "kind (implement or fix the bug)",
            !["implement", "fix the bug"].contains(&exercise.kind.as_str()),
        ),
        ("book", exercise.book.is_empty()),
        ("tests", exercise.tests.is_empty()),
        ("hints", exercise.hints.is_empty()),
        (
            "starter",
            !starter_closed || exercise.starter.trim().is_empty(),
        ),
    ];
    if let Some((field, _)) = missing.iter().find(|(_, bad)| *bad) {
        return Err(ExerciseError(format!(
            "{EXERCISES_DIR}/{id}.md: no valid {field}"
        )));
    }
    Ok(exercise)
}

/// The line range of the region fenced by `anchor`: the lines strictly
/// between its two marker lines.
pub fn region(text: &str, anchor: &str) -> Result<std::ops::Range<usize>, ExerciseError> {
    let lines: Vec<&str> = text.lines().collect();
    let marker = |kind: &str| {
        let wanted = format!("{kind} {anchor}");
        // `// ` in Rust, `# ` in Python.
        lines.iter().position(|l| {
            let l = l.trim_start();
            l.strip_prefix("// ")
                .or_else(|| l.strip_prefix("# "))
                .is_some_and(|m| m.trim_end() == wanted)
        })
    };
    match (marker("ANCHOR:"), marker("ANCHOR_END:")) {
        (Some(start), Some(end)) if start < end => Ok(start + 1..end),
        _ => Err(ExerciseError(format!(
            "no region fenced by `// ANCHOR: {anchor}` and `// ANCHOR_END: {anchor}`"
        ))),
    }
}

/// The text of the region fenced by `anchor`.
pub fn region_text(text: &str, anchor: &str) -> Result<String, ExerciseError> {
    let range = region(text, anchor)?;
    Ok(text
        .lines()
        .skip(range.start)
        .take(range.len())
        .map(|l| format!("{l}\n"))
        .collect())
}

/// `text` with the region fenced by `anchor` replaced by `replacement`.
pub fn replace_region(
    text: &str,
    anchor: &str,
    replacement: &str,
) -> Result<String, ExerciseError> {
    let range = region(text, anchor)?;
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.lines().enumerate() {
        if index == range.start {
            out.push_str(replacement);
        }
        if !range.contains(&index) {
            out.push_str(line);
            out.push('\n');
        }
    }
    if range.is_empty() {
        // An empty region: the replacement goes just before its end marker.
        let end_marker = text.lines().nth(range.end).unwrap_or_default();
        out = out.replacen(
            &format!("{end_marker}\n"),
            &format!("{replacement}{end_marker}\n"),
            1,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "fn f() -> u8 {\n    // ANCHOR: ex-09.1-demo\n    1 + 1\n    // ANCHOR_END: ex-09.1-demo\n}\n";

    const EXERCISE: &str = "title: Add\nkind: implement\nbook: ch09.html#add\ntests: adds sums\n\n\
## Hints\n\n- Use +.\n- Really,\n  use it.\n\n## Starter\n\n```rust\n    todo!()\n\n    // (sic)\n```\n";

    #[test]
    fn reads_an_exercise_file() {
        let exercise = parse("09.1-demo", EXERCISE, "demo.rs").unwrap();
        assert_eq!((exercise.id.as_str(), exercise.chapter()), ("09.1-demo", 9));
        assert_eq!(
            (exercise.title.as_str(), exercise.kind.as_str()),
            ("Add", "implement")
        );
        assert_eq!(exercise.tests, ["adds", "sums"]);
        assert_eq!(exercise.hints, ["Use +.", "Really, use it."]);
        assert_eq!(exercise.starter, "    todo!()\n\n    // (sic)\n");
        assert_eq!(exercise.anchor(), "ex-09.1-demo");
        assert_eq!(exercise.beyond, None);
        let with_more = EXERCISE.replace("tests:", "beyond: also adds zero.\ntests:");
        let exercise = parse("09.1-demo", &with_more, "demo.rs").unwrap();
        assert_eq!(exercise.beyond.as_deref(), Some("also adds zero."));
    }

    #[test]
    fn replaces_a_region() {
        assert_eq!(region_text(SOURCE, "ex-09.1-demo").unwrap(), "    1 + 1\n");
        let replaced = replace_region(SOURCE, "ex-09.1-demo", "    todo!()\n").unwrap();
        assert_eq!(
            replaced,
            "fn f() -> u8 {\n    // ANCHOR: ex-09.1-demo\n    todo!()\n    // ANCHOR_END: ex-09.1-demo\n}\n"
        );
        assert!(region(SOURCE, "ex-09.2-other").is_err());
    }

    #[test]
    fn refuses_incomplete_exercises() {
        let broken = [
            EXERCISE.replace("tests: adds sums\n", ""),
            EXERCISE.replace("kind: implement", "kind: guess"),
            EXERCISE.replace("title:", "titel:"),
            EXERCISE.replace("- Use +.", "Use +."),
            EXERCISE.replace("\n```\n", "\n"),
            EXERCISE.replace("## Hints", "## Hint"),
            format!("{EXERCISE}more\n"),
        ];
        for text in &broken {
            assert!(parse("09.1-demo", text, "demo.rs").is_err(), "{text}");
        }
        assert!(parse("demo", EXERCISE, "demo.rs").is_err());
    }
}
