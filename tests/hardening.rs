//! Issue 12, second hardening round: one test per item of the outside
//! review, each written to fail on the server before the fixes (commit
//! 02cbcc1) and pass after. The browser half of item 1 (htmlfile callback
//! injection) is tests/browser/hardening.test.mjs.
//!
//! Tests that measure memory read the test process's own `VmRSS` (the
//! server runs in-process), so they take [`exclusive`] and run alone; the
//! others take [`shared`]. Every test prints what it measured
//! (`cargo test --test hardening -- --nocapture`): those lines are the
//! figures of docs/hardening-round2.md.

mod common;
#[path = "common/raw.rs"]
mod raw;
#[path = "common/raw_ws.rs"]
mod raw_ws;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use common::*;
use polysock::{CloseReason, Message, Polysock, SendError, TrySendError};
use raw_ws::{client_frame, tcp_entries, RawWs};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::time::{sleep, timeout, Instant};

// ----- running alone, memory ---------------------------------------------------

static MEMORY: LazyLock<RwLock<()>> = LazyLock::new(|| RwLock::new(()));

/// For tests that measure the process's memory: no other test runs.
async fn exclusive() -> RwLockWriteGuard<'static, ()> {
    MEMORY.write().await
}

/// For every other test: may run beside each other, not beside a memory test.
async fn shared() -> RwLockReadGuard<'static, ()> {
    MEMORY.read().await
}

/// The test process's resident set size, in KiB (Linux).
fn vm_rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

const KIB: usize = 1024;
/// The message size of the review's flooding application.
const BIG: usize = 256 * KIB;
/// The WebSocket writer's batch (docs/hardening.md, "Memory per session").
const WRITE_BATCH: usize = 64 * KIB;
/// The `max_queued_bytes` and `max_inbound_bytes` of the budget tests.
const BUDGET: usize = 64 * KIB;

