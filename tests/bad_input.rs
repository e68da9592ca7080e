//! The bad-input table of protocol-spec/09-errors.md §9.3, one test per
//! row: each bad request gets its exact status and Engine.IO code (or close
//! code), and a bystander session opened before it still echoes after it.
//!
//! Row 48 (origins) lives in tests/origins.rs with the origin policy.

mod common;
#[path = "common/raw.rs"]
mod raw;

use std::time::Duration;

use common::*;
use futures::SinkExt;
use polysock::{Builder, Polysock};
use tokio::io::AsyncWriteExt;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A polling session opened before the bad requests; it must still echo
/// after them.
struct Bystander {
    query: String,
}

impl Bystander {
    async fn open(server: &TestServer) -> Self {
        let (sid, _) = server.handshake("").await;
        Self {
            query: format!("EIO=4&transport=polling&sid={sid}"),
        }
    }

    async fn still_echoes(&self, server: &TestServer) {
        echoes(server, &self.query).await;
    }
}

/// Posts a message on a polling session and polls it back from the echo.
async fn echoes(server: &TestServer, query: &str) {
    let reply = server.post(query, "4still here").await;
    assert_eq!(reply.body, "ok", "POST to a bystander");
    let reply = server.get(query).await;
    assert_eq!(reply.body, "4still here", "the bystander's echo");
}

/// An echo server and its bystander.
async fn setup(builder: Builder) -> (TestServer, Bystander) {
    setup_with(builder, |serving| serving).await
}

/// [`setup`] with the HTTP server's limits adjusted.
async fn setup_with(
    builder: Builder,
    serving: impl FnOnce(Serving) -> Serving,
) -> (TestServer, Bystander) {
    let server = start_echo_with(builder, serving).await;
    let bystander = Bystander::open(&server).await;
    (server, bystander)
}

fn assert_error(reply: &Reply, status: u16, code: u64, what: &str) {
    assert_eq!(
        (reply.status, reply.error_code()),
        (status, Some(code)),
        "{what}: {}",
        reply.body
    );
    assert_eq!(reply.headers["content-type"], "application/json", "{what}");
}

/// A fresh polling session on the server: (sid, its polling query).
async fn victim(server: &TestServer, extra: &str) -> (String, String) {
    let (sid, _) = server.handshake(extra).await;
    let query = format!("EIO=4&transport=polling&sid={sid}");
    (sid, query)
}

/// Waits (bounded) until the session `sid` is closed.
async fn assert_closed(server: &TestServer, sid: &str) {
    server
        .eventually(&format!("session {sid} is closed"), || {
            server
                .polysock
                .socket(sid)
                .is_none_or(|socket| socket.is_closed())
        })
        .await;
}

/// Sends each request and expects the same error for all; the bystander
/// must echo afterwards.
async fn all_refused(requests: &[(&str, &str, &str)], status: u16, code: u64) {
    let (server, bystander) = setup(Polysock::builder()).await;
    for (method, query, body) in requests {
        let reply = server.request(method, query, body.to_string()).await;
        assert_error(&reply, status, code, &format!("{method} ?{query}"));
    }
    bystander.still_echoes(&server).await;
}

/// POSTs `body` to a fresh session: the given error, and the session closed.
async fn bad_post_closes(bodies: &[&[u8]], status: u16) {
    let (server, bystander) = setup(Polysock::builder()).await;
    for body in bodies {
        let (sid, query) = victim(&server, "").await;
        let reply = server.post(&query, body.to_vec()).await;
        assert_error(&reply, status, 3, &format!("POST {body:?}"));
        assert_closed(&server, &sid).await;
        let after = server.get(&query).await;
        assert!(
            after.body == "1" || after.error_code() == Some(1),
            "{body:?} then GET: {}",
            after.body
        );
    }
    bystander.still_echoes(&server).await;
}

// ----- EIO and transport -----------------------------------------------------

#[tokio::test]
async fn row01_missing_eio() {
    all_refused(&[("GET", "transport=polling", "")], 400, 5).await;
}

#[tokio::test]
async fn row02_eio_3() {
    all_refused(&[("GET", "EIO=3&transport=polling", "")], 400, 5).await;
}

