//! Feeds arbitrary bytes, split into reads of an arbitrary size, through
//! stage-05's connection reader: the head parser, the body reader and the
//! body decoder. Any panic is a bug; so is reading past a limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stage_02::Limits;
use stage_05::replay::{Replayed, replay};

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else { return };
    let step = usize::from(first % 64) + 1;
    let limits = Limits { max_body_bytes: 4096, ..Limits::default() };
    for seen in replay(input, step, &limits) {
        if let Replayed::Request(_, body) = seen {
            assert!(body.len() <= 4096, "a body past the limit was accepted");
        }
    }
});
