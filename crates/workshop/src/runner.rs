//! The learner's commands.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::book::Section;
use crate::chapter::{CHAPTERS, Chapter, Language};
use crate::diff::snapshot_diffs;
use crate::exercise::{Exercise, region, replace_region};
use crate::feedback::{compile_errors, count, failed_tests, panic_locations, render_failed_test};
use crate::generate::{all_exercises, formatted_starter, reference_region};
use crate::progress::Progress;
use crate::tests_run::{Snapshots, TestRun, failures, run_tests, unittest_failures};

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

    /// The exercise `id` names: a whole id, or its number (`03.2`).
    fn find(&self, id: &str) -> Result<&Exercise, String> {
        self.exercises
            .iter()
            .find(|e| e.id == id || e.id.split('-').next() == Some(id))
            .ok_or_else(|| format!("no exercise {id:?}; `cargo run -p workshop` lists them"))
    }

    /// The exercise the learner is on, if it is not done yet; otherwise
    /// the first one after it that is not done (coming round to the start).
    pub fn next(&self) -> Option<&Exercise> {
        let on = self.progress.on.as_deref().unwrap_or_default();
        match self.exercises.iter().find(|e| e.id == on) {
            Some(exercise) if !self.progress.done(on) => Some(exercise),
            Some(_) => self.not_done_after(on),
            None => self.exercises.iter().find(|e| !self.progress.done(&e.id)),
        }
    }

    /// The first exercise after `id`, in order, that is not done, coming
    /// round to the first exercises when none after it is left.
    fn not_done_after(&self, id: &str) -> Option<&Exercise> {
        let after = self
            .exercises
            .iter()
            .position(|e| e.id == id)
            .map_or(0, |at| at + 1);
        let (before, rest) = self.exercises.split_at(after);
        rest.iter()
            .chain(before)
            .find(|e| !self.progress.done(&e.id))
    }

    /// The learner turns to `id`: `check`, `watch` and the status screen
    /// follow it from now on.
    fn turn_to(&mut self, id: &str) {
        self.progress.on = Some(id.to_string());
    }

    /// `id` passed: what comes next is the exercise after it, not the
    /// first one left unsolved further back.
    fn record_pass(&mut self, id: &str) {
        self.progress.passed.insert(id.to_string());
        self.progress.on = self.not_done_after(id).map(|e| e.id.clone());
    }

    /// The learner's copy of the file holding `exercise`.
    fn learner_file(&self, exercise: &Exercise) -> PathBuf {
        let chapter = Chapter::find(exercise.chapter()).unwrap_or(CHAPTERS[0]);
        let inside_stage = exercise
            .file
            .strip_prefix(chapter.stage_dir)
            .unwrap_or(&exercise.file)
            .trim_start_matches('/');
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
            None => println!("\nEvery exercise is done."),
        }
    }

    fn explain(&self, exercise: &Exercise) {
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
            "  read:  {}",
            Section::find(&self.root, &exercise.book).describe()
        );
        println!("  check: cargo run -p workshop -- check {}", exercise.id);
        println!("  stuck: cargo run -p workshop -- hint {}", exercise.id);
    }

    /// `check [ID]`: runs the exercise's tests on the learner's code (the
    /// exercise the learner is on without ID).
    pub fn check(&mut self, id: Option<&str>) -> Result<bool, String> {
        let exercise = match id {
            Some(id) => self.find(id)?.clone(),
            None => self.next().cloned().ok_or("every exercise is done")?,
        };
        self.turn_to(&exercise.id);
        println!("checking {} — {} ...", exercise.id, exercise.title);
        let run = run_tests(&self.root, &exercise, Snapshots::WriteNew);
        if run.succeeded() {
            println!("✓ {} passes ({})", exercise.id, count(run.passed, "test"));
            self.record_pass(&exercise.id);
            self.save()?;
            if let Some(next) = self.next() {
                self.explain(next);
            }
            return Ok(true);
        }
        self.save()?;
        if run.compiled {
            self.show_failures(&exercise, &run);
        } else {
            println!("✗ {} does not compile yet:\n", exercise.id);
            println!("{}\n", compile_errors(&run.output));
        }
        println!("Stuck? cargo run -p workshop -- hint {}", exercise.id);
        Ok(false)
    }

    /// What failed: the exercises this one waits for, the wire bytes that
    /// differ, and each failed test.
    fn show_failures(&self, exercise: &Exercise, run: &TestRun) {
        println!(
            "✗ {}: {} of {} failed\n",
            exercise.id,
            run.failed,
            count(run.failed + run.passed, "test")
        );
        for blocker in self.blocking(exercise, &run.output) {
            println!("{}\n", needs(exercise, blocker));
        }
        let chapter = Chapter::find(exercise.chapter()).unwrap_or(CHAPTERS[0]);
        if chapter.language == Language::Python {
            // unittest's own report says what was expected, what came, and
            // where: the traceback ends at the assertion.
            println!("{}", unittest_failures(&run.output));
            return;
        }
        for (snapshot, diff) in snapshot_diffs(&self.root.join(chapter.dir())) {
            let snapshot = snapshot.strip_prefix(&self.root).unwrap_or(&snapshot);
            println!("wire bytes differ from {}:\n{diff}", snapshot.display());
        }
        for test in failed_tests(&failures(&run.output)) {
            println!("{}", render_failed_test(&self.root, &test));
        }
    }

    /// The other exercises in whose region, in the learner's copy, a test
    /// panicked: a `todo!()` of an exercise not solved yet, which this one
    /// runs into.
    fn blocking(&self, exercise: &Exercise, output: &str) -> Vec<&Exercise> {
        let locations = panic_locations(output);
        self.exercises
            .iter()
            .filter(|other| other.id != exercise.id)
            .filter(|other| {
                let file = self.learner_file(other);
                let Ok(text) = fs::read_to_string(self.root.join(&file)) else {
                    return false;
                };
                let Ok(lines) = region(&text, &other.anchor()) else {
                    return false;
                };
                locations.iter().any(|at| {
                    Path::new(&at.file) == file && lines.contains(&at.line.saturating_sub(1))
                })
            })
            .collect()
    }

    /// `hint ID`: one more hint each time.
    pub fn hint(&mut self, id: &str) -> Result<(), String> {
        let exercise = self.find(id)?.clone();
        self.turn_to(&exercise.id);
        let shown = self.progress.hints.get(&exercise.id).copied().unwrap_or(0);
        let now = (shown + 1).min(exercise.hints.len());
        for (n, hint) in exercise.hints.iter().take(now).enumerate() {
            println!("hint {} of {}: {hint}", n + 1, exercise.hints.len());
        }
        if now == exercise.hints.len() {
            println!(
                "(that was the last hint; the book explains it in {})",
                Section::find(&self.root, &exercise.book).describe()
            );
        }
        self.progress.hints.insert(exercise.id, now);
        self.save()
    }

    /// `reset ID`: puts the starter back in the learner's file, as the
    /// chapter was generated with it.
    pub fn reset(&mut self, id: &str) -> Result<(), String> {
        let exercise = self.find(id)?.clone();
        let starter = formatted_starter(&self.root, &exercise).map_err(|e| e.to_string())?;
        self.replace_in_learner_file(&exercise, &starter)?;
        self.progress.passed.remove(&exercise.id);
        self.progress.caught_up.remove(&exercise.id);
        self.turn_to(&exercise.id);
        self.save()?;
        println!(
            "{} is back to its starter in {}",
            exercise.id,
            self.learner_file(&exercise).display()
        );
        Ok(())
    }

    /// `catch-up NN` or `catch-up ID`: swaps a chapter's exercises, or one
    /// exercise, for the reference, so that a stuck learner can go on.
    pub fn catch_up(&mut self, what: &str) -> Result<(), String> {
        let (exercises, said) = if what.contains('.') {
            let exercise = self.find(what)?.clone();
            let said = format!("{} ({})", exercise.id, exercise.title);
            (vec![exercise], said)
        } else {
            self.chapter_exercises(what)?
        };
        for exercise in &exercises {
            let reference = reference_region(&self.root, exercise).map_err(|e| e.to_string())?;
            self.replace_in_learner_file(exercise, &reference)?;
            if !self.progress.passed.contains(&exercise.id) {
                self.progress.caught_up.insert(exercise.id.clone());
            }
        }
        if let Some(last) = exercises.last() {
            self.progress.on = self.not_done_after(&last.id).map(|e| e.id.clone());
        }
        self.save()?;
        println!(
            "{said} now holds the reference code, and counts as caught up \
             (`reset` puts a starter back)."
        );
        if let Some(next) = self.next() {
            self.explain(next);
        }
        Ok(())
    }

    /// The exercises of chapter `number` (`03` or `3`), and the chapter's name.
    fn chapter_exercises(&self, number: &str) -> Result<(Vec<Exercise>, String), String> {
        let parsed: u8 = number
            .trim_start_matches('0')
            .parse()
            .map_err(|_| format!("{number:?} is neither a chapter (03) nor an exercise (03.2)"))?;
        let chapter =
            Chapter::find(parsed).ok_or_else(|| format!("there is no chapter {parsed}"))?;
        let exercises = self
            .exercises
            .iter()
            .filter(|e| e.chapter() == parsed)
            .cloned()
            .collect();
        Ok((exercises, format!("chapter {parsed} ({})", chapter.title)))
    }

    /// `solution ID`: the reference, once the learner's own version passed,
    /// and what it does beyond what the exercise asked, if anything.
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
        match &exercise.beyond {
            Some(beyond) => println!("Beyond what the exercise asks, the reference {beyond}"),
            None => println!("It does what the exercise asks and its tests check, no more."),
        }
        Ok(())
    }

    fn replace_in_learner_file(&self, exercise: &Exercise, text: &str) -> Result<(), String> {
        let path = self.root.join(self.learner_file(exercise));
        let current = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let updated = replace_region(&current, &exercise.anchor(), text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        fs::write(&path, updated).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `watch [ID]`: checks the exercise the learner is on (or `ID`)
    /// whenever a chapter source changes, and moves on to the exercise
    /// after it once it passes. Polls modification times, which works
    /// everywhere.
    pub fn watch(&mut self, id: Option<&str>) -> Result<(), String> {
        if let Some(id) = id {
            let id = self.find(id)?.id.clone();
            self.turn_to(&id);
        }
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
            let code = match chapter.language {
                Language::Rust => chapter.dir().join("src"),
                Language::Python => chapter.dir(),
            };
            collect_times(&self.root.join(code), &mut times);
        }
        times
    }
}