#[tokio::test]
async fn row03_eio_not_exactly_4() {
    all_refused(
        &[
            ("GET", "EIO=4.0&transport=polling", ""),
            ("GET", "EIO=04&transport=polling", ""),
            ("GET", "EIO=&transport=polling", ""),
            ("GET", "EIO&transport=polling", ""),
        ],
        400,
        5,
    )
    .await;
}

#[tokio::test]
async fn row04_missing_transport() {
    all_refused(&[("GET", "EIO=4", "")], 400, 0).await;
}

#[tokio::test]
async fn row05_unknown_transport() {
    all_refused(
        &[
            ("GET", "EIO=4&transport=flashsocket", ""),
            ("GET", "EIO=4&transport=", ""),
            ("GET", "EIO=4&transport=POLLING", ""),
        ],
        400,
        0,
    )
    .await;
}

#[tokio::test]
async fn row06_streaming_without_ext() {
    all_refused(
        &[
            ("GET", "EIO=4&transport=xhr-streaming", ""),
            ("GET", "EIO=4&transport=htmlfile", ""),
        ],
        400,
        0,
    )
    .await;
}

#[tokio::test]
async fn row07_last_transport_counts() {
    all_refused(
        &[("GET", "EIO=4&transport=polling&transport=websocket", "")],
        400,
        3,
    )
    .await;
}

// ----- sid ---------------------------------------------------------------------

#[tokio::test]
async fn row08_unknown_sid() {
    all_refused(
        &[
            ("GET", "EIO=4&transport=polling&sid=doesnotexist", ""),
            ("POST", "EIO=4&transport=polling&sid=doesnotexist", "4x"),
        ],
        400,
        1,
    )
    .await;
}

#[tokio::test]
async fn row09_empty_sid() {
    all_refused(&[("GET", "EIO=4&transport=polling&sid=", "")], 400, 3).await;
}

#[tokio::test]
async fn row10_odd_sid_characters() {
    all_refused(
        &[
            ("GET", "EIO=4&transport=polling&sid=../../etc", ""),
            ("GET", "EIO=4&transport=polling&sid=%00", ""),
            ("GET", "EIO=4&transport=polling&sid=%2e%2e%2f", ""),
        ],
        400,
        1,
    )
    .await;
}

#[tokio::test]
async fn row11_overlong_sid() {
    let (server, bystander) = setup(Polysock::builder()).await;
    for length in [65, 10_000] {
        let query = format!("EIO=4&transport=polling&sid={}", "a".repeat(length));
        assert_error(
            &server.get(&query).await,
            400,
            3,
            &format!("sid of {length}"),
        );
    }
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row11a_bad_percent_encoding() {
    all_refused(
        &[
            ("GET", "EIO=4&transport=%zz", ""),
            ("GET", "EIO=4&transport=polling&sid=%ff", ""),
            ("GET", "EIO=4&transport=polling&sid=%4", ""),
        ],
        400,
        3,
    )
    .await;
}

// ----- methods -------------------------------------------------------------------

#[tokio::test]
async fn row12_handshake_by_post() {
    all_refused(&[("POST", "EIO=4&transport=polling", "4x")], 400, 2).await;
}

#[tokio::test]
async fn row13_other_method_with_sid() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let (_, query) = victim(&server, "").await;
    for method in ["PUT", "DELETE", "PATCH"] {
        assert_error(&server.request(method, &query, "4x").await, 400, 3, method);
    }
    echoes(&server, &query).await;
    bystander.still_echoes(&server).await;
}

// ----- POST bodies -----------------------------------------------------------------

#[tokio::test]
async fn row14_unknown_packet_type() {
    bad_post_closes(&[b"7", b"9oops"], 400).await;
}

#[tokio::test]
async fn row15_not_a_packet() {
    bad_post_closes(&[b"x", b"BAQID"], 400).await;
}

#[tokio::test]
async fn row16_invalid_or_truncated_base64() {
    bad_post_closes(&[b"b!!!!", b"bAQ", b"bAR=="], 400).await;
}

#[tokio::test]
async fn row17_non_utf8() {
    bad_post_closes(&[b"4\xff", b"4a\x1e4\xc3"], 400).await;
}

#[tokio::test]
async fn row18_empty_body() {
    bad_post_closes(&[b""], 400).await;
}

#[tokio::test]
async fn row19_trailing_separator() {
    bad_post_closes(&[b"4a\x1e", b"\x1e4a"], 400).await;
}