/// Spawns an application task sending `BIG` text messages as fast as
/// `send` lets it; returns how many `send`s completed.
fn flood(sender: polysock::SocketSender) -> Arc<AtomicUsize> {
    let sent = Arc::new(AtomicUsize::new(0));
    let count = sent.clone();
    tokio::spawn(async move {
        let message = "x".repeat(BIG);
        while sender.send(Message::Text(message.clone())).await.is_ok() {
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
    sent
}

// ----- item 2: a WebSocket connection does not outlive its session ---------------

/// A client that completes the handshake and never reads, while the
/// application sends 256 KiB messages: after the ping-timeout close the
/// server's end of the TCP connection is gone within a bound, whatever the
/// client does, and the client's reads end (EOF or reset).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item2_websocket_connection_closes_with_its_session() {
    let _alone = exclusive().await;
    let mut server = start(
        Polysock::builder()
            .ping_interval(ms(300))
            .ping_timeout(ms(300)),
    )
    .await;
    let rss_before = vm_rss_kib();
    let mut client = RawWs::connect(server.addr, "EIO=4&transport=websocket").await;
    let socket = server.socket().await;
    let sent = flood(socket.sender());
    timeout(WAIT, socket.closed())
        .await
        .expect("the session closes by the ping timeout");
    assert_eq!(socket.close_reason(), Some(CloseReason::PingTimeout));
    let closed_at = Instant::now();
    let rss_at_close = vm_rss_kib();
    let (server_port, client_port) = (server.addr.port(), client.local_port());
    let mut last = tcp_entries(server_port, client_port);
    eprintln!(
        "item2: session closed (ping timeout) after {} messages sent; server end {:?}; VmRSS +{} KiB",
        sent.load(Ordering::Relaxed),
        last,
        rss_at_close.saturating_sub(rss_before)
    );
    // The server's end of the connection must disappear (reset, not left
    // ESTABLISHED or FIN_WAIT with its batch) while the client still reads
    // nothing.
    // Two close timeouts of the server (2 s each: the writer, then the close
    // handshake) and a margin.
    let bound = Duration::from_secs(6);
    while !last.is_empty() {
        assert!(
            closed_at.elapsed() < bound,
            "server end of the connection still there {bound:?} after the session closed: {last:?} (state, tx_queue bytes)"
        );
        sleep(ms(25)).await;
        last = tcp_entries(server_port, client_port);
    }
    let gone_after = closed_at.elapsed();
    // From the client: reads end (EOF or reset) promptly.
    let mut discarded = 0usize;
    let mut chunk = vec![0u8; 64 * KIB];
    let ended = timeout(ms(3000), async {
        loop {
            match client.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => discarded += n,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "client reads did not end within 3 s");
    eprintln!(
        "item2: server end gone {gone_after:?} after the session closed; client read {discarded} bytes then EOF/reset; VmRSS +{} KiB",
        vm_rss_kib().saturating_sub(rss_before)
    );
}

// ----- item 3: memory bounded in bytes ------------------------------------------

/// One WebSocket session whose client never reads, the application sending
/// 256 KiB messages as fast as `send` lets it: `buffered_bytes` never
/// exceeds max_queued_bytes + one message + the 64 KiB write batch, and the
/// process's RSS grows by a bounded amount.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item3_websocket_flood_is_held_to_the_byte_budget() {
    let _alone = exclusive().await;
    let mut server = start(Polysock::builder().max_queued_bytes(BUDGET)).await;
    let _client = RawWs::connect(server.addr, "EIO=4&transport=websocket").await;
    let socket = server.socket().await;
    let rss_before = vm_rss_kib();
    let sent = flood(socket.sender());
    // Observe for 3 s: every sample must hold the bound.
    let formula = BUDGET + BIG + WRITE_BATCH;
    let (mut most, mut rss_most) = (0usize, 0usize);
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        most = most.max(socket.buffered_bytes());
        rss_most = rss_most.max(vm_rss_kib());
        sleep(ms(10)).await;
    }
    let growth_kib = rss_most.saturating_sub(rss_before);
    eprintln!(
        "item3: {} messages of 256 KiB sent; buffered_bytes at most {most} (formula {formula}); VmRSS +{growth_kib} KiB",
        sent.load(Ordering::Relaxed)
    );
    assert!(most >= BIG, "the flood was buffered at all ({most} bytes)");
    assert!(
        most <= formula,
        "buffered_bytes {most} over max_queued_bytes + one message + write batch = {formula}"
    );
    assert!(
        growth_kib < 32 * KIB,
        "RSS grew by {growth_kib} KiB for one session held to {formula} bytes"
    );
    assert!(
        !socket.is_closed(),
        "the session stays open (no ping timeout yet)"
    );
}

/// The review's 1 MB POST of 333,333 two-byte packets while the
/// application does not read: what the session holds stays within
/// max_inbound_bytes; then the application reads every message, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item3_big_post_of_tiny_packets_is_held_to_the_inbound_budget() {
    let _alone = exclusive().await;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const PACKETS: usize = 333_333;
    let mut server = start(
        Polysock::builder()
            .max_inbound_bytes(BUDGET)
            .body_timeout(Duration::from_secs(60)),
    )
    .await;
    let (sid, _) = server.handshake("").await;
    let mut socket = server.socket().await;
    let mut body = Vec::with_capacity(PACKETS * 3);
    for i in 0..PACKETS {
        if i > 0 {
            body.push(0x1e);
        }
        body.extend_from_slice(&[b'4', ALPHABET[i % ALPHABET.len()]]);
    }
    let body_len = body.len();
    let server = Arc::new(server);
    let rss_before = vm_rss_kib();
    let poster = {
        let server = server.clone();
        let query = format!("EIO=4&transport=polling&sid={sid}");
        tokio::spawn(async move { server.post(&query, body).await })
    };
    // The application does not read for 1.5 s.
    let (mut most, mut rss_most) = (0usize, 0usize);
    let until = Instant::now() + ms(1500);
    while Instant::now() < until {
        most = most.max(socket.buffered_bytes());
        rss_most = rss_most.max(vm_rss_kib());
        sleep(ms(10)).await;
    }
    let growth_kib = rss_most.saturating_sub(rss_before);
    eprintln!(
        "item3: POST of {body_len} bytes, {PACKETS} packets, application not reading: buffered_bytes at most {most} (max_inbound_bytes {BUDGET}); VmRSS +{growth_kib} KiB"
    );
    assert!(most > 0, "the POST was admitted at all");
    assert!(
        most <= BUDGET,
        "inbound held {most} bytes, over max_inbound_bytes {BUDGET}"
    );
    assert!(
        growth_kib < 8 * KIB,
        "RSS grew by {growth_kib} KiB for a 1 MB POST held to {BUDGET} bytes"
    );
    for i in 0..PACKETS {
        let message = timeout(WAIT, socket.recv())
            .await
            .expect("message in time")
            .expect("socket open");
        let expected = (ALPHABET[i % ALPHABET.len()] as char).to_string();
        assert_eq!(message, Message::Text(expected), "message {i}");
    }
    let reply = timeout(WAIT, poster)
        .await
        .expect("POST answered")
        .expect("POST task");
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok"));
}

// ----- item 4: "send queue full" --------------------------------------------------

/// A polling client that answers pings (blind POSTs of `3`) but never GETs,
/// the application filling the queue with `try_send` until it is `Full`:
/// closed with 1008 "send queue full" once `grace` has passed, not before.
async fn full_queue_closes_after_the_grace(builder: polysock::Builder, grace: Duration) {
    let mut server = start(
        builder
            .ping_interval(ms(200))
            .ping_timeout(ms(300))
            .send_queue_grace(grace),
    )
    .await;
    let (sid, _) = server.handshake("").await;
    let socket = server.socket().await;
    let mut queued = 0;
    while socket.try_send(format!("filler {queued}")).is_ok() {
        queued += 1;
        assert!(queued < 100_000, "the queue has a bound");
    }
    let full_at = Instant::now();
    let held = socket.buffered_bytes();
    let server = Arc::new(server);
    let ponger = {
        let server = server.clone();
        let query = format!("EIO=4&transport=polling&sid={sid}");
        tokio::spawn(async move {
            loop {
                server.post(&query, "3").await;
                sleep(ms(100)).await;
            }
        })
    };
    let closed = timeout(WAIT, socket.closed()).await;
    let after = full_at.elapsed();
    ponger.abort();
    assert!(
        closed.is_ok(),
        "a session whose queue stays full ({queued} messages, {held} bytes) is not closed after {after:?}"
    );
    let frame = socket.close_reason().expect("a close reason").frame();
    eprintln!(
        "item4: {queued} messages ({held} bytes) queued; closed after {after:?} with {} {:?}",
        frame.code, frame.reason
    );
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (1008, "send queue full")
    );
    assert!(
        after >= grace - ms(50),
        "closed before the grace: {after:?}"
    );
}

