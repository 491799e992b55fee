//! The anchors of the stage sources are sound: the book includes their
//! regions and the workshop carves its exercises out of them, and neither
//! mdBook nor the workshop complains about a marker out of place (see
//! `workshop::anchors`).

use std::path::PathBuf;

use workshop::anchors::check;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_anchor_is_balanced_unique_and_encloses_whole_items() {
    let (anchors, problems) = check(&root()).unwrap();
    assert!(
        problems.is_empty(),
        "anchors out of place:\n{}",
        problems.join("\n")
    );
    assert!(
        anchors.iter().any(|a| a.name.starts_with("ex-")),
        "the walk found no exercise region at all"
    );
}
