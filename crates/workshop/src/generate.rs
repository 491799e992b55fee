//! Writing `chapters/NN-slug/`: a copy of each stage crate in which every
//! exercise region holds its starter, with the stage's own tests retargeted
//! at it. The middleware chapter's exercises are in Python: its folder is a
//! copy of `framework/`, checked with `python3 -m unittest`.
//!
//! The copied tests are retargeted at the chapter crate (`stage_01::` becomes
//! `ch01::`), so they run against the learner's code. Its tests and
//! unit tests only exist with the `exercises` feature, which only the
//! runner turns on: `cargo test --workspace` stays green while a learner's
//! exercises are unsolved.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::anchors;
use crate::chapter::{Chapter, Language};
use crate::exercise::{
    Exercise, ExerciseError, exercise_files, parse, region_text, replace_region,
};

/// Test files a chapter crate leaves out: those that drive a stage's
/// binary (a chapter crate has none: `files.rs` serves Flask and Django
/// through it), and stage-06's test of the Python framework, which belongs
/// to the middleware chapter, not to chapters 6 and 8 (both copies of
/// stage-06).
const LEFT_OUT_TESTS: [&str; 8] = [
    "tests/cli.rs",
    "tests/echo.rs",
    "tests/concurrency.rs",
    "tests/workers.rs",
    "tests/files.rs",
    "tests/framework.rs",
    "tests/proxy.rs",
    "tests/logs.rs",
];

/// Every exercise of the workshop, in chapter and id order: the exercise
/// files, each with the stage source that holds its region. Refuses
/// anchors out of place (see [`anchors`]): a region
/// carved from the wrong lines would make a wrong exercise.
pub fn all_exercises(root: &Path) -> Result<Vec<Exercise>, ExerciseError> {
    let (anchors, problems) = anchors::check(root).map_err(ExerciseError)?;
    if !problems.is_empty() {
        return Err(ExerciseError(format!(
            "anchors out of place in the stage sources:\n{}",
            problems.join("\n")
        )));
    }
    let mut all = Vec::new();
    for (id, text) in exercise_files(root)? {
        let anchor = format!("ex-{id}");
        let file = anchors
            .iter()
            .find(|a| a.name == anchor)
            .map(|a| a.file.clone())
            .unwrap_or_default(); // not reached: the check found every region
        all.push(parse(&id, &text, &file)?);
    }
    all.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(all)
}

/// Which exercises of a chapter hold their starter; the others hold the
/// reference.
pub type Starters<'a> = &'a dyn Fn(&Exercise) -> bool;

/// Every generated file of `chapter`, path (relative to the root) and
/// contents, with the regions chosen by `starter`.
pub fn chapter_files(
    root: &Path,
    chapter: Chapter,
    starter: Starters<'_>,
) -> Result<BTreeMap<PathBuf, Vec<u8>>, ExerciseError> {
    let mut files = BTreeMap::new();
    let stage = root.join(chapter.stage_dir);
    let exercises: Vec<Exercise> = all_exercises(root)?
        .into_iter()
        .filter(|e| e.chapter() == chapter.number)
        .collect();
    for file in source_files(root, chapter)? {
        let source_path = format!("{}/{file}", chapter.stage_dir);
        let target = chapter.dir().join(&file);
        let bytes = fs::read(stage.join(&file))
            .map_err(|e| ExerciseError(format!("{source_path}: {e}")))?;
        if file.ends_with(".py") {
            let mut text = String::from_utf8(bytes)
                .map_err(|e| ExerciseError(format!("{source_path}: {e}")))?;
            for exercise in exercises.iter().filter(|e| e.file == source_path) {
                if starter(exercise) {
                    text = replace_region(&text, &exercise.anchor(), &exercise.starter)?;
                }
            }
            files.insert(target, python_copy(&source_path, &text).into_bytes());
            continue;
        }
        if !file.ends_with(".rs") {
            files.insert(target, bytes); // snapshots and included data, as they are
            continue;
        }
        let mut text =
            String::from_utf8(bytes).map_err(|e| ExerciseError(format!("{source_path}: {e}")))?;
        for exercise in exercises.iter().filter(|e| e.file == source_path) {
            if starter(exercise) {
                text = replace_region(&text, &exercise.anchor(), &exercise.starter)?;
            }
        }
        let text = learner_copy(
            &source_path,
            &file,
            &text,
            &chapter.stage_lib(),
            chapter.package,
        );
        files.insert(
            target,
            rustfmt(&text)
                .map_err(|e| ExerciseError(format!("{source_path}: {e}")))?
                .into_bytes(),
        );
    }
    if chapter.language == Language::Rust {
        let manifest = read(&stage.join("Cargo.toml"))?;
        files.insert(
            chapter.dir().join("Cargo.toml"),
            chapter_manifest(chapter, &manifest).into_bytes(),
        );
    }
    files.insert(
        chapter.dir().join("EXERCISES.md"),
        exercise_table(chapter, &exercises).into_bytes(),
    );
    Ok(files)
}