/// The queue full by its message count (1,024 short messages, well under a
/// 1 MiB byte budget).
#[tokio::test]
async fn item4_queue_full_by_count_closes_after_the_grace() {
    let _shared = shared().await;
    let builder = Polysock::builder().max_queued_bytes(1024 * KIB);
    full_queue_closes_after_the_grace(builder, ms(1500)).await;
}

/// The queue full by its byte budget (the default 32 KiB of short
/// messages, fewer than 1,024): `try_send` says `Full` a few bytes under
/// the budget, and the session must be closed just the same.
#[tokio::test]
async fn item4_queue_full_by_bytes_closes_after_the_grace() {
    let _shared = shared().await;
    full_queue_closes_after_the_grace(Polysock::builder(), ms(1500)).await;
}

// ----- item 5: boundary collisions do not raise the queue bound --------------------

/// The boundary of a multipart response, from its Content-Type.
fn boundary_of(headers: &http::HeaderMap) -> String {
    let value = headers["content-type"].to_str().unwrap();
    value
        .split("boundary=")
        .nth(1)
        .expect("a boundary parameter")
        .trim_matches('"')
        .to_owned()
}

/// Fills the queue with `make(n)` by `try_send` until it is `Full`; returns
/// how many were accepted.
fn fill(socket: &polysock::Socket, mut make: impl FnMut(usize) -> String) -> usize {
    let mut accepted = 0;
    loop {
        match socket.try_send(make(accepted)) {
            Ok(()) => accepted += 1,
            Err(TrySendError::Full(_)) => return accepted,
            Err(other) => panic!("try_send: {other}"),
        }
        assert!(accepted <= 10_000, "runaway queue");
    }
}

