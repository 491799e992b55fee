//! What the learner has done, keyed on the exercises' stable ids, in a
//! file git ignores (`.workshop-progress` at the repository root).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The learner's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Exercises whose tests passed on the learner's code.
    pub passed: BTreeSet<String>,
    /// Exercises swapped for the reference by `catch-up`.
    pub caught_up: BTreeSet<String>,
    /// How many hints each exercise has shown.
    pub hints: BTreeMap<String, usize>,
    /// The exercise the learner is on: the one they last checked, watched,
    /// asked a hint for or reset, or the one after their last pass. The
    /// runner follows it rather than the first unsolved exercise, so that
    /// a learner who skips ahead is not sent back.
    pub on: Option<String>,
}

impl Progress {
    /// Where progress is kept.
    pub fn path(root: &Path) -> PathBuf {
        root.join(".workshop-progress")
    }

    /// Reads the progress file; a missing or damaged line counts as nothing.
    pub fn load(root: &Path) -> Progress {
        let mut progress = Progress::default();
        let text = fs::read_to_string(Progress::path(root)).unwrap_or_default();
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["passed", id] => drop(progress.passed.insert(id.to_string())),
                ["caught-up", id] => drop(progress.caught_up.insert(id.to_string())),
                ["on", id] => progress.on = Some(id.to_string()),
                ["hints", id, n] => drop(
                    progress
                        .hints
                        .insert(id.to_string(), n.parse().unwrap_or(0)),
                ),
                _ => {}
            }
        }
        progress
    }

    /// Writes the progress file.
    pub fn save(&self, root: &Path) -> std::io::Result<()> {
        let mut text = String::from(
            "# Workshop progress, written by `cargo run -p workshop`. Safe to delete.\n",
        );
        for id in &self.passed {
            text.push_str(&format!("passed {id}\n"));
        }
        for id in &self.caught_up {
            text.push_str(&format!("caught-up {id}\n"));
        }
        for (id, n) in &self.hints {
            text.push_str(&format!("hints {id} {n}\n"));
        }
        if let Some(id) = &self.on {
            text.push_str(&format!("on {id}\n"));
        }
        fs::write(Progress::path(root), text)
    }

    /// Whether an exercise needs no more work.
    pub fn done(&self, id: &str) -> bool {
        self.passed.contains(id) || self.caught_up.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_file() {
        let dir = std::env::temp_dir().join(format!("workshop-progress-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let mut progress = Progress::default();
        progress.passed.insert("01.1-a".into());
        progress.caught_up.insert("02.1-b".into());
        progress.hints.insert("01.2-c".into(), 2);
        progress.on = Some("03.2-d".into());
        progress.save(&dir).unwrap();
        assert_eq!(Progress::load(&dir), progress);
        assert!(progress.done("01.1-a") && progress.done("02.1-b") && !progress.done("01.2-c"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
