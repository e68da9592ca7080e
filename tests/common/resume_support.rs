//! Helpers for the resume tests (protocol-spec 11): open packets, resets
//! without a close frame, message frames, refusals.

#![allow(dead_code)]

use polysock::{CloseReason, Message, SessionEvent};

use crate::common::{ws_connect, ws_next_text, Reply, TestServer, Ws, WAIT};

pub const RS: char = '\u{1e}';

pub fn open_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.strip_prefix('0').expect("an open packet")).expect("open JSON")
}

pub fn text(message: Option<Message>) -> String {
    match message {
        Some(Message::Text(text)) => text,
        other => panic!("expected a text message, got {other:?}"),
    }
}

pub async fn recv(socket: &mut polysock::Socket) -> String {
    text(
        tokio::time::timeout(WAIT, socket.recv())
            .await
            .expect("a message in time"),
    )
}

/// Opens a resume session on a WebSocket; returns it and its sid.
pub async fn ws_resume_session(server: &TestServer) -> (Ws, String) {
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket&ext=1&resume=1")).await;
    let open = open_json(&ws_next_text(&mut ws).await);
    assert_eq!(open["resume"]["window"], 60_000, "{open}");
    (ws, open["sid"].as_str().unwrap().to_owned())
}

/// Drops a WebSocket's connection with a TCP reset: no close frame.
pub fn reset(ws: Ws) {
    if let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = ws.get_ref() {
        tcp.set_zero_linger().expect("SO_LINGER 0");
    }
    drop(ws);
}

/// The next message packet on a WebSocket, skipping acks.
pub async fn ws_message(ws: &mut Ws) -> String {
    loop {
        let frame = ws_next_text(ws).await;
        if !frame.starts_with('7') {
            return frame;
        }
    }
}

/// Waits for a session's Closed event and returns its reason.
pub async fn closed_reason(
    events: &mut tokio::sync::broadcast::Receiver<SessionEvent>,
    sid: &str,
) -> CloseReason {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(SessionEvent::Closed { id, reason, .. }) = events.recv().await {
                if id == sid {
                    return reason;
                }
            }
        }
    })
    .await
    .expect("the session closes in time")
}

/// The error body's detail and code.
pub fn refusal(reply: &Reply) -> (u64, String) {
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON error body");
    (
        body["code"].as_u64().unwrap(),
        body["detail"].as_str().unwrap().to_owned(),
    )
}