/// Messages holding the open response's boundary delimiter end responses
/// early and are written again in the next one: the count bound of the
/// queue holds through it all (`try_send` is `Full` at the bound). Each
/// round: a streaming GET (boundary B), the queue filled with messages
/// holding `\r\n--B` (the test runs on one thread, so the response cannot
/// take them while it fills), the response read to its end (it ends at the
/// first collision), then, with no response attached, the queue filled
/// again: everything sent and not received is in the queue now, and it must
/// not be more than the bound.
#[tokio::test]
async fn item5_boundary_collisions_keep_the_queue_bound() {
    let _shared = shared().await;
    const BOUND: usize = 8;
    let mut server = start(
        Polysock::builder()
            .max_queued_packets(BOUND)
            .max_queued_bytes(1024 * KIB),
    )
    .await;
    let mut stream = server.stream("EIO=4&transport=xhr-streaming&ext=1").await;
    let socket = server.socket().await;
    let (mut accepted, mut delivered, mut most_held) = (0usize, 0usize, 0usize);
    for round in 0..6 {
        let boundary = boundary_of(&stream.headers);
        accepted += fill(&socket, |n| format!("m{round}.{n}\r\n--{boundary}"));
        stream.read_to_end().await;
        let body = String::from_utf8_lossy(&stream.buffer).into_owned();
        delivered += body.matches("\r\n\r\n4").count();
        accepted += fill(&socket, |n| format!("filler {round}.{n}"));
        let held = accepted - delivered;
        most_held = most_held.max(held);
        assert!(
            held <= BOUND,
            "round {round}: {held} messages queued, over the bound of {BOUND} (buffered_bytes {})",
            socket.buffered_bytes()
        );
        stream = server
            .stream(&format!(
                "EIO=4&transport=xhr-streaming&ext=1&sid={}",
                socket.id()
            ))
            .await;
        assert_eq!(stream.status, 200);
    }
    assert!(delivered > 0, "messages went through at all");
    eprintln!(
        "item5: bound {BOUND}; accepted {accepted}, delivered {delivered}; most queued at once {most_held}"
    );
}

// ----- item 6: protocol errors close with 1002 -------------------------------------

/// Opens a WebSocket session, reads its open packet, sends `frame`: the
/// server's close frame must carry 1002.
async fn closes_with_1002(what: &str, frame: Vec<u8>) {
    let mut server = start_echo(Polysock::builder()).await;
    let mut client = RawWs::connect(server.addr, "EIO=4&transport=websocket").await;
    let open = client.text().await.expect("open packet");
    assert!(open.starts_with('0'), "{open}");
    let _ = &mut server;
    client.send(frame).await;
    let code = client.close_code().await;
    eprintln!("item6: {what}: close code {code:?}");
    assert_eq!(code, Some(1002), "{what}");
}

#[tokio::test]
async fn item6_rsv_bits_close_with_1002() {
    let _shared = shared().await;
    closes_with_1002(
        "RSV1 on a text frame",
        client_frame(0x81 | 0x40, b"4hi", true),
    )
    .await;
}

#[tokio::test]
async fn item6_unknown_opcode_closes_with_1002() {
    let _shared = shared().await;
    closes_with_1002("opcode 0x3", client_frame(0x83, b"4hi", true)).await;
}

#[tokio::test]
async fn item6_unmasked_client_frame_closes_with_1002() {
    let _shared = shared().await;
    closes_with_1002("unmasked text frame", client_frame(0x81, b"4hi", false)).await;
}

#[tokio::test]
async fn item6_fragmented_control_frame_closes_with_1002() {
    let _shared = shared().await;
    closes_with_1002("ping without FIN", client_frame(0x09, b"x", true)).await;
}

#[tokio::test]
async fn item6_oversized_control_frame_closes_with_1002() {
    let _shared = shared().await;
    closes_with_1002("ping of 126 bytes", client_frame(0x89, &[b'x'; 126], true)).await;
}

// ----- item 7: one client cannot fill the session table ---------------------------

/// A polling handshake from a chosen loopback source address: (status, body).
async fn handshake_from(source: [u8; 4], server: SocketAddr) -> (u16, String) {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("bind a loopback source address");
    let mut stream = timeout(WAIT, socket.connect(server))
        .await
        .expect("connect in time")
        .expect("connect");
    let head = raw::head("GET", server, "EIO=4&transport=polling", "");
    stream.write_all(head.as_bytes()).await.unwrap();
    let reply = raw::read_response(&mut stream, WAIT).await;
    (reply.status.unwrap_or(0), reply.body().to_owned())
}

fn sid_of(open: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(open.strip_prefix('0').expect("open packet")).expect("open JSON");
    json["sid"].as_str().expect("sid").to_owned()
}

