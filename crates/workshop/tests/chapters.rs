//! The committed chapters are what the stage sources and the exercise
//! files generate, and the workshop has the exercises the syllabus asks
//! for. (That each starter
//! fails and each exercise can be solved is `workshop verify`'s job, in CI:
//! it runs the learners' tests, which `cargo test --workspace` does not.)

use std::path::PathBuf;

use workshop::chapter::CHAPTERS;
use workshop::generate::all_exercises;
use workshop::verify::stale_files;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_committed_chapters_are_up_to_date() {
    let stale = stale_files(&root()).unwrap();
    assert!(
        stale.is_empty(),
        "run `cargo run -p workshop -- generate`; stale: {stale:?}"
    );
}

#[test]
fn at_least_twenty_seven_exercises_and_three_per_chapter() {
    let exercises = all_exercises(&root()).unwrap();
    assert!(exercises.len() >= 27, "{} exercises", exercises.len());
    for chapter in CHAPTERS {
        let count = exercises
            .iter()
            .filter(|e| e.chapter() == chapter.number)
            .count();
        assert!(
            count >= 3,
            "chapter {} has {count} exercises",
            chapter.number
        );
    }
    let mut ids: Vec<&str> = exercises.iter().map(|e| e.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), exercises.len(), "exercise ids are unique");
    assert!(
        exercises.iter().any(|e| e.kind == "implement")
            && exercises.iter().any(|e| e.kind == "fix the bug")
    );
}
