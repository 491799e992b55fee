//! `workshop verify`: the proof, run by CI, that the workshop is sound.
//!
//! 1. Regenerating the chapters gives exactly the committed files.
//! 2. Every exercise's tests compile and fail when only that exercise holds
//!    its starter (so the starter really is wrong, or missing).
//! 3. Every exercise's tests pass once it and the exercises before it hold
//!    the reference, the later ones still their starters: solving the
//!    exercises in order, each check turns green when its own part is done.

use std::path::Path;

use crate::chapter::{CHAPTERS, Chapter};
use crate::exercise::Exercise;
use crate::generate::{all_exercises, chapter_files, leftover_files, write_files};
use crate::tests_run::{Snapshots, run_tests};

/// Runs every check; returns whether all passed, printing one line per
/// exercise and a total.
pub fn verify(root: &Path) -> Result<bool, String> {
    let exercises = all_exercises(root).map_err(|e| e.to_string())?;
    let stale = stale_files(root)?;
    if !stale.is_empty() {
        println!(
            "FAILED: the chapters differ from what `cargo run -p workshop -- generate` writes:"
        );
        for file in stale {
            println!("  {file}");
        }
        return Ok(false);
    }
    println!("ok   the chapters are up to date with the stage sources and exercise files");

    let mut failures = 0;
    for chapter in CHAPTERS {
        let in_chapter: Vec<&Exercise> = exercises
            .iter()
            .filter(|e| e.chapter() == chapter.number)
            .collect();
        for (position, exercise) in in_chapter.iter().enumerate() {
            with_starters(root, chapter, &|e| e.id == exercise.id)?;
            let alone = run_tests(root, exercise, Snapshots::Never);
            with_starters(root, chapter, &|e| {
                in_chapter[position + 1..]
                    .iter()
                    .any(|later| later.id == e.id)
            })?;
            let in_order = run_tests(root, exercise, Snapshots::Never);
            let verdict = match (&alone, &in_order) {
                (a, _) if !a.compiled => Some("its starter does not compile".to_string()),
                (a, _) if a.failed == 0 => Some("its tests pass on the starter".to_string()),
                (_, o) if !o.succeeded() => Some(format!(
                    "its tests fail on the reference ({} passed, {} failed)",
                    o.passed, o.failed
                )),
                _ => None,
            };
            match verdict {
                None => println!(
                    "ok   {:<28} fails on its starter ({} failed), passes on the reference ({} passed)",
                    exercise.id, alone.failed, in_order.passed
                ),
                Some(problem) => {
                    failures += 1;
                    println!("FAILED {}: {problem}", exercise.id);
                    println!(
                        "{}",
                        tail(
                            &if alone.compiled {
                                in_order.output
                            } else {
                                alone.output
                            },
                            40
                        )
                    );
                }
            }
        }
        // Put the committed chapter back.
        with_starters(root, chapter, &|_| true)?;
    }
    println!(
        "{} exercises: {} verified, {failures} failed",
        exercises.len(),
        exercises.len() - failures
    );
    Ok(failures == 0)
}

/// Generated files that differ from those on disk, or are missing.
pub fn stale_files(root: &Path) -> Result<Vec<String>, String> {
    let mut stale = Vec::new();
    for chapter in CHAPTERS {
        let files = chapter_files(root, chapter, &|_| true).map_err(|e| e.to_string())?;
        for (path, contents) in &files {
            if std::fs::read(root.join(path)).ok().as_deref() != Some(contents.as_slice()) {
                stale.push(path.display().to_string());
            }
        }
        for leftover in leftover_files(root, chapter, &files) {
            stale.push(format!("{} (no longer generated)", leftover.display()));
        }
    }
    Ok(stale)
}

/// Writes `chapter` with the starters chosen by `starter`.
fn with_starters(
    root: &Path,
    chapter: Chapter,
    starter: &dyn Fn(&Exercise) -> bool,
) -> Result<(), String> {
    let files = chapter_files(root, chapter, starter).map_err(|e| e.to_string())?;
    write_files(root, &files)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
