//! `check-book BOOK_DIR`: the checks of `testkit::rendered_book` on a book
//! built with `mdbook build` (CI runs it). Prints every problem; exits 1
//! if there is one.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "book".into()));
    let problems = testkit::rendered_book::check_book(&dir);
    if problems.is_empty() {
        println!("the rendered book in {} is sound", dir.display());
        return ExitCode::SUCCESS;
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    eprintln!("{} problem(s) in the rendered book", problems.len());
    ExitCode::FAILURE
}
