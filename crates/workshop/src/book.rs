//! Where in the book an exercise sends the learner, said so that they can
//! open it: the Markdown file and the section's title, and the page and
//! fragment `mdbook serve` shows it at. (An exercise file names the section
//! as `page.html#id`, the form mdBook links take.)

use std::fs;
use std::path::Path;

/// Where `mdbook serve book` serves the book by default.
const SERVED_AT: &str = "http://localhost:3000";

/// A section of the book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The chapter's source, relative to the root: `book/src/ch03-….md`.
    pub file: String,
    /// The heading's text, if the page has a heading with that id.
    pub title: Option<String>,
    /// The rendered page and fragment: `ch03-….html#header-injection`.
    pub link: String,
}

impl Section {
    /// Finds the section `book` (`page.html#id`) in the book's sources.
    pub fn find(root: &Path, book: &str) -> Section {
        let (page, id) = book.split_once('#').unwrap_or((book, ""));
        let file = format!("book/src/{}", page.replace(".html", ".md"));
        let text = fs::read_to_string(root.join(&file)).unwrap_or_default();
        let title = headings(&text).find(|heading| heading_id(heading) == id);
        Section {
            file,
            title,
            link: book.to_string(),
        }
    }

    /// One line: the section's title and file, and its address when served.
    pub fn describe(&self) -> String {
        let title = self.title.as_deref().unwrap_or("(a section)");
        format!(
            "\"{title}\" in {} (with `mdbook serve book`: {SERVED_AT}/{})",
            self.file, self.link
        )
    }
}

/// The text of each Markdown heading of `text`, outside code blocks.
fn headings(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut in_code = false;
    text.lines().filter_map(move |line| {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        let heading = line.trim_start_matches('#');
        let is_heading = !in_code && line.starts_with('#') && heading.starts_with(' ');
        is_heading.then(|| heading.trim().to_string())
    })
}

/// The id mdBook gives a heading: lower case, spaces as `-`, and only
/// letters, digits, `-` and `_` kept.
fn heading_id(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            c if c.is_whitespace() => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_as_mdbook_makes_them() {
        assert_eq!(
            heading_id("`start_response` records; it does not send"),
            "start_response-records-it-does-not-send"
        );
        assert_eq!(
            heading_id("Latin-1, and why not UTF-8"),
            "latin-1-and-why-not-utf-8"
        );
    }

    #[test]
    fn headings_in_code_blocks_do_not_count() {
        let text = "# Title\n\n```python\n# a comment\n```\n## Part two\n#[attr]\n";
        assert_eq!(headings(text).collect::<Vec<_>>(), ["Title", "Part two"]);
    }
}
