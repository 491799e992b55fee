//! Properties of the connection reader, run over bytes in memory.

use proptest::prelude::*;
use stage_02::Limits;
use stage_03::chunked::{LAST_CHUNK, encode_chunk};
use stage_05::chunked::{ChunkLimits, decode_all};
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

proptest! {
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