/// With max_sessions 100 and the default share (a tenth), 127.0.0.1 gets
/// 429 after 10 handshakes while 127.0.0.2 still connects; the abandoned
/// handshakes are reaped after first_request_timeout and free their places.
#[tokio::test]
async fn item7_one_client_holds_a_tenth_and_abandoned_handshakes_are_reaped() {
    let _shared = shared().await;
    let first_request = ms(400);
    let server = start(
        Polysock::builder()
            .max_sessions(100)
            .first_request_timeout(first_request),
    )
    .await;
    // The whole table's worth of handshakes from one address: only its
    // share is accepted, the rest refused with 429.
    let mut sids = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..100 {
        let (status, body) = handshake_from([127, 0, 0, 1], server.addr).await;
        match status {
            200 => sids.push(sid_of(&body)),
            _ => refused.push((status, body)),
        }
    }
    let (other, body) = handshake_from([127, 0, 0, 2], server.addr).await;
    eprintln!(
        "item7: 100 handshakes from 127.0.0.1: {} accepted, refused {:?}; then 127.0.0.2: {other} {body}",
        sids.len(),
        refused.first()
    );
    assert_eq!(sids.len(), 10, "one address holds a tenth of the table");
    assert!(
        refused.iter().all(|(status, _)| *status == 429),
        "refused with 429: {:?}",
        refused.first()
    );
    assert_eq!(other, 200, "another address still connects: {body}");
    let abandoned_at = Instant::now();
    server
        .eventually("the abandoned handshakes are reaped", || {
            sids.iter().all(|sid| {
                server
                    .polysock
                    .socket(sid)
                    .is_none_or(|socket| socket.is_closed())
            })
        })
        .await;
    let reaped_after = abandoned_at.elapsed();
    eprintln!("item7: the 10 abandoned handshakes reaped within {reaped_after:?}");
    assert!(
        reaped_after < first_request + ms(2600),
        "reaped {reaped_after:?} after, not about first_request_timeout"
    );
    // Places freed once the reaped sessions have left the table: 127.0.0.1
    // connects again.
    server
        .eventually("the reaped sessions leave the table", || {
            sids.iter().all(|sid| server.polysock.socket(sid).is_none())
        })
        .await;
    let (status, body) = handshake_from([127, 0, 0, 1], server.addr).await;
    assert_eq!(status, 200, "still refused: {body}");
}

// ----- item 8: the smaller ones --------------------------------------------------

/// A raw polling handshake with extra header lines: the status.
async fn handshake_with_headers(server: SocketAddr, extra: &str) -> (u16, String) {
    let head = raw::head("GET", server, "EIO=4&transport=polling", extra);
    let reply = raw::exchange(server, head.as_bytes(), WAIT).await;
    (reply.status.unwrap_or(0), reply.body().to_owned())
}

/// `Origin: https://host` for a plain-http request is another origin;
/// behind a proxy that says `X-Forwarded-Proto: https` it is the same one.
#[tokio::test]
async fn item8_same_origin_compares_the_scheme() {
    let _shared = shared().await;
    let server = start(Polysock::builder()).await;
    let https = format!("Origin: https://{}\r\n", server.addr);
    let http = format!("Origin: http://{}\r\n", server.addr);
    let (status, body) = handshake_with_headers(server.addr, &https).await;
    eprintln!("item8: Origin https://host on plain http: {status}");
    assert_eq!(status, 403, "https origin on a plain-http request: {body}");
    let (status, body) = handshake_with_headers(server.addr, &http).await;
    assert_eq!(status, 200, "http origin on plain http: {body}");
    let proxied = format!("{https}X-Forwarded-Proto: https\r\n");
    let (status, body) = handshake_with_headers(server.addr, &proxied).await;
    eprintln!("item8: Origin https://host with X-Forwarded-Proto: https: {status}");
    assert_eq!(status, 200, "https origin behind a TLS proxy: {body}");
}

/// A POST body that stalls is the client's slowness: the session closes
/// with "request body too slow", not "application not reading".
#[tokio::test]
async fn item8_stalled_post_body_blames_the_client() {
    let _shared = shared().await;
    let mut server = start(Polysock::builder().body_timeout(ms(300))).await;
    let (sid, _) = server.handshake("").await;
    let mut socket = server.socket().await;
    let mut post = raw::connect(server.addr).await;
    let head = raw::head(
        "POST",
        server.addr,
        &format!("EIO=4&transport=polling&sid={sid}"),
        "Content-Type: text/plain\r\nContent-Length: 100\r\n",
    );
    post.write_all(head.as_bytes()).await.unwrap();
    post.write_all(b"4only part of the body").await.unwrap();
    // The application reads all the while.
    let reader = tokio::spawn(async move {
        while socket.recv().await.is_some() {}
        socket
    });
    let socket = timeout(WAIT, reader)
        .await
        .expect("the session closes")
        .unwrap();
    let frame = socket.close_reason().expect("a close reason").frame();
    eprintln!(
        "item8: stalled POST body: closed {} {:?}",
        frame.code, frame.reason
    );
    assert_eq!(frame.reason, "request body too slow");
}

