//! The README's promises: two commands, kept in step with CI and the crates.

use std::fs;
use std::path::Path;

fn root_file(name: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)).unwrap()
}

/// The command lines of the `sh` blocks in the README's "Start here".
fn start_here_commands() -> Vec<String> {
    let readme = root_file("README.md");
    let section = readme
        .split("## Start here")
        .nth(1)
        .expect("a Start here section");
    let section = section.split("\n## ").next().unwrap();
    section
        .split("```sh\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .flat_map(|block| block.lines().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

#[test]
fn the_readme_gives_exactly_two_commands() {
    let commands = start_here_commands();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(
        commands[0].starts_with("cargo run -p stage-"),
        "{commands:?}"
    );
    assert!(
        commands[1].contains("cargo test --workspace"),
        "{commands:?}"
    );
}

#[test]
fn ci_runs_the_readmes_test_command() {
    let test_command = &start_here_commands()[1];
    let ci = root_file(".ci/run");
    assert!(
        ci.lines().any(|line| line.trim() == test_command),
        "{test_command:?} is not in .ci/run"
    );
}

#[test]
fn every_stage_crate_is_in_the_readme_table() {
    let readme = root_file("README.md");
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    for entry in fs::read_dir(crates).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(number) = name.strip_prefix("stage-").and_then(|rest| rest.get(..2)) {
            let row = format!("| `stage-{number}` |");
            assert!(
                readme.contains(&row),
                "the README's stage table has no row for {name}"
            );
        }
    }
}