#[tokio::test]
async fn row20_payload_over_max() {
    let (server, bystander) = setup(Polysock::builder().max_payload(1000)).await;
    let (sid, query) = victim(&server, "").await;
    let reply = server.post(&query, format!("4{}", "x".repeat(1000))).await;
    assert_error(&reply, 413, 3, "maxPayload + 1 bytes");
    assert_closed(&server, &sid).await;
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row21_huge_content_length_without_body() {
    let (server, bystander) = setup(Polysock::builder().body_timeout(Duration::from_secs(5))).await;
    let (sid, query) = victim(&server, "").await;
    let request = raw::head(
        "POST",
        server.addr,
        &query,
        "Content-Length: 1000000000\r\nContent-Type: text/plain\r\n",
    );
    let started = Instant::now();
    let mut stream = raw::connect(server.addr).await;
    stream.write_all(request.as_bytes()).await.unwrap();
    let reply = raw::read_response(&mut stream, WAIT).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (Some(413), Some(3)),
        "{}",
        reply.text
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "413 at once, not after the body timeout ({:?})",
        started.elapsed()
    );
    assert_closed(&server, &sid).await;
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row22_stalled_body() {
    let (server, bystander) =
        setup(Polysock::builder().body_timeout(Duration::from_millis(500))).await;
    let (sid, query) = victim(&server, "").await;
    let request = raw::head("POST", server.addr, &query, "Content-Length: 100\r\n");
    let started = Instant::now();
    let mut stream = raw::connect(server.addr).await;
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(b"4123456789").await.unwrap();
    let reply = raw::read_response(&mut stream, WAIT).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (Some(408), Some(3)),
        "{}",
        reply.text
    );
    assert!(started.elapsed() >= Duration::from_millis(450));
    assert_closed(&server, &sid).await;
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row23_client_sends_open_or_ping() {
    bad_post_closes(&[b"0{}", b"2"], 400).await;
}

#[tokio::test]
async fn row24_post_after_close() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let (sid, query) = victim(&server, "").await;
    assert_eq!(server.post(&query, "1").await.body, "ok");
    assert_closed(&server, &sid).await;
    assert_error(
        &server.post(&query, "4late").await,
        400,
        1,
        "POST after close",
    );
    bystander.still_echoes(&server).await;
}

// ----- two at once -------------------------------------------------------------------

