//! Checks on the book as a reader gets it: the HTML `mdbook build` writes,
//! and the Markdown it comes from. A listing that swallows the prose after
//! it, or a link to nowhere, still builds without a warning; these checks
//! catch what the build lets through.
//!
//! - no literal code fence and no unexpanded `{{#...}}` directive in a page;
//! - no include inside a list item (its lines are not indented with the
//!   item, so the item, the fence and what follows come apart);
//! - no empty code block;
//! - every relative link leads to a page that exists, and every `#anchor`
//!   to an element with that id;
//! - every relative `src` (an image, a script) names a file of the built
//!   book;
//! - no element in a page's content has a class named after a theme
//!   (`light`, `rust`, `coal`, `navy`, `ayu`): mdBook's theme stylesheet
//!   sets its colour variables on whatever has that class, so a diagram's
//!   box of class `rust` would wear the Rust theme's colours in every theme;
//! - no answer to a workshop exercise in the visible text: the answers
//!   are folded in `<details>` blocks ([`answers_in_view`]).
//!
//! `cargo run -p workshop --bin check-book -- book` runs them after
//! `mdbook build book` (`.ci/run` does); it lives with the workshop, which
//! knows the exercises.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

/// One problem found, with where it is.
pub type Problem = String;

/// An exercise's answer: its id, and the lines of its reference code that
/// would give it away.
pub type Answer = (String, Vec<String>);

/// Every problem in the book at `book_dir` (its `src/` and built `book/`).
pub fn check_book(book_dir: &Path, answers: &[Answer]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let sources = book_dir.join("src");
    for (name, text) in files_with_extension(&sources, "md") {
        problems.extend(
            includes_in_list_items(&text)
                .into_iter()
                .map(|line| format!("src/{name}:{line}: an include inside a list item")),
        );
    }
    let pages: HashMap<String, String> = files_with_extension(&book_dir.join("book"), "html")
        .into_iter()
        .collect();
    if pages.is_empty() {
        problems.push("no HTML pages: run `mdbook build` first".into());
    }
    for (name, html) in &pages {
        problems.extend(check_page(name, html, &pages));
        problems.extend(answers_in_view(name, html, answers));
        problems.extend(missing_sources(name, html, &book_dir.join("book")));
    }
    problems.sort();
    problems
}

/// The problems of one rendered page; `pages` are all pages by file name,
/// to resolve links.
pub fn check_page(name: &str, html: &str, pages: &HashMap<String, String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let text = without_code(html);
    for needle in ["```", "{{#"] {
        if text.contains(needle) {
            problems.push(format!("{name}: a literal {needle} in the text"));
        }
    }
    if empty_code_blocks(html) > 0 {
        problems.push(format!("{name}: an empty code block"));
    }
    for link in attribute_values(html, "href") {
        if let Some(problem) = broken_link(name, &link, html, pages) {
            problems.push(problem);
        }
    }
    for theme in theme_classes(html) {
        problems.push(format!(
            "{name}: an element of class {theme:?} takes the {theme} theme's colours in every theme"
        ));
    }
    problems
}

/// mdBook's themes: its stylesheet defines each one's colours on the
/// class of that name.
const THEMES: [&str; 5] = ["light", "rust", "coal", "navy", "ayu"];

/// The theme names used as a class inside the page's `<main>`, the
/// content; outside it, the `<html>` element carries one on purpose.
fn theme_classes(html: &str) -> Vec<String> {
    let main = html
        .split_once("<main")
        .and_then(|(_, rest)| rest.split_once("</main>"))
        .map_or("", |(inside, _)| inside);
    attribute_values(main, "class")
        .iter()
        .flat_map(|classes| classes.split_whitespace())
        .filter(|class| THEMES.contains(class))
        .map(str::to_string)
        .collect()
}

