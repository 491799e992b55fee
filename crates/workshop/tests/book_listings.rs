//! Every page of the book renders its listings: each names an anchor that
//! exists, shows its own stage's code, and is short enough to hold. The
//! book's build runs the same code (`book-listings`); this test catches a
//! broken listing in `cargo test`, without mdBook.

use std::fs;
use std::path::PathBuf;

use workshop::generate::all_exercises;
use workshop::listings::{Page, render_page};

#[test]
fn every_page_of_the_book_renders_its_listings() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let book_src = root.join("book/src");
    let exercises = all_exercises(&root).unwrap();
    let mut listings = 0;
    let mut problems = Vec::new();
    for entry in fs::read_dir(&book_src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let page = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(&path).unwrap();
        let page = Page {
            path: &page,
            number: None,
        };
        match render_page(&root, &book_src, page, &text, &exercises) {
            Ok(out) => listings += out.matches("class=\"listing-caption\"").count(),
            Err(e) => problems.push(e),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        listings > 50,
        "only {listings} listings found: is the book there?"
    );
}
