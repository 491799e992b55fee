//! `cargo run -p workshop [COMMAND]`: the learner's runner, and the
//! generator and verifier the maintainers and CI use.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use workshop::chapter::CHAPTERS;
use workshop::generate::{chapter_files, leftover_files, write_files};
use workshop::runner::Workshop;

/// Exercises carved from the stages: make the failing tests pass.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Progress over all exercises, and what to do next (the default).
    Status,
    /// Check an exercise (the one you are on without ID).
    Check {
        /// An exercise id, like 01.2-request-bytes (or just 01.2).
        id: Option<String>,
    },
    /// Re-check an exercise whenever a chapter file is saved, and move on to the next once it passes.
    Watch {
        /// The exercise to start with (the one you are on without ID).
        id: Option<String>,
    },
    /// Show one more hint for an exercise.
    Hint {
        /// The exercise id.
        id: String,
    },
    /// Put an exercise's starter back.
    Reset {
        /// The exercise id.
        id: String,
    },
    /// Swap a chapter's exercises, or one exercise, for the reference code, to move on.
    CatchUp {
        /// A chapter number, like 03, or an exercise, like 03.1.
        what: String,
    },
    /// Show the reference code of an exercise you have solved.
    Solution {
        /// The exercise id.
        id: String,
    },
    /// Write chapters/ from the stage sources and crates/workshop/exercises/ (maintainers).
    Generate,
    /// Prove every exercise fails on its starter and passes on the reference (CI).
    Verify,
}

fn main() -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    let result = match Cli::parse().command.unwrap_or(Command::Status) {
        Command::Generate => generate(&root),
        Command::Verify => workshop::verify::verify(&root)
            .map(|ok| ok.then_some(()).ok_or(String::new()))
            .and_then(|r| r),
        command => Workshop::open(&root).and_then(|mut workshop| match command {
            Command::Status => {
                workshop.status();
                Ok(())
            }
            Command::Check { id } => workshop
                .check(id.as_deref())
                .and_then(|ok| if ok { Ok(()) } else { Err(String::new()) }),
            Command::Watch { id } => workshop.watch(id.as_deref()),
            Command::Hint { id } => workshop.hint(&id),
            Command::Reset { id } => workshop.reset(&id),
            Command::CatchUp { what } => workshop.catch_up(&what),
            Command::Solution { id } => workshop.solution(&id),
            Command::Generate | Command::Verify => unreachable!("handled above"),
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("workshop: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

fn generate(root: &std::path::Path) -> Result<(), String> {
    let mut changed = 0;
    for chapter in CHAPTERS {
        let files = chapter_files(root, chapter, &|_| true).map_err(|e| e.to_string())?;
        changed += write_files(root, &files).map_err(|e| e.to_string())?;
        for leftover in leftover_files(root, chapter, &files) {
            std::fs::remove_file(root.join(&leftover))
                .map_err(|e| format!("{}: {e}", leftover.display()))?;
            changed += 1;
        }
    }
    println!("chapters/ generated: {changed} files written");
    Ok(())
}
