//! The book's preprocessor for `{{#listing PATH:ANCHOR}}` (see
//! [`workshop::listings`]); `book/book.toml` runs it on `mdbook build`.
//!
//! mdBook's protocol: it first asks `book-listings supports RENDERER`
//! (exit 0: yes), then writes `[context, book]` as JSON to our stdin and
//! reads the book back from our stdout. Only the chapters' `content` is
//! rewritten; everything else goes back as it came.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;
use workshop::generate::all_exercises;
use workshop::listings::{Page, render_page};

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("supports") {
        return ExitCode::SUCCESS; // every renderer: the output is Markdown
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("book-listings: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("reading mdBook's input: {e}"))?;
    let input: Value = serde_json::from_str(&input).map_err(|e| format!("mdBook's input: {e}"))?;
    let [context, mut book] = <[Value; 2]>::try_from(match input {
        Value::Array(pair) => pair,
        _ => Vec::new(),
    })
    .map_err(|_| "mdBook's input is not [context, book]".to_string())?;
    let book_root = PathBuf::from(context["root"].as_str().unwrap_or("."));
    let src = context["config"]["book"]["src"].as_str().unwrap_or("src");
    let book_src = book_root.join(src);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let exercises = all_exercises(&root).map_err(|e| e.to_string())?;
    rewrite_chapters(&mut book, &mut |page, content| {
        render_page(&root, &book_src, page, content, &exercises)
    })?;
    serde_json::to_writer(std::io::stdout(), &book).map_err(|e| e.to_string())
}

/// Calls `render` on every chapter's content, wherever it sits in the
/// book's tree (parts, sub-chapters), and stores what it returns.
fn rewrite_chapters(
    value: &mut Value,
    render: &mut dyn FnMut(Page<'_>, &str) -> Result<String, String>,
) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(chapter)) = map.get_mut("Chapter") {
                let page = chapter
                    .get("source_path")
                    .or_else(|| chapter.get("path"))
                    .and_then(Value::as_str)
                    .map(|p| Path::new(p).to_string_lossy().into_owned());
                // Its number in the table of contents: `[7]` for chapter 7.
                let number = chapter
                    .get("number")
                    .and_then(Value::as_array)
                    .and_then(|parts| parts.first())
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok());
                if let (Some(path), Some(Value::String(content))) = (page, chapter.get("content")) {
                    let rendered = render(
                        Page {
                            path: &path,
                            number,
                        },
                        content,
                    )?;
                    chapter.insert("content".into(), Value::String(rendered));
                }
            }
            for child in map.values_mut() {
                rewrite_chapters(child, render)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_chapters(item, render)?;
            }
        }
        _ => {}
    }
    Ok(())
}