/// The multipart boundary is what protocol-spec 07 §7.2 says this server
/// sends, fresh per response.
#[tokio::test]
async fn item8_boundary_alphabet_is_the_specs() {
    // protocol-spec 07 §7.2: 32 characters of [A-Za-z0-9] with at least 122
    // random bits; this server sends a v4 UUID's 32 lowercase hex digits.
    let _shared = shared().await;
    let server = start(Polysock::builder()).await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let stream = server.stream("EIO=4&transport=xhr-streaming&ext=1").await;
        let boundary = boundary_of(&stream.headers);
        assert_eq!(boundary.len(), 32, "{boundary}");
        assert!(
            boundary
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{boundary}"
        );
        // The version nibble of a v4 UUID.
        assert_eq!(&boundary[12..13], "4", "{boundary}");
        assert!(
            seen.insert(boundary.clone()),
            "a boundary came twice: {boundary}"
        );
    }
}

/// On an upgrade from xhr-streaming, packets the application queues while
/// the probe is under way go out on the WebSocket after `5`, in order,
/// once: not on the stream, not twice, none lost.
#[tokio::test]
async fn item8_packets_queued_while_probing_go_out_once_on_the_websocket() {
    let _shared = shared().await;
    let mut server = start(Polysock::builder()).await;
    let mut stream = server.stream("EIO=4&transport=xhr-streaming&ext=1").await;
    let socket = server.socket().await;
    socket.send("before").await.unwrap();
    assert!(
        stream
            .read_until(|b| String::from_utf8_lossy(b).contains("4before"))
            .await,
        "a message before the probe is streamed"
    );
    let mut ws = RawWs::connect(
        server.addr,
        &format!("EIO=4&transport=websocket&sid={}", socket.id()),
    )
    .await;
    ws.send(client_frame(0x81, b"2probe", true)).await;
    assert_eq!(ws.text().await.as_deref(), Some("3probe"));
    for i in 0..5 {
        socket.send(format!("probing {i}")).await.unwrap();
    }
    stream.read_to_end().await;
    let streamed = String::from_utf8_lossy(&stream.buffer).into_owned();
    let on_stream = streamed.matches("4probing").count();
    ws.send(client_frame(0x81, b"5", true)).await;
    socket.send("after").await.unwrap();
    let mut on_websocket = Vec::new();
    loop {
        let text = ws.text().await.expect("the WebSocket stays open");
        if text == "6" {
            continue;
        }
        let done = text == "4after";
        on_websocket.push(text);
        if done {
            break;
        }
    }
    eprintln!("item8: upgrade: {on_stream} probing packets on the stream; on the WebSocket {on_websocket:?}");
    assert!(streamed.contains("\r\n\r\n6\r\n"), "the stream ends with 6");
    assert_eq!(
        on_stream, 0,
        "nothing queued while probing goes on the stream"
    );
    let expected: Vec<String> = (0..5)
        .map(|i| format!("4probing {i}"))
        .chain(["4after".to_owned()])
        .collect();
    assert_eq!(on_websocket, expected);
}