/// The chapter's exercises as a Markdown table, which the book includes at
/// the end of the chapter.
fn exercise_table(chapter: Chapter, exercises: &[Exercise]) -> String {
    let mut table =
        String::from("| Exercise | Kind | File to edit | Check |\n| --- | --- | --- | --- |\n");
    for exercise in exercises {
        let file = exercise
            .file
            .split_once(chapter.stage_dir)
            .map_or("", |(_, f)| f.trim_start_matches('/'));
        let number = exercise.id.split('-').next().unwrap_or(&exercise.id);
        table.push_str(&format!(
            "| `{}`: {} | {} | `chapters/{}/{file}` | `cargo run -p workshop -- check {number}` |\n",
            exercise.id, exercise.title, exercise.kind, chapter.slug
        ));
    }
    table
}

/// A learner's copy of a Python file: a comment that says where it comes
/// from, above the code (a comment before a module's docstring leaves it
/// the docstring).
fn python_copy(source_path: &str, text: &str) -> String {
    format!(
        "# Generated by `cargo run -p workshop -- generate` from {source_path}.\n\
         # Solve the exercises here. To change one, edit its reference in that file, or its text\n\
         # and starter in crates/workshop/exercises/.\n{text}"
    )
}

/// The header and gates of a learner's copy of one source file.
fn learner_copy(
    source_path: &str,
    file: &str,
    text: &str,
    lib_name: &str,
    package: &str,
) -> String {
    let header = format!(
        "// Generated by `cargo run -p workshop -- generate` from {source_path}.\n\
         // Solve the exercises here. To change one, edit its reference in that file, or its text\n\
         // and starter in crates/workshop/exercises/.\n"
    );
    let mut body = text.replace("#[cfg(test)]", "#[cfg(all(test, feature = \"exercises\"))]");
    if file == "src/lib.rs" {
        // Starters leave parameters and helpers unused until solved.
        body = format!("#![allow(unused, clippy::all)]\n{body}");
    } else if file.starts_with("tests/") && !file.contains("/common/") {
        body = format!("#![cfg(feature = \"exercises\")]\n{body}");
    }
    if file.starts_with("tests/") {
        body = retarget(&body, lib_name, package);
    }
    format!("{header}{body}")
}

