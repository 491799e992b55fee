//! The learner's commands.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::diff::{byte_diff, snapshot_diffs};
use crate::exercise::{Exercise, replace_region};
use crate::generate::{CHAPTERS, Chapter, all_exercises, reference_region};
use crate::progress::Progress;
use crate::tests_run::{Snapshots, failures, run_tests};

/// The repository root and its exercises, loaded once per command.
pub struct Workshop {
    root: PathBuf,
    exercises: Vec<Exercise>,
    progress: Progress,
}

impl Workshop {
    /// Loads the exercises (their files and their regions in the stage
    /// sources) and the learner's progress.
    pub fn open(root: &Path) -> Result<Workshop, String> {
        let exercises = all_exercises(root).map_err(|e| e.to_string())?;
        Ok(Workshop {
            root: root.to_path_buf(),
            exercises,
            progress: Progress::load(root),
        })
    }

    fn find(&self, id: &str) -> Result<&Exercise, String> {
        self.exercises
            .iter()
            .find(|e| e.id == id || e.id.split('-').next() == Some(id))
            .ok_or_else(|| format!("no exercise {id:?}; `cargo run -p workshop` lists them"))
    }

    /// The first exercise not yet done.
    pub fn next(&self) -> Option<&Exercise> {
        self.exercises.iter().find(|e| !self.progress.done(&e.id))
    }

    /// The learner's copy of the file holding `exercise`.
    fn learner_file(&self, exercise: &Exercise) -> PathBuf {
        let chapter = Chapter::find(exercise.chapter()).unwrap_or(CHAPTERS[0]);
        let inside_stage = exercise
            .file
            .split_once('/')
            .and_then(|(_, rest)| rest.split_once('/'))
            .map_or("", |(_, f)| f);
        chapter.dir().join(inside_stage)
    }

    fn save(&self) -> Result<(), String> {
        self.progress
            .save(&self.root)
            .map_err(|e| format!("cannot save progress: {e}"))
    }

    /// `cargo run -p workshop`: progress over all exercises, and what is next.
    pub fn status(&self) {
        let done = self
            .exercises
            .iter()
            .filter(|e| self.progress.done(&e.id))
            .count();
        println!(
            "Workshop: {done} of {} exercises done\n",
            self.exercises.len()
        );
        let next = self.next().map(|e| e.id.clone());
        for chapter in CHAPTERS {
            println!(
                "Chapter {}: {}   (chapters/{})",
                chapter.number, chapter.title, chapter.slug
            );
            for exercise in self
                .exercises
                .iter()
                .filter(|e| e.chapter() == chapter.number)
            {
                let mark = if self.progress.passed.contains(&exercise.id) {
                    "✓"
                } else if self.progress.caught_up.contains(&exercise.id) {
                    "↷"
                } else if next.as_deref() == Some(exercise.id.as_str()) {
                    "→"
                } else {
                    "·"
                };
                println!(
                    "  {mark} {:<26} {} ({})",
                    exercise.id, exercise.title, exercise.kind
                );
            }
        }
        println!("\n✓ passed   ↷ caught up   → next   · to do");
        match self.next() {
            Some(exercise) => self.explain(exercise),
            None => println!("\nEvery exercise is done. The book goes on with chapter 6."),
        }
    }

    fn explain(&self, exercise: &Exercise) {
        let (page, section) = exercise
            .book
            .split_once('#')
            .unwrap_or((&exercise.book, ""));
        let page = page.replace(".html", ".md");
        println!(
            "\nNext: {} — {} ({})",
            exercise.id, exercise.title, exercise.kind
        );
        println!(
            "  edit:  {} (between the `ex-{}` markers)",
            self.learner_file(exercise).display(),
            exercise.id
        );
        println!(
            "  read:  book/src/{page}, section \"{}\" (or `mdbook serve book`)",
            section.replace('-', " ")
        );
        println!("  check: cargo run -p workshop -- check {}", exercise.id);
        println!("  stuck: cargo run -p workshop -- hint {}", exercise.id);
    }

    /// `check [ID]`: runs the exercise's tests on the learner's code.
    pub fn check(&mut self, id: Option<&str>) -> Result<bool, String> {
        let exercise = match id {
            Some(id) => self.find(id)?.clone(),
            None => self.next().cloned().ok_or("every exercise is done")?,
        };
        println!("checking {} — {} ...", exercise.id, exercise.title);
        let run = run_tests(&self.root, &exercise, Snapshots::WriteNew);
        let chapter = Chapter::find(exercise.chapter()).unwrap_or(CHAPTERS[0]);
        let diffs = snapshot_diffs(&self.root.join(chapter.dir()));
        if run.succeeded() {
            println!("✓ {} passes ({} tests)", exercise.id, run.passed);
            self.progress.passed.insert(exercise.id.clone());
            self.save()?;
            if let Some(next) = self.next() {
                self.explain(next);
            }
            return Ok(true);
        }
        if !run.compiled {
            println!("✗ {} does not compile yet:\n", exercise.id);
            let errors: Vec<&str> = run
                .output
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(40)
                .collect();
            println!("{}", errors.join("\n"));
        } else {
            println!(
                "✗ {}: {} of {} tests fail\n",
                exercise.id,
                run.failed,
                run.failed + run.passed
            );
            for (snapshot, diff) in &diffs {
                println!("wire bytes differ from {}:\n{diff}", snapshot.display());
            }
            let failed = failures(&run.output);
            println!("{failed}");
            for (actual, expected) in assertion_pairs(&failed) {
                println!(
                    "expected (right) against actual (left), escaped as Rust shows them:\n{}",
                    byte_diff(&expected, &actual)
                );
            }
        }
        println!("Stuck? cargo run -p workshop -- hint {}", exercise.id);
        Ok(false)
    }

