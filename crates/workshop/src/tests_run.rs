//! Running an exercise's tests, through cargo (or Python's unittest, for
//! the middleware chapter), and reading the result.

use std::path::Path;
use std::process::Command;

use crate::chapter::{Chapter, Language};
use crate::exercise::Exercise;

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
    if chapter.language == Language::Python {
        return run_unittest(root, chapter, &exercise.tests);
    }
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

/// `python3 -m unittest FILTERS` in the chapter's folder; a filter is a
/// test's dotted name (`tests.test_app.RoutingTest`, or one method of it).
fn run_unittest(root: &Path, chapter: Chapter, filters: &[String]) -> TestRun {
    let output = Command::new("python3")
        .current_dir(root.join(chapter.dir()))
        .args(["-m", "unittest"])
        .args(filters)
        // No __pycache__ beside the learner's files.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output();
    match output {
        Ok(output) => summarize_unittest(&format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )),
        Err(e) => TestRun {
            compiled: false,
            passed: 0,
            failed: 0,
            output: format!("cannot run python3: {e}"),
        },
    }
}

/// Reads unittest's summary: `Ran 3 tests`, then `OK` or `FAILED
/// (failures=1, errors=1)`. A test module that cannot even be imported
/// (a syntax error in the learner's file) is an error of its own, as it
/// would be for Python; it counts as not compiled.
pub fn summarize_unittest(output: &str) -> TestRun {
    let ran = output
        .lines()
        .find_map(|l| {
            l.strip_prefix("Ran ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0usize);
    let count = |word: &str| -> usize {
        output
            .lines()
            .filter(|l| l.starts_with("FAILED ("))
            .flat_map(|l| {
                l.trim_start_matches("FAILED (")
                    .trim_end_matches(')')
                    .split(", ")
            })
            .filter_map(|part| {
                part.strip_prefix(word)?
                    .strip_prefix('=')?
                    .parse::<usize>()
                    .ok()
            })
            .sum()
    };
    let failed = count("failures") + count("errors");
    let compiled =
        !output.contains("SyntaxError") && !output.contains("Failed to import test module");
    TestRun {
        compiled,
        passed: ran.saturating_sub(failed),
        failed,
        output: output.to_string(),
    }
}

/// unittest's report of each failed test: from its `FAIL:` or `ERROR:`
/// banner to the end of its traceback.
pub fn unittest_failures(output: &str) -> String {
    let mut shown = String::new();
    let mut inside = false;
    for line in output.lines() {
        if line.starts_with("FAIL: ") || line.starts_with("ERROR: ") {
            inside = true;
        } else if line.starts_with("Ran ") {
            inside = false;
        }
        if inside && !line.chars().all(|c| c == '-' || c == '=') {
            shown.push_str(line);
            shown.push('\n');
        }
    }
    shown
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
    fn reads_unittests_summary_and_failures() {
        let output = "..F\n======================================================================\n\
                      FAIL: test_a (tests.test_x.T.test_a)\n\
                      ----------------------------------------------------------------------\n\
                      Traceback (most recent call last):\n  File \"tests/test_x.py\", line 9\n\
                      AssertionError: 404 != 405\n\n\
                      ----------------------------------------------------------------------\n\
                      Ran 4 tests in 0.001s\n\nFAILED (failures=1, errors=1)\n";
        let run = summarize_unittest(output);
        assert_eq!((run.compiled, run.passed, run.failed), (true, 2, 2));
        let shown = unittest_failures(output);
        assert!(shown.starts_with("FAIL: test_a"), "{shown}");
        assert!(shown.contains("AssertionError: 404 != 405"), "{shown}");
        assert!(!shown.contains("Ran 4"), "{shown}");
        let passing = summarize_unittest("..\n----\nRan 2 tests in 0.0s\n\nOK\n");
        assert!(passing.succeeded());
        let broken = "ERROR: test_x (unittest.loader._FailedTest.test_x)\nImportError: Failed to import test module: test_x\n  SyntaxError: invalid syntax\nRan 1 test in 0.0s\n\nFAILED (errors=1)\n";
        assert!(!summarize_unittest(broken).compiled);
    }

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