/// The stage's manifest, as the chapter crate's: its own package name, the
/// `exercises` feature, no binary, no benches.
fn chapter_manifest(chapter: Chapter, manifest: &str) -> String {
    let mut out = format!(
        "# Generated by `cargo run -p workshop -- generate` from {}/Cargo.toml.\n\
         # Change the stage crate instead; this file is regenerated.\n",
        chapter.stage_dir
    );
    let mut skipping = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            skipping = line == "[[bench]]" || line == "[lints]";
        }
        if skipping {
            continue;
        }
        if line.starts_with("name = ") && !out.contains("\nname = ") {
            out.push_str(&format!("name = \"{}\"\n", chapter.package));
        } else if line.starts_with("description = ") {
            out.push_str(&format!(
                "description = \"Workshop chapter {}: {}.\"\n",
                chapter.number, chapter.title
            ));
            out.push_str("autobins = false\nautobenches = false\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    let out = out.trim_end().to_string();
    format!(
        "{out}\n\n[features]\n# The exercises' tests exist only with this feature, which the runner turns on.\nexercises = []\n"
    )
}

/// The stage's tests, retargeted at the chapter crate: `stage_01::x`
/// becomes `ch01::x`. (Same names for both would collide in `target/`.)
fn retarget(text: &str, lib_name: &str, package: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(lib_name) {
        let before_ok = !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let after = &rest[at + lib_name.len()..];
        let after_ok = !after.starts_with(|c: char| c.is_alphanumeric() || c == '_');
        out.push_str(&rest[..at]);
        out.push_str(if before_ok && after_ok {
            package
        } else {
            lib_name
        });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The files of a stage crate a chapter copies: its library sources, its
/// build script, and the tests that drive the library (with their
/// snapshots and helpers), relative to the stage directory.
pub fn source_files(root: &Path, chapter: Chapter) -> Result<Vec<String>, ExerciseError> {
    let stage = root.join(chapter.stage_dir);
    let mut files = Vec::new();
    walk(&stage, &stage, &mut files)
        .map_err(|e| ExerciseError(format!("{}: {e}", chapter.stage_dir)))?;
    if chapter.language == Language::Python {
        // The package, the app and the tests; not the caches Python writes.
        files.retain(|f| f.ends_with(".py") && !f.contains("__pycache__"));
        files.sort();
        return Ok(files);
    }
    let through_binary = tests_through_the_binary(&stage, &files);
    files.retain(|f| {
        // Sources, and what they include (the demo app's Python).
        let library = f.starts_with("src/") && f != "src/main.rs";
        let tests = f.starts_with("tests/")
            && (f.ends_with(".rs") || f.ends_with(".snap"))
            && !LEFT_OUT_TESTS.contains(&f.as_str())
            && !through_binary.contains(f)
            && !f.starts_with("tests/snapshots/framework__");
        library || tests || f == "build.rs"
    });
    files.sort();
    Ok(files)
}

/// The test files (and their snapshots) that start the stage's binary,
/// by its name or through a shared `tests/common` module that names it
/// (stage-07's tests all do it that way). A chapter crate has no binary,
/// so they are left out, like [`LEFT_OUT_TESTS`].
fn tests_through_the_binary(stage: &Path, files: &[String]) -> Vec<String> {
    let names_the_binary = |text: &str| text.contains("CARGO_BIN_EXE_");
    let common = fs::read_to_string(stage.join("tests/common/mod.rs")).unwrap_or_default();
    let common_does = names_the_binary(&common);
    let mut left_out = Vec::new();
    if common_does {
        left_out.push("tests/common/mod.rs".to_string());
    }
    for file in files
        .iter()
        .filter(|f| f.starts_with("tests/") && f.ends_with(".rs"))
    {
        let text = fs::read_to_string(stage.join(file)).unwrap_or_default();
        let uses_common = text.lines().any(|line| line.trim() == "mod common;");
        if names_the_binary(&text) || (common_does && uses_common) {
            left_out.push(file.clone());
            let name = file.trim_start_matches("tests/").trim_end_matches(".rs");
            let prefix = format!("tests/snapshots/{name}__");
            left_out.extend(files.iter().filter(|f| f.starts_with(&prefix)).cloned());
        }
    }
    left_out
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(base, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(base) {
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, ExerciseError> {
    fs::read_to_string(path).map_err(|e| ExerciseError(format!("{}: {e}", path.display())))
}

/// Formats Rust source with rustfmt, so that generated files are stable
/// and pass `cargo fmt --check`.
fn rustfmt(text: &str) -> Result<String, String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(text.as_bytes()))
        .transpose()
        .map_err(|e| e.to_string())?;
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "rustfmt failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| e.to_string())
}

/// The reference text of an exercise's region.
pub fn reference_region(root: &Path, exercise: &Exercise) -> Result<String, ExerciseError> {
    region_text(&read(&root.join(&exercise.file))?, &exercise.anchor())
}

/// The starter of an exercise's region as `generate` writes it in the
/// learner's copy: put in the stage source, then formatted with the whole
/// file, so that `reset` gives back the very lines the learner started
/// from (an exercise file may hold a starter on fewer, longer lines).
pub fn formatted_starter(root: &Path, exercise: &Exercise) -> Result<String, ExerciseError> {
    let source = read(&root.join(&exercise.file))?;
    let with_starter = replace_region(&source, &exercise.anchor(), &exercise.starter)?;
    if !exercise.file.ends_with(".rs") {
        return region_text(&with_starter, &exercise.anchor()); // copied as it is
    }
    let formatted =
        rustfmt(&with_starter).map_err(|e| ExerciseError(format!("{}: {e}", exercise.file)))?;
    region_text(&formatted, &exercise.anchor())
}

/// Rust and snapshot files in a Rust chapter's `src/` and `tests/` that its
/// stage no longer gives it (removed from the stage, or left out since):
/// a leftover test would still be compiled, and fail, in the chapter.
pub fn leftover_files(
    root: &Path,
    chapter: Chapter,
    files: &BTreeMap<PathBuf, Vec<u8>>,
) -> Vec<PathBuf> {
    if chapter.language != Language::Rust {
        return Vec::new();
    }
    let dir = root.join(chapter.dir());
    let mut found = Vec::new();
    for sub in ["src", "tests"] {
        let _ = walk(&dir, &dir.join(sub), &mut found);
    }
    found
        .into_iter()
        .filter(|file| file.ends_with(".rs") || file.ends_with(".snap"))
        .map(|file| chapter.dir().join(file))
        .filter(|path| !files.contains_key(path))
        .collect()
}

/// Writes `files` under `root`, creating directories; returns how many
/// files changed.
pub fn write_files(root: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> std::io::Result<usize> {
    let mut changed = 0;
    for (path, contents) in files {
        let path = root.join(path);
        if fs::read(&path).ok().as_deref() == Some(contents.as_slice()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, contents)?;
        changed += 1;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::retarget;

    #[test]
    fn retargets_only_the_stage_name_itself() {
        let text =
            "use stage_05::server;\nuse stage_04::Outcome;\nlet x = stage_05_fuzz; // stage_05\n";
        assert_eq!(
            retarget(text, "stage_05", "ch05"),
            "use ch05::server;\nuse stage_04::Outcome;\nlet x = stage_05_fuzz; // ch05\n"
        );
    }
}