#[tokio::test]
async fn row25_overlapping_posts() {
    let (server, bystander) = setup(Polysock::builder().body_timeout(Duration::from_secs(2))).await;
    let (sid, query) = victim(&server, "").await;
    // The first POST announces 10 bytes and sends 2: it stays in progress.
    let mut first = raw::connect(server.addr).await;
    let head = raw::head("POST", server.addr, &query, "Content-Length: 10\r\n");
    first.write_all(head.as_bytes()).await.unwrap();
    first.write_all(b"4a").await.unwrap();
    // Until the server has started reading the first body, a second POST
    // does not overlap it and is answered `ok`; ask until it overlaps.
    let second = timeout(WAIT, async {
        loop {
            let reply = server.post(&query, "4b").await;
            if reply.status != 200 {
                return reply;
            }
            assert_eq!(reply.body, "ok");
        }
    })
    .await
    .expect("the overlap in time");
    assert_error(&second, 400, 3, "second POST");
    assert_closed(&server, &sid).await;
    drop(first);
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row26_two_polls_at_once() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let (sid, query) = victim(&server, "").await;
    let mut first = raw::connect(server.addr).await;
    let head = raw::head("GET", server.addr, &query, "");
    first.write_all(head.as_bytes()).await.unwrap();
    // Nothing is queued, so both GETs are pending at once, whichever the
    // server saw first: the later one is refused, the earlier gets the close.
    let (second, first) = tokio::join!(server.get(&query), raw::read_reply(&mut first, WAIT));
    let first_status = first.status;
    let outcomes = if first_status == Some(200) {
        (first.body().to_owned(), second.status, second.error_code())
    } else {
        assert_eq!(first_status, Some(400), "{}", first.text);
        assert!(first.text.contains("\"code\":3"), "{}", first.text);
        (second.body.clone(), 400, Some(3))
    };
    assert_eq!(outcomes, ("1".to_owned(), 400, Some(3)));
    assert_closed(&server, &sid).await;
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row27_two_streams_at_once() {
    let (server, bystander) = setup(Polysock::builder()).await;
    // A session opened on xhr-streaming, its stream still open.
    let mut first = server.stream("EIO=4&transport=xhr-streaming&ext=1").await;
    assert_eq!(first.status, 200);
    first
        .read_until(|b| String::from_utf8_lossy(b).contains("\"upgrades\""))
        .await;
    let text = String::from_utf8_lossy(&first.buffer).into_owned();
    let sid = text
        .split("\"sid\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let query = format!("EIO=4&transport=xhr-streaming&sid={sid}");
    assert_error(&server.get(&query).await, 400, 3, "second stream");
    first.read_to_end().await;
    let body = String::from_utf8_lossy(&first.buffer);
    assert!(body.contains("\r\n\r\n1{\"code\":1008,"), "{body}");
    assert!(body.ends_with("--\r\n"), "the end marker: {body}");
    assert_closed(&server, &sid).await;
    bystander.still_echoes(&server).await;
}

// ----- transports and upgrades ------------------------------------------------------

#[tokio::test]
async fn row28_transport_mismatch() {
    let (server, bystander) = setup(Polysock::builder()).await;
    for extra in ["", "&ext=1"] {
        let (sid, query) = victim(&server, extra).await;
        for transport in ["htmlfile", "xhr-streaming"] {
            let reply = server
                .get(&format!("EIO=4&transport={transport}&ext=1&sid={sid}"))
                .await;
            assert_error(&reply, 400, 3, &format!("{transport} for {extra:?}"));
        }
        echoes(&server, &query).await;
    }
    bystander.still_echoes(&server).await;
}

const UPGRADE_HEADERS: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

#[tokio::test]
async fn row29_upgrade_on_polling() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let (_, query) = victim(&server, "").await;
    for q in [query.as_str(), "EIO=4&transport=polling"] {
        let request = raw::head("GET", server.addr, q, UPGRADE_HEADERS);
        let reply = raw::exchange(server.addr, request.as_bytes(), WAIT).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (Some(400), Some(3)),
            "{}",
            reply.text
        );
    }
    echoes(&server, &query).await;
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row30_websocket_without_upgrade() {
    all_refused(&[("GET", "EIO=4&transport=websocket", "")], 400, 3).await;
}

#[tokio::test]
async fn row30b_websocket_with_bad_handshake_headers() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let bad = [
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n",
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 8\r\n",
        "Upgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n",
        "Upgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n",
    ];
    for headers in bad {
        let request = raw::head("GET", server.addr, "EIO=4&transport=websocket", headers);
        let reply = raw::exchange(server.addr, request.as_bytes(), WAIT).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (Some(400), Some(3)),
            "{headers:?}: {}",
            reply.text
        );
    }
    let request = raw::head(
        "POST",
        server.addr,
        "EIO=4&transport=websocket",
        UPGRADE_HEADERS,
    );
    let reply = raw::exchange(server.addr, request.as_bytes(), WAIT).await;
    assert_eq!((reply.status, reply.error_code()), (Some(400), Some(3)));
    bystander.still_echoes(&server).await;
}

/// Upgrades a polling session to WebSocket; returns the WebSocket.
async fn upgraded(server: &TestServer, sid: &str) -> Ws {
    let mut ws = ws_connect(&server.ws_url(&format!("EIO=4&transport=websocket&sid={sid}"))).await;
    ws.send(WsMessage::text("2probe")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "3probe");
    ws.send(WsMessage::text("5")).await.unwrap();
    ws
}

async fn ws_echoes(ws: &mut Ws) {
    ws.send(WsMessage::text("4ws here")).await.unwrap();
    assert_eq!(ws_next_text(ws).await, "4ws here");
}