/// The relative `src` attributes of page `name` that name no file in
/// `built`, the folder the page is in.
fn missing_sources(name: &str, html: &str, built: &Path) -> Vec<Problem> {
    attribute_values(html, "src")
        .into_iter()
        .filter(|src| !src.contains("://") && !src.starts_with("data:") && !src.is_empty())
        .filter(|src| {
            !built
                .join(src.split(['?', '#']).next().unwrap_or(src))
                .is_file()
        })
        .map(|src| format!("{name}: {src} is missing from the built book"))
        .collect()
}

/// The numbers (from 1) of lines that include a file while indented, that
/// is inside a list item.
pub fn includes_in_list_items(markdown: &str) -> Vec<usize> {
    markdown
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let trimmed = line.trim_start();
            let directive = ["{{#include", "{{#listing"]
                .iter()
                .any(|d| trimmed.starts_with(d));
            directive && trimmed.len() < line.len()
        })
        .map(|(index, _)| index + 1)
        .collect()
}

/// The exercise answers that a reader of page `name` sees without asking:
/// a line of an answer found in the page's text outside `<details>`.
pub fn answers_in_view(name: &str, html: &str, answers: &[Answer]) -> Vec<Problem> {
    let visible = normalize_space(&decode_entities(&strip_tags(&without_details(html))));
    let mut problems = Vec::new();
    for (id, lines) in answers {
        if let Some(line) = lines
            .iter()
            .find(|line| visible.contains(&normalize_space(line)))
        {
            problems.push(format!(
                "{name}: the answer to exercise {id} is in view: {line}"
            ));
        }
    }
    problems
}

/// The page without its `<details>` blocks, which a reader opens on purpose.
fn without_details(html: &str) -> String {
    without_elements(html, "details")
}

/// `html` without every `<tag ...>...</tag>` element (not nested in one
/// of its kind), tags included.
fn without_elements(html: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut text = String::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        text.push_str(&rest[..start]);
        match rest[start..].find(&close) {
            Some(end) => rest = &rest[start + end + close.len()..],
            None => return text,
        }
    }
    text.push_str(rest);
    text
}

/// The characters HTML escapes in text, back as themselves.
fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// Runs of white space as one space, so that a line matches however it
/// is indented or wrapped.
fn normalize_space(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a link to `link` from page `name` is missing, if anything.
fn broken_link(
    name: &str,
    link: &str,
    html: &str,
    pages: &HashMap<String, String>,
) -> Option<Problem> {
    let external = ["http://", "https://", "mailto:", "javascript:"];
    if external.iter().any(|p| link.starts_with(p)) || link.is_empty() {
        return None;
    }
    let (file, anchor) = link.split_once('#').unwrap_or((link, ""));
    let target = if file.is_empty() {
        Some(html)
    } else if file.ends_with(".html") {
        let file = file.trim_start_matches("./");
        match pages.get(file) {
            Some(page) => Some(page.as_str()),
            None => return Some(format!("{name}: a link to {file}, which does not exist")),
        }
    } else {
        None // a stylesheet, an image, a directory: not a page
    };
    let target = target?;
    if !anchor.is_empty() && !attribute_values(target, "id").iter().any(|id| id == anchor) {
        return Some(format!(
            "{name}: a link to {link}, whose anchor does not exist"
        ));
    }
    None
}

/// Every value of `attribute="..."` in `html`.
fn attribute_values(html: &str, attribute: &str) -> Vec<String> {
    let marker = format!(" {attribute}=\"");
    html.split(&marker)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|value| value.replace("&amp;", "&"))
        .collect()
}

/// How many `<pre>` blocks hold nothing but white space once their tags
/// are gone.
fn empty_code_blocks(html: &str) -> usize {
    html.split("<pre")
        .skip(1)
        .filter_map(|rest| rest.split("</pre>").next())
        .filter(|block| {
            let inside = block.split_once('>').map_or("", |(_, inside)| inside);
            strip_tags(inside).trim().is_empty()
        })
        .count()
}

/// The page without its code blocks and inline code, where fences and
/// directives may be shown on purpose.
fn without_code(html: &str) -> String {
    strip_tags(&without_elements(html, "code"))
}

