//! The workshop's chapters: which code each is carved from, in which
//! language, and where its copy lives.

use std::path::{Path, PathBuf};

/// What a chapter's code is, which says how it is copied and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// A stage crate, copied as a crate and checked with `cargo test`.
    Rust,
    /// Python files, copied as they are and checked with `python3 -m
    /// unittest` in the chapter's folder.
    Python,
}

/// A chapter of the workshop and the code it is carved from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chapter {
    /// The chapter's number in the book; an exercise id starts with it.
    pub number: u8,
    /// `chapters/<slug>/`.
    pub slug: &'static str,
    /// The chapter's title, as in the book.
    pub title: &'static str,
    /// The reference code, relative to the repository root.
    pub stage_dir: &'static str,
    /// The package name of the generated crate (Rust chapters).
    pub package: &'static str,
    /// Rust or Python.
    pub language: Language,
}

/// Every chapter, in order.
pub const CHAPTERS: [Chapter; 9] = [
    Chapter {
        number: 1,
        slug: "01-http-is-text",
        title: "HTTP is just text",
        stage_dir: "crates/stage-01-raw-client",
        package: "ch01",
        language: Language::Rust,
    },
    Chapter {
        number: 2,
        slug: "02-parsing-requests",
        title: "Parsing requests",
        stage_dir: "crates/stage-02-request-parser",
        package: "ch02",
        language: Language::Rust,
    },
    Chapter {
        number: 3,
        slug: "03-building-responses",
        title: "Building responses",
        stage_dir: "crates/stage-03-response-builder",
        package: "ch03",
        language: Language::Rust,
    },
    Chapter {
        number: 4,
        slug: "04-wsgi-server",
        title: "A WSGI server",
        stage_dir: "crates/stage-04-wsgi-server",
        package: "ch04",
        language: Language::Rust,
    },
    Chapter {
        number: 5,
        slug: "05-keep-alive",
        title: "Keep-alive",
        stage_dir: "crates/stage-05-keep-alive",
        package: "ch05",
        language: Language::Rust,
    },
    Chapter {
        number: 6,
        slug: "06-event-loop",
        title: "Many connections, then many processes",
        stage_dir: "crates/stage-06-event-loop",
        package: "ch06",
        language: Language::Rust,
    },
    Chapter {
        number: 7,
        slug: "07-middleware",
        title: "Middleware and a small framework",
        stage_dir: "framework",
        package: "",
        language: Language::Python,
    },
    // A second copy of stage-06: the deployment side of the same server
    // (proxy headers, Unix sockets, recycling, logs). Each copy holds the
    // starters of its own chapter's regions only; the other chapter's
    // regions stay solved in it, as reference code.
    Chapter {
        number: 8,
        slug: "08-production",
        title: "What production servers add",
        stage_dir: "crates/stage-06-event-loop",
        package: "ch08",
        language: Language::Rust,
    },
    Chapter {
        number: 9,
        slug: "09-asgi",
        title: "ASGI: scope, receive, send",
        stage_dir: "crates/stage-07-asgi",
        package: "ch09",
        language: Language::Rust,
    },
];

impl Chapter {
    /// The chapter whose number is `number`.
    pub fn find(number: u8) -> Option<Chapter> {
        CHAPTERS.iter().copied().find(|c| c.number == number)
    }

    /// The library name of the stage crate, such as `stage_01`.
    pub fn stage_lib(&self) -> String {
        let stage = self.stage_dir.rsplit('/').next().unwrap_or_default();
        stage.get(..8).unwrap_or_default().replace('-', "_")
    }

    /// `chapters/<slug>`, relative to the root.
    pub fn dir(&self) -> PathBuf {
        Path::new("chapters").join(self.slug)
    }
}