#[tokio::test]
async fn row31_polling_after_upgrade() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let (sid, query) = victim(&server, "").await;
    let mut ws = upgraded(&server, &sid).await;
    ws_echoes(&mut ws).await;
    assert_error(&server.get(&query).await, 400, 3, "GET after upgrade");
    assert_error(
        &server.post(&query, "4x").await,
        400,
        3,
        "POST after upgrade",
    );
    ws_echoes(&mut ws).await;
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row32_second_websocket() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let (sid, _) = victim(&server, "").await;
    let mut ws = upgraded(&server, &sid).await;
    ws_echoes(&mut ws).await;
    // As the Engine.IO test suite requires: the second handshake completes
    // (101) and that WebSocket is closed at once; the first carries on.
    let mut second =
        ws_connect(&server.ws_url(&format!("EIO=4&transport=websocket&sid={sid}"))).await;
    match ws_next(&mut second).await {
        Some(WsMessage::Close(Some(frame))) => {
            assert_eq!(u16::from(frame.code), 1008);
            assert_eq!(frame.reason.as_str(), "session already upgraded");
        }
        other => panic!("expected a 1008 close, got {other:?}"),
    }
    ws_echoes(&mut ws).await;
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row33_invalid_callback() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let long = "a".repeat(65);
    for c in ["alert(1)", "a..b", "", long.as_str()] {
        let reply = server
            .get(&format!("EIO=4&transport=htmlfile&ext=1&c={c}"))
            .await;
        assert_error(&reply, 400, 3, &format!("c={c}"));
    }
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row34_malformed_ack() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let (sid, query) = victim(&server, "&ext=1").await;
    for ack in ["abc", "99999999999999999999999", "-1", ""] {
        let reply = server
            .get(&format!(
                "EIO=4&transport=xhr-streaming&ext=1&sid={sid}&ack={ack}"
            ))
            .await;
        assert_error(&reply, 400, 3, &format!("ack={ack}"));
    }
    echoes(&server, &query).await;
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row35_ack_out_of_range() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let mut stream = server.stream("EIO=4&transport=xhr-streaming&ext=1").await;
    stream
        .read_until(|b| b.windows(6).any(|w| w == b"\"sid\":"))
        .await;
    let text = String::from_utf8_lossy(&stream.buffer).into_owned();
    let sid = text.split("\"sid\":\"").nth(1).unwrap()[..32].to_owned();
    drop(stream);
    let reply = server
        .get(&format!(
            "EIO=4&transport=xhr-streaming&ext=1&sid={sid}&ack=1000"
        ))
        .await;
    assert_error(&reply, 400, 3, "ack above what was sent");
    assert_closed(&server, &sid).await;
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row36_odd_ext_and_protocols_are_accepted() {
    let (server, bystander) = setup(Polysock::builder().protocols(["chat"])).await;
    let (_, open) = server.handshake("&ext=2x").await;
    assert!(
        open.get("ext").is_none(),
        "ext=2x means no extensions: {open}"
    );
    let (_, open) = server.handshake("&ext=1&protocols=a%20b").await;
    assert_eq!(open["protocol"], "", "{open}");
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row36a_too_many_protocols() {
    let names: Vec<String> = (0..17).map(|n| format!("p{n}")).collect();
    let query = format!(
        "EIO=4&transport=polling&ext=1&protocols={}",
        names.join(",")
    );
    all_refused(&[("GET", query.as_str(), "")], 400, 3).await;
}

// ----- not the protocol at all -----------------------------------------------------

/// A refusal by the HTTP layer: one of `statuses`, no JSON, connection closed.
fn assert_http_refusal(reply: &raw::RawReply, statuses: &[u16], what: &str) {
    let head: String = reply.text.chars().take(200).collect();
    assert!(
        reply.status.is_some_and(|s| statuses.contains(&s)),
        "{what}: {head}"
    );
    assert_eq!(reply.error_code(), None, "{what}: no JSON");
    assert!(reply.closed, "{what}: connection closed");
}

#[tokio::test]
async fn row37_absurd_headers() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let huge = format!("X-Huge: {}\r\n", "a".repeat(1 << 20));
    let many: String = (0..10_000).map(|n| format!("X-H{n}: v\r\n")).collect();
    for (what, extra) in [("1 MiB header", huge), ("10000 headers", many)] {
        let request = raw::head("GET", server.addr, "EIO=4&transport=polling", &extra);
        let reply = raw::exchange(server.addr, request.as_bytes(), WAIT).await;
        assert_http_refusal(&reply, &[431, 400], what);
    }
    bystander.still_echoes(&server).await;
}

