//! Resume retention with its own bound (protocol-spec 11.4, 11.7): a
//! written message leaves the send queue at once, so a burst larger than
//! the queue flows; past `resume_buffer` the oldest copies go, the session
//! runs on, and only a resume that needs a dropped copy is refused
//! (`resume_overflow`), closing the session with its own reason.

mod common;
#[path = "common/resume_support.rs"]
mod resume_support;

use std::sync::Arc;

use common::*;
use futures::SinkExt;
use polysock::{CloseReason, Polysock, Transport};
use resume_support::*;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const BURST: usize = 400;

/// An echo server whose send queue holds 8 messages.
async fn small_queue_echo() -> TestServer {
    start_echo(Polysock::builder().max_queued_packets(8)).await
}

fn burst_message(n: usize) -> String {
    format!("m{n:04}")
}

/// The client sends the whole burst before it reads anything, then reads
/// and acknowledges as a client does (every 16 messages): on the old code
/// the echoes' copies held the queue, the server stopped reading, and the
/// acks sat behind the burst on the same connection.
#[tokio::test]
async fn a_burst_larger_than_the_queue_flows_on_websocket() {
    let server = small_queue_echo().await;
    let (mut ws, _sid) = ws_resume_session(&server).await;
    for n in 0..BURST {
        ws.feed(WsMessage::text(format!("4{}", burst_message(n))))
            .await
            .unwrap();
    }
    ws.flush().await.unwrap();
    for n in 0..BURST {
        assert_eq!(ws_message(&mut ws).await, format!("4{}", burst_message(n)));
        if (n + 1) % 16 == 0 {
            ws.send(WsMessage::text(format!("7{}", n + 1)))
                .await
                .unwrap();
        }
    }
}

/// Polling: one POST with the burst while GETs (each acknowledging what
/// came before) collect the echoes.
#[tokio::test]
async fn a_burst_larger_than_the_queue_flows_on_polling() {
    let server = Arc::new(small_queue_echo().await);
    let (sid, _) = server.handshake("&ext=1&resume=1").await;
    let body: Vec<String> = (0..BURST)
        .map(|n| format!("4{}", burst_message(n)))
        .collect();
    let post = {
        let server = server.clone();
        let sid = sid.clone();
        tokio::spawn(async move {
            server
                .post(
                    &format!("EIO=4&transport=polling&sid={sid}&seq=1"),
                    body.join(&RS.to_string()),
                )
                .await
        })
    };
    let mut got = Vec::new();
    while got.len() < BURST {
        let reply = server
            .get(&format!(
                "EIO=4&transport=polling&sid={sid}&ack={}",
                got.len()
            ))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        for packet in reply.body.split(RS) {
            if let Some(text) = packet.strip_prefix('4') {
                got.push(text.to_owned());
            } else if packet == "2" {
                server
                    .post(&format!("EIO=4&transport=polling&sid={sid}"), "3")
                    .await;
            }
        }
    }
    let expected: Vec<String> = (0..BURST).map(burst_message).collect();
    assert_eq!(got, expected);
    assert_eq!(post.await.unwrap().body, "ok");
}

/// xhr-streaming: one POST with the burst while the stream is read; the
/// client acknowledges only at the end (the POST is the one it has).
#[tokio::test]
async fn a_burst_larger_than_the_queue_flows_on_xhr_streaming() {
    let transport = Transport::XhrStreaming;
    let server = Arc::new(small_queue_echo().await);
    let mut stream = server
        .stream("EIO=4&transport=xhr-streaming&ext=1&resume=1")
        .await;
    let first = stream_read(transport, &mut stream, 1).await;
    let sid = open_json(&first[0])["sid"].as_str().unwrap().to_owned();
    let body: Vec<String> = (0..BURST)
        .map(|n| format!("4{}", burst_message(n)))
        .collect();
    let post = {
        let server = server.clone();
        let sid = sid.clone();
        tokio::spawn(async move {
            server
                .post(
                    &format!("EIO=4&transport=xhr-streaming&sid={sid}&seq=1"),
                    body.join(&RS.to_string()),
                )
                .await
        })
    };
    let got = stream_read(transport, &mut stream, BURST + 1).await;
    let messages: Vec<String> = got[1..]
        .iter()
        .filter(|p| p.as_str() != "2")
        .cloned()
        .collect();
    let expected: Vec<String> = (0..BURST)
        .map(|n| format!("4{}", burst_message(n)))
        .collect();
    assert_eq!(messages, expected);
    assert_eq!(post.await.unwrap().body, "ok");
}

