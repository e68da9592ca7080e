//! Issue 11, item 2: an application that sends as fast as it can to a
//! client that never reads is held back on every transport; what the
//! session holds stays within its byte budget at every moment, and the
//! server's memory stays bounded.

mod common;
#[path = "common/raw.rs"]
mod raw;

use std::time::Duration;

use common::*;
use polysock::{Polysock, Socket};
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

const MESSAGE: usize = 16 * 1024;
/// Far more than the kernel's loopback buffers can absorb (a few MiB), so
/// the sender must end up waiting on the session's bound.
const MESSAGES: usize = 16 * 1024;
const MAX_QUEUED_BYTES: usize = 64 * 1024;
const RESPONSE_LIMIT: usize = 64 * 1024;
const MAX_PAYLOAD: usize = 64 * 1024;

fn builder() -> polysock::Builder {
    Polysock::builder()
        .max_queued_bytes(MAX_QUEUED_BYTES)
        .response_limit(RESPONSE_LIMIT)
        .max_payload(MAX_PAYLOAD)
        // The client never answers pings: keep the session alive for the test.
        .ping_interval(Duration::from_secs(60))
        .ping_timeout(Duration::from_secs(60))
}

/// What a session may hold: its queue budget plus the one message that
/// crossed it, plus (streaming) the ledger of unacknowledged packets, two
/// responses of `response_limit` and one largest packet each.
fn bound() -> usize {
    let largest_packet = MAX_PAYLOAD * 4 / 3 + 16;
    MAX_QUEUED_BYTES + MESSAGE + 64 + 2 * (RESPONSE_LIMIT + largest_packet)
}

fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Sends flat out, checking the bound after every send; returns how many
/// messages went out before the test gave up waiting (the sender never
/// finishes when the bound holds).
async fn flood(socket: &Socket) -> (usize, usize) {
    let sender = socket.sender();
    let message = "x".repeat(MESSAGE);
    let mut sent = 0;
    let mut most_held = 0;
    let flood = async {
        for _ in 0..MESSAGES {
            sender.send(message.clone()).await.expect("socket open");
            sent += 1;
            most_held = most_held.max(sender.buffered_bytes());
        }
    };
    let finished = timeout(Duration::from_secs(3), flood).await.is_ok();
    assert!(
        !finished,
        "{MESSAGES} messages of {MESSAGE} B went to a client that reads nothing"
    );
    (sent, most_held)
}

async fn check(transport: &str, socket: &Socket, rss_before: usize) {
    let (sent, most_held) = flood(socket).await;
    assert!(
        most_held <= bound(),
        "{transport}: held {most_held} B, bound {} B",
        bound()
    );
    assert!(
        sent < MESSAGES / 4,
        "{transport}: {sent} messages accepted for a client that reads nothing"
    );
    let grown = rss_kib().saturating_sub(rss_before);
    assert!(
        grown < 64 * 1024,
        "{transport}: RSS grew by {grown} KiB after {sent} sends"
    );
    assert!(
        !socket.is_closed(),
        "{transport}: a slow client is not an error yet"
    );
}

/// A client that sends a GET head and then never reads a byte.
async fn send_head(server: &TestServer, query: &str, extra: &str) -> tokio::net::TcpStream {
    let mut tcp = raw::connect(server.addr).await;
    let head = raw::head("GET", server.addr, query, extra);
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp
}

#[tokio::test]
async fn websocket_client_that_never_reads() {
    let mut server = start(builder()).await;
    let rss = rss_kib();
    let tcp = send_head(
        &server,
        "EIO=4&transport=websocket",
        "Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
    )
    .await;
    let socket = server.socket().await;
    check("websocket", &socket, rss).await;
    drop(tcp);
}

#[tokio::test]
async fn polling_client_that_never_polls() {
    let mut server = start(builder()).await;
    let rss = rss_kib();
    server.handshake("").await;
    let socket = server.socket().await;
    check("polling", &socket, rss).await;
}

#[tokio::test]
async fn xhr_streaming_client_that_never_reads() {
    streaming_client_that_never_reads("xhr-streaming").await;
}

#[tokio::test]
async fn htmlfile_client_that_never_reads() {
    streaming_client_that_never_reads("htmlfile").await;
}

async fn streaming_client_that_never_reads(transport: &str) {
    let mut server = start(builder()).await;
    let rss = rss_kib();
    let tcp = send_head(&server, &format!("EIO=4&transport={transport}&ext=1"), "").await;
    let socket = server.socket().await;
    check(transport, &socket, rss).await;
    drop(tcp);
}