/// The limits of 10-limits.md §10.2 at their edge: a head of exactly
/// 16 KiB and exactly 100 headers are served, one byte or one header more
/// is refused by the HTTP layer.
#[tokio::test]
async fn row37a_head_at_the_limits() {
    let (server, bystander) = setup(Polysock::builder()).await;
    const QUERY: &str = "EIO=4&transport=polling";
    // raw::head writes Host and Connection; `extra` headers come on top.
    let headers =
        |extra: usize| -> String { (0..extra).map(|n| format!("X-H{n}: v\r\n")).collect() };
    let sized = |total: usize| -> String {
        let bare = raw::head("GET", server.addr, QUERY, "X-Pad: \r\n").len();
        let pad = "a".repeat(total - bare);
        raw::head("GET", server.addr, QUERY, &format!("X-Pad: {pad}\r\n"))
    };
    let cases = [
        (
            "100 headers",
            raw::head("GET", server.addr, QUERY, &headers(98)),
            true,
        ),
        (
            "101 headers",
            raw::head("GET", server.addr, QUERY, &headers(99)),
            false,
        ),
        ("head of 16384 bytes", sized(16 * 1024), true),
        ("head of 16385 bytes", sized(16 * 1024 + 1), false),
    ];
    for (what, request, served) in cases {
        let reply = raw::exchange(server.addr, request.as_bytes(), WAIT).await;
        if served {
            assert_eq!(reply.status, Some(200), "{what}: {}", reply.text);
            assert!(reply.body().starts_with("0{"), "{what}: the open packet");
        } else {
            assert_http_refusal(&reply, &[431, 400], what);
        }
    }
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row38_huge_request_line() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let query = format!("EIO=4&transport=polling&pad={}", "a".repeat(100 * 1024));
    let request = raw::head("GET", server.addr, &query, "");
    let reply = raw::exchange(server.addr, request.as_bytes(), WAIT).await;
    // The request line is part of the 16 KiB head: 431 from polysock::serve.
    assert_http_refusal(&reply, &[414, 431, 400], "100 KiB request line");
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row39_bytes_that_are_not_http() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let tls_hello: &[u8] = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\x01\x02\x03";
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let cases: [(&str, &[u8]); 4] = [
        ("TLS hello", tls_hello),
        ("random bytes", &random),
        ("NUL bytes", &[0u8; 64]),
        ("bad request line", b"GET\r\n\r\n"),
    ];
    for (what, bytes) in cases {
        let reply = raw::exchange(server.addr, bytes, WAIT).await;
        assert!(reply.closed, "{what}: connection closed");
        assert!(
            reply.status.is_none() || reply.status == Some(400),
            "{what}: 400 or nothing: {}",
            reply.text
        );
        assert_eq!(reply.error_code(), None, "{what}: no JSON");
    }
    bystander.still_echoes(&server).await;
}

