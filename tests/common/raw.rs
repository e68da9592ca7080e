//! Raw TCP for requests no HTTP client will send: lying `Content-Length`,
//! absurd heads, bytes that are not HTTP, connections cut with a reset.
//! Every read is bounded by a timeout.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

/// What came back on a raw connection.
#[derive(Debug)]
pub struct RawReply {
    /// The status of the first response line, if one came.
    pub status: Option<u16>,
    /// Every byte received, lossily decoded.
    pub text: String,
    /// The server closed (or reset) the connection before the deadline.
    pub closed: bool,
}

impl RawReply {
    /// The body of the first response (after the blank line).
    pub fn body(&self) -> &str {
        self.text
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body)
    }

    /// The Engine.IO error code of a JSON error body.
    pub fn error_code(&self) -> Option<u64> {
        serde_json::from_str::<serde_json::Value>(self.body()).ok()?["code"].as_u64()
    }
}

/// Opens a connection to the server.
pub async fn connect(addr: SocketAddr) -> TcpStream {
    timeout(super::WAIT, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// Writes `bytes` (a write error is not a failure: the server may close
/// early) and reads until the server closes or `wait` passes.
pub async fn exchange(addr: SocketAddr, bytes: &[u8], wait: Duration) -> RawReply {
    let mut stream = connect(addr).await;
    let _ = timeout(wait, stream.write_all(bytes)).await;
    read_reply(&mut stream, wait).await
}

/// Reads until the server closes or `wait` passes.
pub async fn read_reply(stream: &mut TcpStream, wait: Duration) -> RawReply {
    let deadline = Instant::now() + wait;
    let mut received = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let closed = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => break false,
        }
    };
    let text = String::from_utf8_lossy(&received).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    RawReply {
        status,
        text,
        closed,
    }
}

/// Reads until the first response's head and `Content-Length` body are in,
/// leaving the connection open.
pub async fn read_response(stream: &mut TcpStream, wait: Duration) -> RawReply {
    let deadline = Instant::now() + wait;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let mut closed = false;
    loop {
        let text = String::from_utf8_lossy(&received);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                break;
            }
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&received).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    RawReply {
        status,
        text,
        closed,
    }
}

/// A request head for the endpoint, `Connection: close`, plus `extra`
/// header lines (each ending in `\r\n`).
pub fn head(method: &str, addr: SocketAddr, query: &str, extra: &str) -> String {
    format!(
        "{method} /engine.io/?{query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n"
    )
}

/// Drops the connection with a TCP reset instead of a FIN.
pub fn reset(stream: TcpStream) {
    stream.set_zero_linger().expect("SO_LINGER 0");
    drop(stream);
}