/// What to tell a learner whose `exercise` runs into `blocker`'s unsolved
/// code: `03.2 needs 03.1: solve it first or ...`.
fn needs(exercise: &Exercise, blocker: &Exercise) -> String {
    let number = |e: &Exercise| e.id.split('-').next().unwrap_or_default().to_string();
    format!(
        "{} needs {}: solve it first or `cargo run -p workshop -- catch-up {}`",
        number(exercise),
        number(blocker),
        number(blocker)
    )
}

fn collect_times(dir: &Path, out: &mut BTreeMap<PathBuf, SystemTime>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            // Python writes its compiled files there when the tests run:
            // they are not the learner's saves.
            if !path.ends_with("__pycache__") {
                collect_times(&path, out);
            }
        } else if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
            out.insert(path, modified);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::region_text;
    use crate::generate::{chapter_files, write_files};

    /// The repository this crate is in.
    fn repository() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// What the runner reads and writes, in a scratch folder: the stage
    /// sources, exercise files and book copied, and chapter 3 generated
    /// with its starters (not copied: the repository's chapters may hold
    /// someone's answers). A test can then change the learner's files.
    fn scratch(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("workshop-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let from = repository();
        let mut folders = vec![
            PathBuf::from("crates/workshop/exercises"),
            "book/src".into(),
        ];
        for chapter in CHAPTERS {
            folders.push(match chapter.language {
                Language::Rust => Path::new(chapter.stage_dir).join("src"),
                Language::Python => PathBuf::from(chapter.stage_dir),
            });
        }
        for folder in folders {
            copy_folder(&from.join(&folder), &root.join(&folder));
        }
        let chapter = Chapter::find(3).unwrap();
        let files = chapter_files(&from, chapter, &|_| true).unwrap();
        write_files(&root, &files).unwrap();
        root
    }

    fn copy_folder(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap().flatten() {
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy_folder(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    /// The workshop over `root` with no progress, whatever a learner's
    /// progress file there says.
    fn fresh(root: &Path) -> Workshop {
        Workshop {
            root: root.to_path_buf(),
            exercises: all_exercises(root).unwrap(),
            progress: Progress::default(),
        }
    }

    fn learner_region(workshop: &Workshop, id: &str) -> String {
        let exercise = workshop.find(id).unwrap();
        let text = fs::read_to_string(workshop.root.join(workshop.learner_file(exercise))).unwrap();
        region_text(&text, &exercise.anchor()).unwrap()
    }

    fn next_id(workshop: &Workshop) -> Option<&str> {
        workshop.next().map(|e| e.id.split('-').next().unwrap())
    }

    #[test]
    fn next_follows_the_exercise_the_learner_is_on() {
        let mut workshop = fresh(&repository());
        assert_eq!(
            next_id(&workshop),
            Some("01.1"),
            "a new learner starts at the start"
        );
        workshop.turn_to("03.2-header-injection");
        assert_eq!(
            next_id(&workshop),
            Some("03.2"),
            "check or watch 03.2 follows it"
        );
        workshop.record_pass("03.2-header-injection");
        assert_eq!(
            next_id(&workshop),
            Some("03.3"),
            "after a pass, the one after it"
        );
        workshop.progress.passed.insert("03.4-empty-chunk".into());
        workshop.record_pass("03.3-body-allowed");
        assert_eq!(
            next_id(&workshop),
            Some("04.1"),
            "done exercises are skipped"
        );
        let last = workshop.exercises.last().unwrap().id.clone();
        workshop.turn_to(&last);
        workshop.record_pass(&last);
        assert_eq!(
            next_id(&workshop),
            Some("01.1"),
            "after the last, back to the first left"
        );
    }

    #[test]
    fn catch_up_takes_one_exercise_or_a_whole_chapter() {
        let root = scratch("catch-up");
        let mut workshop = fresh(&root);
        let starter_of_03_2 = learner_region(&workshop, "03.2");
        workshop.catch_up("03.1").unwrap();
        let token = workshop.find("03.1").unwrap().clone();
        assert_eq!(
            learner_region(&workshop, "03.1"),
            reference_region(&root, &token).unwrap()
        );
        assert_eq!(
            learner_region(&workshop, "03.2"),
            starter_of_03_2,
            "03.2 is left alone"
        );
        assert!(workshop.progress.caught_up.contains("03.1-token"));
        assert!(!workshop.progress.done("03.2-header-injection"));
        assert_eq!(next_id(&workshop), Some("03.2"));

        workshop.catch_up("03").unwrap();
        for id in ["03.2", "03.3", "03.4"] {
            let exercise = workshop.find(id).unwrap().clone();
            assert_eq!(
                learner_region(&workshop, id),
                reference_region(&root, &exercise).unwrap()
            );
            assert!(workshop.progress.caught_up.contains(&exercise.id));
        }
        assert_eq!(next_id(&workshop), Some("04.1"));
        assert!(workshop.catch_up("3.9").is_err() && workshop.catch_up("x").is_err());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_panic_in_another_exercises_region_names_that_exercise() {
        let root = scratch("blocking");
        let workshop = fresh(&root);
        let token = workshop.find("03.1").unwrap();
        let file = workshop.learner_file(token);
        let text = fs::read_to_string(root.join(&file)).unwrap();
        let todo_line = text
            .lines()
            .position(|l| l.contains("todo!(\"exercise 03.1"))
            .unwrap()
            + 1;
        let output = format!(
            "---- headers::tests::header_injection_is_refused stdout ----\n\
             thread 'headers::tests::header_injection_is_refused' (7) panicked at {}:{todo_line}:5:\n\
             not yet implemented: exercise 03.1\n",
            file.display()
        );
        let injection = workshop.find("03.2").unwrap();
        let blocking = workshop.blocking(injection, &output);
        assert_eq!(
            blocking.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["03.1-token"]
        );
        assert_eq!(
            needs(injection, blocking[0]),
            "03.2 needs 03.1: solve it first or `cargo run -p workshop -- catch-up 03.1`"
        );
        // 03.1's own todo!() is what 03.1 has to do, not a dependency.
        assert!(workshop.blocking(token, &output).is_empty());
        // A panic outside any region blames nobody.
        let elsewhere = output.replace(&format!(":{todo_line}:"), ":1:");
        assert!(workshop.blocking(injection, &elsewhere).is_empty());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn reset_puts_back_the_starter_as_the_chapter_was_generated() {
        let root = scratch("reset");
        let mut workshop = fresh(&root);
        let generated = learner_region(&workshop, "03.2");
        workshop.catch_up("03.2").unwrap();
        assert_ne!(learner_region(&workshop, "03.2"), generated);
        workshop.reset("03.2").unwrap();
        assert_eq!(learner_region(&workshop, "03.2"), generated);
        assert!(!workshop.progress.done("03.2-header-injection"));
        assert_eq!(next_id(&workshop), Some("03.2"));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn every_starter_resets_to_its_generated_lines() {
        let workshop = fresh(&repository());
        for chapter in CHAPTERS {
            let files = chapter_files(&workshop.root, chapter, &|_| true).unwrap();
            for exercise in workshop
                .exercises
                .iter()
                .filter(|e| e.chapter() == chapter.number)
            {
                let generated = String::from_utf8(files[&workshop.learner_file(exercise)].clone());
                assert_eq!(
                    formatted_starter(&workshop.root, exercise).unwrap(),
                    region_text(&generated.unwrap(), &exercise.anchor()).unwrap(),
                    "{}",
                    exercise.id
                );
            }
        }
    }

    #[test]
    fn every_exercise_names_a_section_the_book_has() {
        let workshop = fresh(&repository());
        for exercise in &workshop.exercises {
            let section = Section::find(&workshop.root, &exercise.book);
            assert!(
                section.title.is_some(),
                "{}: no heading {} in {}",
                exercise.id,
                exercise.book,
                section.file
            );
            let described = section.describe();
            assert!(described.contains(&section.file), "{described}");
        }
    }
}