/// A head sent one byte every 100 ms and never finished: closed with no
/// response once the head timeout (1 s here, 10 s by default) passes.
#[tokio::test]
async fn row40_slowloris() {
    let head_timeout = Duration::from_secs(1);
    let margin = Duration::from_secs(3);
    let (server, bystander) = setup_with(Polysock::builder(), |serving| {
        serving.header_read_timeout(head_timeout)
    })
    .await;
    let request = raw::head("GET", server.addr, "EIO=4&transport=polling", "");
    // All but the last byte: the head is never complete. At 100 ms a byte
    // this takes far longer than the timeout.
    let partial = &request.as_bytes()[..request.len() - 1];
    assert!(partial.len() as u32 * Duration::from_millis(100) > head_timeout + margin);
    let mut stream = raw::connect(server.addr).await;
    let started = Instant::now();
    let mut closed_after = None;
    for byte in partial {
        if stream.write_all(&[*byte]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let reply = raw::read_reply(&mut stream, Duration::from_millis(100)).await;
        assert_eq!(reply.text, "", "no response to an unfinished head");
        if reply.closed {
            closed_after = Some(started.elapsed());
            break;
        }
    }
    let closed_after = closed_after.expect("connection closed before the head was sent");
    assert!(
        closed_after >= head_timeout - Duration::from_millis(100),
        "closed by the head timeout, not before it: {closed_after:?}"
    );
    assert!(
        closed_after <= head_timeout + margin,
        "closed within the head timeout and a margin: {closed_after:?}"
    );
    bystander.still_echoes(&server).await;
}

// ----- WebSocket frames --------------------------------------------------------------

/// Opens a WebSocket session, sends `frame`, expects a close frame `code`.
async fn ws_frame_closes(builder: Builder, frames: Vec<WsMessage>, code: u16) {
    let (server, bystander) = setup(builder).await;
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket")).await;
    let open = ws_next_text(&mut ws).await;
    let sid = open.split("\"sid\":\"").nth(1).unwrap()[..32].to_owned();
    for frame in frames {
        let _ = ws.send(frame).await;
    }
    let got = loop {
        match ws_next(&mut ws).await {
            Some(WsMessage::Close(frame)) => break frame.map(|f| u16::from(f.code)),
            Some(WsMessage::Text(text)) if text.as_str().starts_with('1') => continue,
            Some(WsMessage::Text(text)) if text.as_str() == "2" => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(got, Some(code));
    assert_closed(&server, &sid).await;
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row41_ws_unknown_packet_type() {
    ws_frame_closes(Polysock::builder(), vec![WsMessage::text("9")], 1008).await;
}

#[tokio::test]
async fn row42_ws_invalid_utf8() {
    let frame = Frame::message(vec![b'4', 0xff, 0xfe], OpCode::Data(Data::Text), true);
    ws_frame_closes(Polysock::builder(), vec![WsMessage::Frame(frame)], 1007).await;
}

#[tokio::test]
async fn row43_ws_message_over_max_in_fragments() {
    let chunk = vec![b'x'; 400];
    let mut frames = vec![WsMessage::Frame(Frame::message(
        [b"4".as_slice(), &chunk].concat(),
        OpCode::Data(Data::Text),
        false,
    ))];
    for n in 0..4 {
        frames.push(WsMessage::Frame(Frame::message(
            chunk.clone(),
            OpCode::Data(Data::Continue),
            n == 3,
        )));
    }
    ws_frame_closes(Polysock::builder().max_payload(1000), frames, 1009).await;
}

#[tokio::test]
async fn row44_ws_ping_from_the_client() {
    ws_frame_closes(Polysock::builder(), vec![WsMessage::text("2")], 1008).await;
}

#[tokio::test]
async fn row45_probe_speaks_out_of_turn() {
    let (server, bystander) = setup(Polysock::builder()).await;
    let (sid, query) = victim(&server, "").await;
    let mut ws = ws_connect(&server.ws_url(&format!("EIO=4&transport=websocket&sid={sid}"))).await;
    ws.send(WsMessage::text("4hi")).await.unwrap();
    match ws_next(&mut ws).await {
        Some(WsMessage::Close(frame)) => {
            assert_eq!(frame.map(|f| u16::from(f.code)), Some(1008))
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    echoes(&server, &query).await;
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row46_silent_probe() {
    let (server, bystander) =
        setup(Polysock::builder().upgrade_timeout(Duration::from_millis(300))).await;
    let (sid, query) = victim(&server, "").await;
    let mut ws = ws_connect(&server.ws_url(&format!("EIO=4&transport=websocket&sid={sid}"))).await;
    let started = Instant::now();
    match timeout(WAIT, ws_next(&mut ws))
        .await
        .expect("closed in time")
    {
        Some(WsMessage::Close(_)) | None => {}
        other => panic!("expected the probe closed, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(250));
    echoes(&server, &query).await;
    // The session can still upgrade afterwards.
    let mut ws = upgraded(&server, &sid).await;
    ws_echoes(&mut ws).await;
    bystander.still_echoes(&server).await;
}

#[tokio::test]
async fn row47_session_limit() {
    let (server, bystander) = setup(
        Polysock::builder()
            .max_sessions(2)
            .max_sessions_per_client(2),
    )
    .await;
    server.handshake("").await;
    for query in [
        "EIO=4&transport=polling",
        "EIO=4&transport=xhr-streaming&ext=1",
    ] {
        assert_error(&server.get(query).await, 503, 3, query);
    }
    let request = raw::head(
        "GET",
        server.addr,
        "EIO=4&transport=websocket",
        UPGRADE_HEADERS,
    );
    let reply = raw::exchange(server.addr, request.as_bytes(), WAIT).await;
    assert_eq!((reply.status, reply.error_code()), (Some(503), Some(3)));
    bystander.still_echoes(&server).await;
}
