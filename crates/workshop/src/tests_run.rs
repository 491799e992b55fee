//! Running an exercise's tests through cargo, and reading the result.

use std::path::Path;
use std::process::Command;

use crate::exercise::Exercise;
use crate::generate::Chapter;

/// What one `cargo test` run of an exercise found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRun {
    /// Whether everything compiled.
    pub compiled: bool,
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Everything cargo and the tests printed.
    pub output: String,
}

impl TestRun {
    /// Compiled, ran at least one test, and none failed.
    pub fn succeeded(&self) -> bool {
        self.compiled && self.passed > 0 && self.failed == 0
    }
}

/// How insta treats snapshots that do not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snapshots {
    /// Write the new value beside the old (`.snap.new`), for the learner's diff.
    WriteNew,
    /// Write nothing (verification, CI).
    Never,
}

/// Runs the tests of `exercise` in its chapter crate.
pub fn run_tests(root: &Path, exercise: &Exercise, snapshots: Snapshots) -> TestRun {
    let Some(chapter) = Chapter::find(exercise.chapter()) else {
        return TestRun {
            compiled: false,
            passed: 0,
            failed: 0,
            output: format!("no chapter for {}", exercise.id),
        };
    };
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(root)
        .args(cargo_test_args(chapter.package, &exercise.tests))
        .env_remove("INSTA_FORCE_PASS")
        .env(
            "INSTA_UPDATE",
            if snapshots == Snapshots::WriteNew {
                "new"
            } else {
                "no"
            },
        )
        .env("RUST_BACKTRACE", "0");
    match command.output() {
        Ok(output) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            summarize(&text)
        }
        Err(e) => TestRun {
            compiled: false,
            passed: 0,
            failed: 0,
            output: format!("cannot run cargo: {e}"),
        },
    }
}

/// `cargo test`'s arguments for the tests named by `filters` in `package`.
fn cargo_test_args(package: &str, filters: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "test",
        "--quiet",
        // Every test binary runs even when one fails, so that a failed
        // check counts the same tests as a passing one.
        "--no-fail-fast",
        "-p",
        package,
        "--features",
        "exercises",
        "--",
    ]
    .map(String::from)
    .into();
    args.extend(filters.iter().cloned());
    args
}

/// Adds up the `test result:` lines of every test binary.
pub fn summarize(output: &str) -> TestRun {
    let compiled = !output.contains("could not compile") && !output.contains("error[E");
    let (mut passed, mut failed) = (0, 0);
    for line in output.lines().filter(|l| l.starts_with("test result:")) {
        let count = |word: &str| {
            line.split(';')
                .find_map(|part| {
                    part.trim()
                        .trim_start_matches("test result: ok.")
                        .trim_start_matches("test result: FAILED.")
                        .trim()
                        .strip_suffix(word)
                })
                .and_then(|n| n.trim().parse::<usize>().ok())
                .unwrap_or(0)
        };
        passed += count("passed");
        failed += count("failed");
    }
    TestRun {
        compiled,
        passed,
        failed,
        output: output.to_string(),
    }
}

/// The panic messages of the failed tests, without the noise around them.
pub fn failures(output: &str) -> String {
    let mut shown = String::new();
    let mut inside = false;
    for line in output.lines() {
        if line.starts_with("---- ") {
            inside = true;
        } else if line == "failures:" || line.starts_with("test result:") {
            inside = false;
        }
        // insta's advice to accept the new snapshot is for maintainers: a
        // learner fixes the code, not the expected bytes.
        let advice = [
            "note: run with",
            "To update snapshots",
            "Stopped on the first failure",
        ];
        if inside && !advice.iter().any(|a| line.starts_with(a)) {
            shown.push_str(line);
            shown.push('\n');
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_up_every_binary() {
        let output = "running 2 tests\ntest result: ok. 2 passed; 0 failed; 0 ignored\n\
                      test result: FAILED. 1 passed; 3 failed; 0 ignored\ntest result: ok. 0 passed; 0 failed\n";
        let run = summarize(output);
        assert_eq!((run.compiled, run.passed, run.failed), (true, 3, 3));
        assert!(!run.succeeded());
        assert!(!summarize("error[E0308]: mismatched types\n").compiled);
        assert!(
            !summarize("test result: ok. 0 passed; 0 failed\n").succeeded(),
            "no test ran"
        );
    }

    #[test]
    fn a_failing_binary_does_not_stop_the_others() {
        // Without --no-fail-fast, cargo stops at the first test binary that
        // fails: a check would count 1 of 1 test failing, then 2 passing.
        let args = cargo_test_args("ch03", &["a".into(), "b".into()]);
        assert!(args.contains(&"--no-fail-fast".to_string()), "{args:?}");
        assert_eq!(args[args.len() - 3..], ["--", "a", "b"]);
    }

    #[test]
    fn keeps_only_the_failure_messages() {
        let output = "test a ... FAILED\n\nfailures:\n\n---- a stdout ----\nthread 'a' panicked at x.rs:1:1:\nboom\n\
                      note: run with `RUST_BACKTRACE=1`\n\nfailures:\n    a\n\ntest result: FAILED. 0 passed; 1 failed\n";
        assert_eq!(
            failures(output),
            "---- a stdout ----\nthread 'a' panicked at x.rs:1:1:\nboom\n\n"
        );
    }
}