    /// `hint ID`: one more hint each time.
    pub fn hint(&mut self, id: &str) -> Result<(), String> {
        let exercise = self.find(id)?.clone();
        let shown = self.progress.hints.get(&exercise.id).copied().unwrap_or(0);
        let now = (shown + 1).min(exercise.hints.len());
        for (n, hint) in exercise.hints.iter().take(now).enumerate() {
            println!("hint {} of {}: {hint}", n + 1, exercise.hints.len());
        }
        if now == exercise.hints.len() {
            println!(
                "(that was the last hint; the book section: {})",
                exercise.book
            );
        }
        self.progress.hints.insert(exercise.id, now);
        self.save()
    }

    /// `reset ID`: puts the starter back in the learner's file.
    pub fn reset(&mut self, id: &str) -> Result<(), String> {
        let exercise = self.find(id)?.clone();
        self.replace_in_learner_file(&exercise, &exercise.starter)?;
        self.progress.passed.remove(&exercise.id);
        self.progress.caught_up.remove(&exercise.id);
        self.save()?;
        println!(
            "{} is back to its starter in {}",
            exercise.id,
            self.learner_file(&exercise).display()
        );
        Ok(())
    }

    /// `catch-up NN`: swaps a chapter's exercises for the reference, so that
    /// a stuck learner can go on.
    pub fn catch_up(&mut self, chapter: &str) -> Result<(), String> {
        let number: u8 = chapter
            .trim_start_matches('0')
            .parse()
            .map_err(|_| format!("{chapter:?} is not a chapter number"))?;
        let chapter =
            Chapter::find(number).ok_or_else(|| format!("there is no chapter {number}"))?;
        let in_chapter: Vec<Exercise> = self
            .exercises
            .iter()
            .filter(|e| e.chapter() == number)
            .cloned()
            .collect();
        for exercise in &in_chapter {
            let reference = reference_region(&self.root, exercise).map_err(|e| e.to_string())?;
            self.replace_in_learner_file(exercise, &reference)?;
            if !self.progress.passed.contains(&exercise.id) {
                self.progress.caught_up.insert(exercise.id.clone());
            }
        }
        self.save()?;
        println!(
            "chapter {number} ({}) now holds the reference code; its exercises count as caught up.",
            chapter.title
        );
        Ok(())
    }

    /// `solution ID`: the reference, once the learner's own version passed.
    pub fn solution(&self, id: &str) -> Result<(), String> {
        let exercise = self.find(id)?;
        if !self.progress.passed.contains(&exercise.id) {
            return Err(format!(
                "solve {} first (cargo run -p workshop -- check {}); then compare",
                exercise.id, exercise.id
            ));
        }
        let reference = reference_region(&self.root, exercise).map_err(|e| e.to_string())?;
        println!(
            "The reference for {}, from {}:\n\n{reference}",
            exercise.id, exercise.file
        );
        Ok(())
    }

    fn replace_in_learner_file(&self, exercise: &Exercise, text: &str) -> Result<(), String> {
        let path = self.root.join(self.learner_file(exercise));
        let current = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let updated = replace_region(&current, &exercise.anchor(), text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        fs::write(&path, updated).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `watch`: checks the next exercise whenever a chapter source changes
    /// (by polling modification times, which works everywhere).
    pub fn watch(&mut self) -> Result<(), String> {
        println!("watching chapters/ for changes (Ctrl-C to stop)");
        let mut seen = self.modification_times();
        self.check(None)?;
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let now = self.modification_times();
            if now != seen {
                seen = now;
                println!("\n--- change detected ---");
                if self.next().is_none() {
                    println!("every exercise is done");
                    return Ok(());
                }
                self.check(None)?;
            }
        }
    }

    fn modification_times(&self) -> BTreeMap<PathBuf, SystemTime> {
        let mut times = BTreeMap::new();
        for chapter in CHAPTERS {
            collect_times(&self.root.join(chapter.dir()).join("src"), &mut times);
        }
        times
    }
}

/// The `left:` and `right:` values of failed `assert_eq!`s.
fn assertion_pairs(failures: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = failures.lines().collect();
    lines
        .windows(2)
        .filter_map(|pair| {
            Some((
                pair[0].trim().strip_prefix("left: ")?.to_string(),
                pair[1].trim().strip_prefix("right: ")?.to_string(),
            ))
        })
        .collect()
}

fn collect_times(dir: &Path, out: &mut BTreeMap<PathBuf, SystemTime>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_times(&path, out);
        } else if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
            out.insert(path, modified);
        }
    }
}