/// The same on polling, with the client's GET arriving while the probe is
/// under way (chapter 05 §5.3 step 3: it is answered at once): every packet
/// queued while probing reaches the client exactly once and in order,
/// across that GET and the WebSocket.
#[tokio::test]
async fn item8_polling_upgrade_delivers_probing_packets_once_in_order() {
    let _shared = shared().await;
    let mut server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("").await;
    let socket = server.socket().await;
    let mut ws = RawWs::connect(server.addr, &format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws.send(client_frame(0x81, b"2probe", true)).await;
    assert_eq!(ws.text().await.as_deref(), Some("3probe"));
    for i in 0..5 {
        socket.send(format!("probing {i}")).await.unwrap();
    }
    let polled = server
        .get(&format!("EIO=4&transport=polling&sid={sid}"))
        .await;
    assert_eq!(polled.status, 200, "{}", polled.body);
    let mut received: Vec<String> = polled
        .body
        .split('\u{1e}')
        .filter(|packet| packet.starts_with('4'))
        .map(str::to_owned)
        .collect();
    let on_polling = received.len();
    ws.send(client_frame(0x81, b"5", true)).await;
    socket.send("after").await.unwrap();
    loop {
        let text = ws.text().await.expect("the WebSocket stays open");
        if text == "6" {
            continue;
        }
        let done = text == "4after";
        received.push(text);
        if done {
            break;
        }
    }
    eprintln!(
        "item8: polling upgrade: GET while probing answered {:?}; {} probing packets on polling, the rest on the WebSocket",
        polled.body, on_polling
    );
    let expected: Vec<String> = (0..5)
        .map(|i| format!("4probing {i}"))
        .chain(["4after".to_owned()])
        .collect();
    assert_eq!(received, expected);
}

/// The upgrade of a stream whose client has stopped reading: packets are
/// still in the queue (the response cannot take them) when `2probe`
/// arrives. Every message accepted reaches the client exactly once and in
/// order, across the stream (read to its end afterwards) and the WebSocket.
#[tokio::test]
async fn item8_upgrade_of_a_stalled_stream_loses_and_repeats_nothing() {
    let _shared = shared().await;
    // A response limit far beyond what the connection buffers hold, so the
    // stream is stalled by its client, not ended by the limit.
    let mut server = start(Polysock::builder().response_limit(64 * 1024 * KIB)).await;
    // Not read until after the probe: the connection's buffers fill up.
    let mut stream = server.stream("EIO=4&transport=xhr-streaming&ext=1").await;
    let socket = server.socket().await;
    let filler = "x".repeat(16 * KIB);
    let (mut accepted, mut full_in_a_row) = (0usize, 0);
    // Full for 10 tries in a row, 20 ms apart: the stream has stopped
    // taking packets and the queue holds some.
    while full_in_a_row < 10 {
        match socket.try_send(format!("m{accepted}:{filler}")) {
            Ok(()) => {
                accepted += 1;
                full_in_a_row = 0;
            }
            Err(TrySendError::Full(_)) => {
                full_in_a_row += 1;
                sleep(ms(20)).await;
            }
            Err(other) => panic!("try_send: {other}"),
        }
        assert!(accepted < 10_000, "the stream never stopped taking packets");
    }
    let queued_at_probe = socket.buffered_bytes();
    let mut ws = RawWs::connect(
        server.addr,
        &format!("EIO=4&transport=websocket&sid={}", socket.id()),
    )
    .await;
    ws.send(client_frame(0x81, b"2probe", true)).await;
    assert_eq!(ws.text().await.as_deref(), Some("3probe"));
    stream.read_to_end().await;
    let streamed = String::from_utf8_lossy(&stream.buffer).into_owned();
    let mut received: Vec<usize> = streamed
        .split("\r\n\r\n4m")
        .skip(1)
        .map(|part| part.split(':').next().unwrap().parse().unwrap())
        .collect();
    let on_stream = received.len();
    ws.send(client_frame(0x81, b"5", true)).await;
    while received.len() < accepted {
        let text = ws.text().await.expect("the WebSocket carries the rest");
        if let Some(rest) = text.strip_prefix("4m") {
            received.push(rest.split(':').next().unwrap().parse().unwrap());
        }
    }
    eprintln!(
        "item8: stalled stream upgraded: {accepted} messages of 16 KiB accepted, {queued_at_probe} bytes queued at 2probe; {on_stream} came on the stream, {} on the WebSocket",
        accepted - on_stream
    );
    assert!(streamed.contains("\r\n\r\n6\r\n"), "the stream ends with 6");
    assert_eq!(received, (0..accepted).collect::<Vec<_>>());
}

/// `send` of text holding U+001E is refused with an error that says why,
/// and the socket keeps working.
#[tokio::test]
async fn item8_record_separator_send_error_says_why() {
    let _shared = shared().await;
    let mut server = start(Polysock::builder()).await;
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket")).await;
    ws_next_text(&mut ws).await;
    let socket = server.socket().await;
    let error = socket.send("a\u{1e}b").await.expect_err("U+001E refused");
    eprintln!("item8: send of U+001E: {error:?}: {error}");
    assert_eq!(error, SendError::RecordSeparator);
    let text = error.to_string();
    assert!(
        text.contains("U+001E") && text.contains("separator"),
        "{text}"
    );
    socket.send("still works").await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "4still works");
}
