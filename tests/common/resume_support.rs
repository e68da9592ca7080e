//! Helpers for the resume tests (protocol-spec 11): open packets, resets
//! without a close frame, message frames, refusals.

#![allow(dead_code)]

use polysock::{CloseReason, Message, SessionEvent, Transport};

use crate::common::{ws_connect, ws_next_text, Reply, Streamed, TestServer, Ws, WAIT};

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

/// Waits for a session's Suspended event; returns the kinds of the events
/// seen before it (of any session) and the transport it lost.
pub async fn suspended(
    events: &mut tokio::sync::broadcast::Receiver<SessionEvent>,
    sid: &str,
) -> (Vec<&'static str>, Transport) {
    tokio::time::timeout(WAIT, async {
        let mut before = Vec::new();
        loop {
            match events.recv().await {
                Ok(SessionEvent::Suspended { id, transport }) if id == sid => {
                    return (before, transport)
                }
                Ok(SessionEvent::Opened { .. }) => before.push("opened"),
                Ok(SessionEvent::Resumed { .. }) => before.push("resumed"),
                Ok(SessionEvent::Closed { .. }) => before.push("closed"),
                _ => before.push("other"),
            }
        }
    })
    .await
    .expect("the session is suspended in time")
}

/// The error body's detail and code.
pub fn refusal(reply: &Reply) -> (u64, String) {
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON error body");
    (
        body["code"].as_u64().unwrap(),
        body["detail"].as_str().unwrap().to_owned(),
    )
}

/// The packets of a streaming response body read so far (multipart parts
/// or htmlfile script calls), and whether it ended.
pub fn stream_packets(
    transport: Transport,
    content_type: &str,
    buffer: &[u8],
) -> (Vec<String>, bool) {
    let text = String::from_utf8_lossy(buffer);
    let mut packets = Vec::new();
    if transport == Transport::XhrStreaming {
        let boundary = content_type
            .split("boundary=\"")
            .nth(1)
            .unwrap()
            .trim_end_matches('"');
        let delimiter = format!("\r\n--{boundary}");
        let mut parts = text.split(delimiter.as_str()).skip(1).peekable();
        while let Some(part) = parts.next() {
            if part.starts_with("--") {
                return (packets, true);
            }
            if parts.peek().is_none() {
                break;
            }
            let (_, packet) = part.split_once("\r\n\r\n").expect("part headers");
            packets.push(packet.to_owned());
        }
        return (packets, false);
    }
    for chunk in text.split("<script>p(").skip(1) {
        let Some((literal, _)) = chunk.split_once(");</script>\n") else {
            break;
        };
        if literal == "null" {
            return (packets, true);
        }
        packets.push(serde_json::from_str(literal).expect("a string literal"));
    }
    (packets, false)
}

/// Reads until a stream holds `count` packets other than acks; returns them.
pub async fn stream_read(transport: Transport, stream: &mut Streamed, count: usize) -> Vec<String> {
    let content_type = stream.headers["content-type"].to_str().unwrap().to_owned();
    let without_acks = |buffer: &[u8]| -> Vec<String> {
        let (packets, _) = stream_packets(transport, &content_type, buffer);
        packets
            .into_iter()
            .filter(|p| !p.starts_with('7'))
            .collect()
    };
    stream
        .read_until(|buffer| without_acks(buffer).len() >= count)
        .await;
    without_acks(&stream.buffer)
}