/// Past the bound the oldest copies go and the session runs on; a resume
/// that needs one of them is refused `resume_overflow` and closes the
/// session with `CloseReason::ResumeOverflow`; a later resume is told the
/// same. A resume that needs only copies still kept works.
#[tokio::test]
async fn a_resume_that_needs_a_dropped_copy_is_refused_resume_overflow() {
    let mut server = start(Polysock::builder().resume_buffer(4, 64 * 1024)).await;
    let mut events = server.polysock.events();
    // Two sessions, the same traffic: 10 messages read, none acknowledged.
    let mut lost = Vec::new();
    for _ in 0..2 {
        let (mut ws, sid) = ws_resume_session(&server).await;
        let socket = server.socket().await;
        for n in 1..=10 {
            socket.send(format!("s{n}")).await.unwrap();
        }
        for n in 1..=10 {
            assert_eq!(ws_message(&mut ws).await, format!("4s{n}"));
        }
        assert!(!socket.is_closed(), "dropping copies closes nothing");
        reset(ws);
        lost.push((sid, socket));
    }
    // The first client has s1..s6: s7..s10 are kept, the resume works.
    let (sid, socket) = &lost[0];
    let mut ws = ws_connect(&server.ws_url(&format!(
        "EIO=4&transport=websocket&ext=1&resume={sid}&last=6"
    )))
    .await;
    assert_eq!(open_json(&ws_next_text(&mut ws).await)["resumed"], 0);
    for n in 7..=10 {
        assert_eq!(ws_message(&mut ws).await, format!("4s{n}"));
    }
    assert!(!socket.is_closed());
    // The second has s1..s2 only: s3 is gone.
    let (sid, socket) = &lost[1];
    let query = format!("EIO=4&transport=polling&ext=1&resume={sid}&last=2");
    let reply = server.get(&query).await;
    assert_eq!(reply.status, 400);
    assert_eq!(refusal(&reply), (1, "resume buffer overflowed".into()));
    assert_eq!(
        closed_reason(&mut events, sid).await,
        CloseReason::ResumeOverflow
    );
    assert_eq!(socket.close_reason(), Some(CloseReason::ResumeOverflow));
    assert_eq!(CloseReason::ResumeOverflow.code(), 1006);
    assert_eq!(
        CloseReason::ResumeOverflow.frame().reason,
        "resume buffer overflowed"
    );
    let again = server.get(&query).await;
    assert_eq!(refusal(&again), (1, "resume buffer overflowed".into()));
}

/// A polling GET whose `ack` asks for a replay of dropped copies is
/// refused the same way.
#[tokio::test]
async fn a_polling_ack_that_needs_a_dropped_copy_closes_with_resume_overflow() {
    let mut server = start(Polysock::builder().resume_buffer(4, 64 * 1024)).await;
    let (sid, _) = server.handshake("&ext=1&resume=1").await;
    let socket = server.socket().await;
    let get = |ack: u64| format!("EIO=4&transport=polling&sid={sid}&ack={ack}");
    for n in 1..=10 {
        socket.send(format!("s{n}")).await.unwrap();
    }
    let first = server.get(&get(0)).await;
    assert_eq!(first.body.split(RS).count(), 10);
    // That response was lost after s2.
    let reply = server.get(&get(2)).await;
    assert_eq!(reply.status, 400);
    assert_eq!(refusal(&reply), (1, "resume buffer overflowed".into()));
    server
        .eventually("the session closes", || socket.is_closed())
        .await;
    assert_eq!(socket.close_reason(), Some(CloseReason::ResumeOverflow));
}

/// Retained bytes stay within `resume_buffer_bytes` while a client reads
/// without acknowledging, and while the application keeps sending after
/// the loss (the queue's own bound holds those).
#[tokio::test]
async fn retained_bytes_stay_within_the_bound_while_the_application_keeps_sending() {
    const RETAIN: usize = 2048;
    const QUEUE: usize = 4096;
    let mut server = start(
        Polysock::builder()
            .resume_buffer(4096, RETAIN)
            .max_queued_bytes(QUEUE),
    )
    .await;
    let mut events = server.polysock.events();
    let (mut ws, sid) = ws_resume_session(&server).await;
    let socket = server.socket().await;
    let line = "x".repeat(100);
    for n in 0..100 {
        socket.send(format!("{n:03}{line}")).await.unwrap();
        assert!(socket.retained_bytes() <= RETAIN, "{n}");
    }
    for n in 0..100 {
        assert_eq!(ws_message(&mut ws).await, format!("4{n:03}{line}"));
    }
    assert!(socket.retained_bytes() <= RETAIN);
    assert!(
        socket.retained_bytes() > RETAIN / 2,
        "the bound was reached"
    );
    reset(ws);
    suspended(&mut events, &sid).await;
    let mut sent = 0;
    loop {
        match socket.try_send(format!("{sent:03}{line}")) {
            Ok(()) => sent += 1,
            Err(polysock::TrySendError::Full(_)) => break,
            Err(other) => panic!("{other}"),
        }
        assert!(socket.retained_bytes() <= RETAIN);
        assert!(socket.buffered_bytes() <= RETAIN + QUEUE + line.len() + 64);
    }
    assert!(sent > 0, "the queue took some");
    assert!(!socket.is_closed(), "suspended, not closed");
}

/// One message larger than the retention bound is kept alone, so it can be
/// replayed after a loss.
#[tokio::test]
async fn a_message_larger_than_the_bound_is_kept_alone_and_replayed() {
    let mut server = start(Polysock::builder().resume_buffer(4096, 1024)).await;
    let (mut ws, sid) = ws_resume_session(&server).await;
    let socket = server.socket().await;
    let big = "b".repeat(5000);
    socket.send("small").await.unwrap();
    socket.send(big.clone()).await.unwrap();
    assert_eq!(ws_message(&mut ws).await, "4small");
    assert_eq!(ws_message(&mut ws).await, format!("4{big}"));
    reset(ws);
    let mut ws = ws_connect(&server.ws_url(&format!(
        "EIO=4&transport=websocket&ext=1&resume={sid}&last=1"
    )))
    .await;
    assert!(open_json(&ws_next_text(&mut ws).await)["resumed"].is_u64());
    assert_eq!(ws_message(&mut ws).await, format!("4{big}"));
    assert!(!socket.is_closed());
}