fn strip_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// The files of `dir` (not its subfolders) ending in `.extension`, by name.
fn files_with_extension(dir: &Path, extension: &str) -> Vec<(String, String)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == extension))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Some((name, fs::read_to_string(e.path()).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(list: &[(&str, &str)]) -> HashMap<String, String> {
        list.iter()
            .map(|(n, h)| (n.to_string(), h.to_string()))
            .collect()
    }

    #[test]
    fn an_indented_include_is_found_and_a_top_level_one_is_not() {
        let markdown = "- item:\n\n  ```rust\n  {{#include a.rs:x}}\n  ```\n\n```rust\n{{#include a.rs:y}}\n```\n";
        assert_eq!(includes_in_list_items(markdown), vec![4]);
        let listings = "- item:\n  {{#listing a.rs:x}}\n\n{{#listing a.rs:y}}\n";
        assert_eq!(includes_in_list_items(listings), vec![2]);
    }

    #[test]
    fn an_answer_in_view_is_found_and_a_folded_one_is_not() {
        let answers = vec![(
            "03.2".to_string(),
            vec!["if value.chars().any(|c| c != '\\t' && c.is_control()) {".to_string()],
        )];
        let shown = "<pre><code>    if value.chars().any(|c| c != '\\t' &amp;&amp; c.is_control()) {\n</code></pre>";
        let problems = answers_in_view("ch03.html", shown, &answers);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].contains("03.2"), "{problems:#?}");
        let folded = format!("<p>Listing</p><details><summary>answer</summary>{shown}</details>");
        assert_eq!(
            answers_in_view("ch03.html", &folded, &answers),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_page_with_a_stray_fence_an_empty_block_and_broken_links_is_refused() {
        let all = pages(&[("b.html", r#"<h2 id="there">There</h2>"#)]);
        let bad = concat!(
            "<p>```rust</p><pre><code class=\"rust\"></code></pre>",
            "<a href=\"b.html#nowhere\">x</a><a href=\"c.html\">y</a><a href=\"#gone\">z</a>"
        );
        let problems = check_page("a.html", bad, &all);
        assert_eq!(problems.len(), 5, "{problems:#?}");
    }

    #[test]
    fn a_sound_page_passes_and_code_may_show_fences() {
        let all = pages(&[("b.html", r#"<h2 id="there">There</h2>"#)]);
        let good = concat!(
            "<h1 id=\"top\">T</h1><p>Write <code>```rust</code> or <code>{{#include}}</code>.</p>",
            "<pre><code>let x = 1;</code></pre>",
            "<a href=\"b.html#there\">x</a><a href=\"#top\">y</a><a href=\"https://e.org/\">z</a>",
            "<link href=\"css/a.css\">"
        );
        assert_eq!(check_page("a.html", good, &all), Vec::<Problem>::new());
    }

    #[test]
    fn a_class_named_after_a_theme_is_refused_in_the_content_only() {
        let page = concat!(
            "<html class=\"light sidebar-visible\"><main>",
            "<svg><rect class=\"box rust\"/><rect class=\"box srv\"/></svg>",
            "<pre><code class=\"language-rust\">x</code></pre></main></html>"
        );
        assert_eq!(theme_classes(page), vec!["rust".to_string()]);
    }

    #[test]
    fn a_source_that_is_not_in_the_built_book_is_refused() {
        let dir = std::env::temp_dir().join(format!("check-book-src-{}", std::process::id()));
        fs::create_dir_all(dir.join("diagrams")).unwrap();
        fs::write(dir.join("diagrams/a.svg"), "<svg/>").unwrap();
        let page = concat!(
            "<img src=\"diagrams/a.svg\"><img src=\"diagrams/b.svg\">",
            "<script src=\"https://e.org/x.js\"></script>"
        );
        let problems = missing_sources("p.html", page, &dir);
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            problems,
            vec!["p.html: diagrams/b.svg is missing from the built book"]
        );
    }
}
