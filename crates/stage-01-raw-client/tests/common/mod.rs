//! Small servers on loopback for the client's tests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// A one-shot server on a free loopback port: it reads the request head,
/// answers with `response` one byte per write, then closes. The thread
/// returns the bytes it received.
pub fn one_shot_server(response: &'static [u8]) -> (String, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hello?x=1", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let received = read_head(&mut stream);
        for byte in response {
            stream.write_all(std::slice::from_ref(byte)).unwrap();
        }
        received
    });
    (url, handle)
}

pub fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
        received.push(byte[0]);
    }
    received
}

/// A port on which nothing listens: bind one, note it, let it go.
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/")
}
