//! Exercises as they are written in the stage sources.
//!
//! A region of reference code is fenced by two mdBook anchors, which the
//! book already hides from its includes:
//!
//! ```text
//! // ANCHOR: ex-01.2-request-bytes
//! ...reference code...
//! // ANCHOR_END: ex-01.2-request-bytes
//! ```
//!
//! and described by a block comment at the end of the same file:
//!
//! ```text
//! /* workshop exercise
//! id: 01.2-request-bytes
//! title: Write the bytes of a request
//! kind: implement            (or: fix the bug)
//! book: ch01-http-is-text.html#the-smallest-complete-request
//! tests: request_bytes_are_pinned other_test_name
//! hint: one hint per line, shown one at a time
//! starter:
//!     the text that replaces the region in the learner's copy
//! */
//! ```

use std::fmt;

/// One exercise, read from a stage source file.
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
    /// The stage source file, relative to the repository root.
    pub file: String,
}

/// A metadata block or region that does not make sense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExerciseError(pub String);

impl fmt::Display for ExerciseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExerciseError {}

const BLOCK_START: &str = "/* workshop exercise";

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

/// Reads every exercise described in `text`, the contents of `file`.
pub fn exercises_in(file: &str, text: &str) -> Result<Vec<Exercise>, ExerciseError> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BLOCK_START) {
        let block = &rest[start + BLOCK_START.len()..];
        let end = block
            .find("*/")
            .ok_or_else(|| ExerciseError(format!("{file}: an exercise block is not closed")))?;
        found.push(parse_block(file, &block[..end])?);
        rest = &block[end..];
    }
    for exercise in &found {
        region(text, &exercise.anchor()).map_err(|e| ExerciseError(format!("{file}: {e}")))?;
    }
    Ok(found)
}

fn parse_block(file: &str, block: &str) -> Result<Exercise, ExerciseError> {
    let mut exercise = Exercise {
        id: String::new(),
        title: String::new(),
        kind: String::new(),
        book: String::new(),
        tests: Vec::new(),
        hints: Vec::new(),
        starter: String::new(),
        file: file.to_string(),
    };
    let mut lines = block.lines();
    for line in lines.by_ref() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        match key.trim() {
            "id" => exercise.id = value,
            "title" => exercise.title = value,
            "kind" => exercise.kind = value,
            "book" => exercise.book = value,
            "tests" => exercise.tests = value.split_whitespace().map(str::to_string).collect(),
            "hint" => exercise.hints.push(value),
            "starter" => break,
            other => {
                return Err(ExerciseError(format!(
                    "{file}: unknown exercise field {other:?}"
                )));
            }
        }
    }
    exercise.starter = lines.map(|l| format!("{l}\n")).collect();
    let missing = [
        ("id", exercise.id.is_empty()),
        ("title", exercise.title.is_empty()),
        (
            "kind",
            !["implement", "fix the bug"].contains(&exercise.kind.as_str()),
        ),
        ("tests", exercise.tests.is_empty()),
        ("hint", exercise.hints.is_empty()),
        ("starter", exercise.starter.trim().is_empty()),
    ];
    if let Some((field, _)) = missing.iter().find(|(_, bad)| *bad) {
        return Err(ExerciseError(format!(
            "{file}: exercise {:?} has no valid {field}",
            exercise.id
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
        lines.iter().position(|l| {
            l.trim_start()
                .strip_prefix("// ")
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

/// `text` without its exercise blocks: they describe the exercises, and
/// the learner's copy need not carry the starters and hints.
pub fn without_blocks(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(BLOCK_START) {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("*/")
            .map_or(rest.len(), |e| start + e + 2);
        rest = rest[end..].strip_prefix('\n').unwrap_or(&rest[end..]);
    }
    out.push_str(rest);
    let trimmed = out.trim_end();
    format!("{trimmed}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "fn f() -> u8 {\n    // ANCHOR: ex-09.1-demo\n    1 + 1\n    // ANCHOR_END: ex-09.1-demo\n}\n\n\
/* workshop exercise\nid: 09.1-demo\ntitle: Add\nkind: implement\nbook: ch09.html#add\ntests: adds\n\
hint: Use +.\nhint: Really.\nstarter:\n    todo!()\n*/\n";

    #[test]
    fn reads_an_exercise_and_its_region() {
        let exercises = exercises_in("demo.rs", SOURCE).unwrap();
        assert_eq!(exercises.len(), 1);
        let exercise = &exercises[0];
        assert_eq!((exercise.id.as_str(), exercise.chapter()), ("09.1-demo", 9));
        assert_eq!(exercise.hints, ["Use +.", "Really."]);
        assert_eq!(exercise.starter, "    todo!()\n");
        assert_eq!(region_text(SOURCE, "ex-09.1-demo").unwrap(), "    1 + 1\n");
    }

    #[test]
    fn replaces_a_region_and_drops_the_blocks() {
        let replaced = replace_region(SOURCE, "ex-09.1-demo", "    todo!()\n").unwrap();
        let learner = without_blocks(&replaced);
        assert_eq!(
            learner,
            "fn f() -> u8 {\n    // ANCHOR: ex-09.1-demo\n    todo!()\n    // ANCHOR_END: ex-09.1-demo\n}\n"
        );
    }

    #[test]
    fn refuses_incomplete_exercises() {
        let no_region = SOURCE.replace("ANCHOR_END: ex-09.1-demo", "ANCHOR_END: other");
        assert!(exercises_in("demo.rs", &no_region).is_err());
        let no_tests = SOURCE.replace("tests: adds\n", "");
        assert!(exercises_in("demo.rs", &no_tests).is_err());
        let bad_kind = SOURCE.replace("kind: implement", "kind: guess");
        assert!(exercises_in("demo.rs", &bad_kind).is_err());
    }
}
