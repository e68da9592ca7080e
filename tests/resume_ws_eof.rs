//! A WebSocket that ends with a bare EOF, no close frame (nginx's fast
//! shutdown, a proxy or a peer that closes its socket mid-session), is a
//! lost transport, as a reset is: a resume session is suspended and its
//! client resumes on another transport with the exact replay (protocol-spec
//! 11.6). tungstenite reports that EOF as a protocol error
//! ("connection reset without closing handshake"), which used to close the
//! session as a WebSocket protocol violation.
//!
//! The client here is a raw one: it half-closes its end (FIN) without a
//! close frame, then reads until the server ends its side, so the test
//! knows the server has seen the EOF before it resumes (no sleep).

mod common;
#[path = "common/raw.rs"]
mod raw;
#[path = "common/raw_ws.rs"]
mod raw_ws;
#[path = "common/resume_support.rs"]
mod resume_support;

use common::*;
use polysock::{CloseReason, Polysock, SessionEvent, Transport, TransportError};
use raw_ws::{client_frame, RawWs};
use resume_support::*;
use tokio::io::AsyncWriteExt;

/// Opens a resume session (or, with `resume` false, an ext session) on a
/// raw WebSocket; returns it and its sid.
async fn raw_session(server: &TestServer, resume: bool) -> (RawWs, String) {
    let query = if resume {
        "EIO=4&transport=websocket&ext=1&resume=1"
    } else {
        "EIO=4&transport=websocket&ext=1"
    };
    let mut ws = RawWs::connect(server.addr, query).await;
    let open = open_json(&ws.text().await.expect("the open packet"));
    assert_eq!(open["resume"].is_object(), resume, "{open}");
    let sid = open["sid"].as_str().expect("a sid").to_owned();
    (ws, sid)
}

/// The next message packet, skipping the server's acks.
async fn raw_message(ws: &mut RawWs) -> String {
    loop {
        let text = ws.text().await.expect("a message packet");
        if !text.starts_with('7') {
            return text;
        }
    }
}

/// Sends FIN without a close frame, then waits until the server has ended
/// its side (its close frame, or the end of the connection).
async fn eof_without_close(mut ws: RawWs) {
    ws.stream.shutdown().await.expect("half-close");
    let _ = ws.close_code().await;
}

#[tokio::test]
async fn a_bare_eof_suspends_a_resume_session_and_it_resumes_on_polling() {
    let mut server = start(Polysock::builder()).await;
    let mut events = server.polysock.events();
    let (mut ws, sid) = raw_session(&server, true).await;
    let mut socket = server.socket().await;
    for n in 1..=3 {
        socket.send(format!("s{n}")).await.unwrap();
    }
    for n in 1..=3 {
        assert_eq!(raw_message(&mut ws).await, format!("4s{n}"));
    }
    ws.send(client_frame(0x81, b"4c1", true)).await;
    assert_eq!(recv(&mut socket).await, "c1");
    // The client processed s1 and s2 only, then its connection ends.
    eof_without_close(ws).await;
    assert!(
        !socket.is_closed(),
        "a bare EOF must not close a resume session: {:?}",
        socket.close_reason()
    );
    // The application keeps sending while the session is suspended.
    socket.send("s4").await.unwrap();
    let reply = server
        .get(&format!(
            "EIO=4&transport=polling&ext=1&resume={sid}&last=2"
        ))
        .await;
    assert_eq!(reply.status, 200, "the resume is honoured: {}", reply.body);
    let open = open_json(&reply.body);
    assert_eq!(open["sid"], sid.as_str());
    assert_eq!(open["resumed"], 1, "the server had c1");
    let replay = server
        .get(&format!("EIO=4&transport=polling&sid={sid}&ack=2"))
        .await;
    assert_eq!(
        replay.body,
        format!("4s3{RS}4s4"),
        "exactly what was missed"
    );
    let post = server
        .post(&format!("EIO=4&transport=polling&sid={sid}&seq=2"), "4c2")
        .await;
    assert_eq!(post.body, "ok");
    assert_eq!(recv(&mut socket).await, "c2");
    assert_eq!(socket.transport(), Transport::Polling);
    assert!(!socket.is_closed());
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(match event {
            SessionEvent::Opened { .. } => "opened",
            SessionEvent::Suspended { .. } => "suspended",
            SessionEvent::Resumed { .. } => "resumed",
            SessionEvent::Closed { .. } => "closed",
            _ => "other",
        });
    }
    assert_eq!(
        seen,
        ["opened", "suspended", "resumed"],
        "one on_connect, suspended by the EOF, no close"
    );
}

#[tokio::test]
async fn a_bare_eof_closes_a_plain_session_as_a_lost_connection() {
    let mut server = start(Polysock::builder()).await;
    let (ws, _sid) = raw_session(&server, false).await;
    let socket = server.socket().await;
    eof_without_close(ws).await;
    tokio::time::timeout(WAIT, socket.closed())
        .await
        .expect("a session that cannot resume closes");
    assert_eq!(
        socket.close_reason(),
        Some(CloseReason::TransportError(TransportError::ConnectionLost)),
        "an EOF is a lost connection, not a protocol violation"
    );
}
