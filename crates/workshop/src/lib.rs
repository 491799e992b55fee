//! # The workshop
//!
//! Exercises carved out of the stage crates, which stay the single source
//! of truth for the reference code: each exercise is a region of it fenced
//! by two mdBook anchors (`ex-ID`), and that is all a stage knows of the
//! workshop. What the workshop says about the region (title, kind, hints,
//! the tests that check it, the starter) is in its own file,
//! `crates/workshop/exercises/ID.md` (see [`exercise`]).
//!
//! - [`anchors`] checks that the stage sources' anchors pair up and fence
//!   whole items, and that every exercise has its region;
//! - [`chapter`] lists the chapters and the code each is carved from;
//! - [`generate`] writes `chapters/NN-slug/`, a copy of each stage crate
//!   whose regions hold their starters, with the stage's tests;
//! - [`runner`] is what a learner uses: progress, the next exercise, hints,
//!   checks, reset, catch-up, solutions; [`feedback`] turns a failed
//!   check's output into what the learner reads, and [`book`] says where
//!   the book explains an exercise;
//! - [`listings`] renders the book's numbered code listings, with each
//!   exercise's answer folded away (the preprocessor `book-listings`);
//! - [`verify`] proves, in CI, that every starter fails and every exercise
//!   can be solved.

pub mod anchors;
pub mod book;
pub mod chapter;
pub mod diff;
pub mod exercise;
pub mod feedback;
pub mod generate;
pub mod listings;
pub mod progress;
pub mod runner;
pub mod tests_run;
pub mod verify;
