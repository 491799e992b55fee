//! Properties of the connection reader, run over bytes in memory.

use proptest::prelude::*;
use stage_02::{BodyFraming, Limits};
use stage_03::chunked::{LAST_CHUNK, encode_chunk};
use stage_05::chunked::{ChunkLimits, decode_all};
use stage_05::decode::{BodyDecoder, DecodeError, Decoded};
use stage_05::replay::{Replayed, replay};

/// A request with a chunked body made of `pieces`, then a GET.
fn chunked_request(pieces: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes =
        b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for piece in pieces {
        encode_chunk(&mut bytes, piece);
    }
    bytes.extend_from_slice(LAST_CHUNK);
    bytes.extend_from_slice(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    bytes
}

/// Feeds `input` to `decoder` as a driver would: the bytes arrive in
/// pieces ending at `cuts`, whatever is not consumed waits for the next
/// piece, and at most `max` data bytes are taken at a time. Gives the body
/// and how much of `input` it took, the refusal, or `None` if the input
/// ran out first.
fn feed(
    mut decoder: BodyDecoder,
    input: &[u8],
    cuts: &[usize],
    max: usize,
) -> Option<Result<(Vec<u8>, usize), DecodeError>> {
    let (mut waiting, mut consumed, mut body) = (Vec::new(), 0, Vec::new());
    let mut arrived = 0;
    for &cut in cuts.iter().chain([input.len()].iter()) {
        let cut = cut.clamp(arrived, input.len());
        waiting.extend_from_slice(&input[arrived..cut]);
        arrived = cut;
        loop {
            let (used, piece) = match decoder.decode(&waiting, max) {
                Ok(decoded) => decoded,
                Err(error) => return Some(Err(error)),
            };
            if let Decoded::Data(range) = &piece {
                assert_eq!(range.end, used, "data ends the consumed bytes");
                body.extend_from_slice(&waiting[range.clone()]);
            }
            waiting.drain(..used);
            consumed += used;
            match piece {
                Decoded::Data(_) => {}
                Decoded::NeedMore => break,
                Decoded::End => return Some(Ok((body, consumed))),
            }
        }
    }
    None
}

proptest! {
    #[test]
    fn the_body_decoder_gives_the_same_body_whatever_the_split_points(
        pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..100), 0..8),
        chunked in any::<bool>(),
        mut cuts in prop::collection::vec(0usize..1200, 0..12),
        max in 1usize..300,
        slack in -2i64..3,
    ) {
        let data = pieces.concat();
        // A limit around the body's length, so that both sides of it are tried.
        let max_body = u64::try_from(data.len() as i64 + slack).unwrap_or(0);
        let (framing, mut input) = if chunked {
            let mut encoded = Vec::new();
            for piece in &pieces {
                encode_chunk(&mut encoded, piece);
            }
            encoded.extend_from_slice(LAST_CHUNK);
            (BodyFraming::Chunked, encoded)
        } else {
            // The parser refuses a Content-Length over the limit: only a
            // chunked body can reach the decoder's own count.
            (BodyFraming::Length(data.len() as u64), data.clone())
        };
        let framed = input.len();
        input.extend_from_slice(b"GET /next HTTP/1.1\r\n\r\n");
        let limits = Limits {
            max_body_bytes: if chunked { max_body } else { u64::MAX },
            ..Limits::default()
        };
        let decoder = BodyDecoder::new(framing, &limits, ChunkLimits::default());
        cuts.sort_unstable();
        let whole = feed(decoder.clone(), &input, &[], usize::MAX);
        let split = feed(decoder, &input, &cuts, max);
        if data.len() as u64 > limits.max_body_bytes {
            prop_assert_eq!(&whole, &Some(Err(DecodeError::TooLarge { limit: max_body })));
        } else {
            prop_assert_eq!(&whole, &Some(Ok((data, framed))));
        }
        prop_assert_eq!(split, whole);
    }

    #[test]
    fn chunked_encode_then_decode_round_trips(pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..12)) {
        let mut encoded = Vec::new();
        for piece in &pieces {
            encode_chunk(&mut encoded, piece);
        }
        encoded.extend_from_slice(LAST_CHUNK);
        encoded.extend_from_slice(b"next request");
        let (decoded, used) = decode_all(&encoded, ChunkLimits::default()).unwrap();
        prop_assert_eq!(decoded, pieces.concat());
        prop_assert_eq!(&encoded[used..], b"next request");
    }

    #[test]
    fn a_chunked_body_arrives_whole_however_the_bytes_are_split(
        pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..200), 0..8),
        step in 1usize..97,
    ) {
        let seen = replay(&chunked_request(&pieces), step, &Limits::default());
        prop_assert_eq!(seen.len(), 2);
        let Replayed::Request(first, body) = &seen[0] else { panic!("{:?}", seen[0]) };
        prop_assert_eq!(first.target.as_str(), "/upload");
        prop_assert_eq!(body, &pieces.concat());
        let Replayed::Request(second, _) = &seen[1] else { panic!("{:?}", seen[1]) };
        prop_assert_eq!(second.target.as_str(), "/next");
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_connection_reader(bytes in prop::collection::vec(any::<u8>(), 0..2048), step in 1usize..64) {
        let _ = replay(&bytes, step, &Limits::default());
    }

    #[test]
    fn request_like_bytes_never_panic_the_connection_reader(
        framing in prop::sample::select(vec![
            "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n", "",
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        ]),
        body in prop::collection::vec(prop::sample::select(vec![
            b"5".to_vec(), b"\r\n".to_vec(), b"\n".to_vec(), b"0".to_vec(), b";x".to_vec(),
            b"hello".to_vec(), b"ff".to_vec(), b":".to_vec(), b"X: y".to_vec(), b"GET / HTTP/1.1".to_vec(),
        ]), 0..24),
        step in 1usize..16,
    ) {
        let mut bytes = format!("POST / HTTP/1.1\r\nHost: t\r\n{framing}\r\n").into_bytes();
        bytes.extend(body.concat());
        let _ = replay(&bytes, step, &Limits::default());
    }
}
