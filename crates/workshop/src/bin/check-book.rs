//! `check-book BOOK_DIR`: the checks of `testkit::rendered_book` on a book
//! built with `mdbook build` (CI runs it), among them that no exercise's
//! answer is in view. Prints every problem; exits 1 if there is one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use testkit::rendered_book::{Answer, check_book};
use workshop::anchors::stage_sources;
use workshop::generate::{all_exercises, reference_region};
use workshop::listings::distinctive_lines;

fn main() -> ExitCode {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "book".into()));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let answers = match answers(&root) {
        Ok(answers) => answers,
        Err(e) => {
            eprintln!("check-book: {e}");
            return ExitCode::FAILURE;
        }
    };
    let problems = check_book(&dir, &answers);
    if problems.is_empty() {
        let checked = answers
            .iter()
            .filter(|(_, lines)| !lines.is_empty())
            .count();
        println!(
            "the rendered book in {} is sound (no answer in view, of the {checked} of {} \
             exercises whose answers have lines of their own)",
            dir.display(),
            answers.len()
        );
        return ExitCode::SUCCESS;
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    eprintln!("{} problem(s) in the rendered book", problems.len());
    ExitCode::FAILURE
}

/// Each exercise's distinctive lines (see [`distinctive_lines`]).
fn answers(root: &Path) -> Result<Vec<Answer>, String> {
    let sources = stage_sources(root)?;
    let sources: Vec<&str> = sources.iter().map(|(_, text)| text.as_str()).collect();
    let mut answers = Vec::new();
    for exercise in all_exercises(root).map_err(|e| e.to_string())? {
        let reference = reference_region(root, &exercise).map_err(|e| e.to_string())?;
        let lines = distinctive_lines(&reference, &exercise.starter, &sources);
        answers.push((exercise.id, lines));
    }
    Ok(answers)
}
