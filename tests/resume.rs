//! The resume extension (protocol-spec 11) against a real server: a
//! session whose transport is lost is suspended, its client resumes on the
//! same or another transport, and nothing is lost, duplicated or reordered
//! either way; every refusal; the window; the bounds while suspended.

mod common;

use std::time::Duration;

use common::*;
use futures::SinkExt;
use polysock::{CloseReason, Message, Polysock, SessionEvent, Transport};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const RS: char = '\u{1e}';

fn open_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.strip_prefix('0').expect("an open packet")).expect("open JSON")
}

fn text(message: Option<Message>) -> String {
    match message {
        Some(Message::Text(text)) => text,
        other => panic!("expected a text message, got {other:?}"),
    }
}

async fn recv(socket: &mut polysock::Socket) -> String {
    text(
        tokio::time::timeout(WAIT, socket.recv())
            .await
            .expect("a message in time"),
    )
}

/// Opens a resume session on a WebSocket; returns it and its sid.
async fn ws_resume_session(server: &TestServer) -> (Ws, String) {
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket&ext=1&resume=1")).await;
    let open = open_json(&ws_next_text(&mut ws).await);
    assert_eq!(open["resume"]["window"], 60_000, "{open}");
    (ws, open["sid"].as_str().unwrap().to_owned())
}

/// Drops a WebSocket's connection with a TCP reset: no close frame.
fn reset(ws: Ws) {
    if let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = ws.get_ref() {
        tcp.set_zero_linger().expect("SO_LINGER 0");
    }
    drop(ws);
}

/// The next message packet on a WebSocket, skipping acks.
async fn ws_message(ws: &mut Ws) -> String {
    loop {
        let frame = ws_next_text(ws).await;
        if !frame.starts_with('7') {
            return frame;
        }
    }
}

/// Waits for a session's Closed event and returns its reason.
async fn closed_reason(
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
fn refusal(reply: &Reply) -> (u64, String) {
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON error body");
    (
        body["code"].as_u64().unwrap(),
        body["detail"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn websocket_lost_mid_traffic_resumes_on_websocket_with_exact_replay() {
    let mut server = start(Polysock::builder()).await;
    let mut events = server.polysock.events();
    let (mut ws, sid) = ws_resume_session(&server).await;
    let mut socket = server.socket().await;
    for n in 1..=5 {
        socket.send(format!("s{n}")).await.unwrap();
    }
    for n in 1..=5 {
        assert_eq!(ws_message(&mut ws).await, format!("4s{n}"));
    }
    for n in 1..=3 {
        ws.send(WsMessage::text(format!("4c{n}"))).await.unwrap();
    }
    for n in 1..=3 {
        assert_eq!(recv(&mut socket).await, format!("c{n}"));
    }
    // The connection dies; the client had processed only s1..s3.
    reset(ws);
    // The application keeps sending while the session is suspended.
    for n in 6..=8 {
        socket.send(format!("s{n}")).await.unwrap();
    }
    let mut ws = ws_connect(&server.ws_url(&format!(
        "EIO=4&transport=websocket&ext=1&resume={sid}&last=3"
    )))
    .await;
    let open = open_json(&ws_next_text(&mut ws).await);
    assert_eq!(open["sid"], sid.as_str());
    assert_eq!(open["resumed"], 3, "the server had c1..c3");
    assert_eq!(open["resume"]["window"], 60_000);
    for n in 4..=8 {
        assert_eq!(
            ws_message(&mut ws).await,
            format!("4s{n}"),
            "replay in order"
        );
    }
    ws.send(WsMessage::text("4c4")).await.unwrap();
    assert_eq!(recv(&mut socket).await, "c4", "no duplicate of c1..c3");
    // The client acknowledges everything: the server frees it.
    ws.send(WsMessage::text("78")).await.unwrap();
    server
        .eventually("acknowledged messages are freed", || {
            socket.buffered_bytes() == 0
        })
        .await;
    assert!(!socket.is_closed(), "the application never saw a close");
    assert_eq!(server.polysock.socket_count(), 1);
    // One Opened (one on_connect), one Resumed, no Closed.
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(match event {
            SessionEvent::Opened { .. } => "opened",
            SessionEvent::Resumed { .. } => "resumed",
            SessionEvent::Closed { .. } => "closed",
            _ => "other",
        });
    }
    assert_eq!(seen, ["opened", "resumed"]);
}

#[tokio::test]
async fn acks_come_before_heartbeats_and_after_sixteen_messages() {
    let mut server = start(Polysock::builder()).await;
    let (mut ws, _sid) = ws_resume_session(&server).await;
    let mut socket = server.socket().await;
    for n in 1..=16 {
        ws.send(WsMessage::text(format!("4c{n}"))).await.unwrap();
    }
    for n in 1..=16 {
        assert_eq!(recv(&mut socket).await, format!("c{n}"));
    }
    // Sixteen unacknowledged: the ack goes out at once, alone.
    assert_eq!(ws_next_text(&mut ws).await, "716");
    ws.send(WsMessage::text("4c17")).await.unwrap();
    assert_eq!(recv(&mut socket).await, "c17");
    // One more: within 100 ms, or first in the next batch.
    socket.send("s1").await.unwrap();
    let first = ws_next_text(&mut ws).await;
    assert_eq!(first, "717");
    assert_eq!(ws_next_text(&mut ws).await, "4s1");
}

#[tokio::test]
async fn polling_get_lost_is_replayed_and_a_resent_post_is_not_duplicated() {
    let mut server = start(Polysock::builder()).await;
    let (sid, open) = server.handshake("&ext=1&resume=1").await;
    assert_eq!(open["resume"]["window"], 60_000);
    let mut socket = server.socket().await;
    for n in 1..=3 {
        socket.send(format!("s{n}")).await.unwrap();
    }
    let get = |ack: u64| format!("EIO=4&transport=polling&sid={sid}&ack={ack}");
    let first = server.get(&get(0)).await;
    assert_eq!(first.body, format!("4s1{RS}4s2{RS}4s3"));
    // That response never reached the client: it asks again with ack=0.
    let again = server.get(&get(0)).await;
    assert_eq!(again.body, first.body, "replayed, same order");
    // POST twice (the browser re-sent it), then the next one.
    let post = |seq: u64| format!("EIO=4&transport=polling&sid={sid}&seq={seq}");
    assert_eq!(
        server.post(&post(1), format!("4c1{RS}4c2")).await.body,
        "ok"
    );
    assert_eq!(
        server.post(&post(1), format!("4c1{RS}4c2")).await.body,
        "ok"
    );
    assert_eq!(
        server.post(&post(2), format!("4c2{RS}4c3")).await.body,
        "ok"
    );
    for n in 1..=3 {
        assert_eq!(recv(&mut socket).await, format!("c{n}"));
    }
    socket.send("s4").await.unwrap();
    let next = server.get(&get(3)).await;
    assert_eq!(
        next.body,
        format!("73{RS}4s4"),
        "the ack first, then only what is new"
    );
    // A gap is a protocol error.
    let gap = server.post(&post(9), "4c9").await;
    assert_eq!(gap.status, 400);
    assert_eq!(refusal(&gap), (3, "message sequence out of range".into()));
    server
        .eventually("the session closes", || socket.is_closed())
        .await;
    assert!(!matches!(
        socket.close_reason(),
        Some(CloseReason::ResumeWindowOver)
    ));
    let mut seen = Vec::new();
    while let Some(message) = socket.recv().await {
        seen.push(message);
    }
    assert!(seen.is_empty(), "nothing after the gap: {seen:?}");
}

#[tokio::test]
async fn an_ack_out_of_range_is_a_protocol_error() {
    let mut server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("&ext=1&resume=1").await;
    let socket = server.socket().await;
    let reply = server
        .post(&format!("EIO=4&transport=polling&sid={sid}"), "75")
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(refusal(&reply), (3, "acknowledgement out of range".into()));
    server
        .eventually("the session closes", || socket.is_closed())
        .await;
    // On a WebSocket: closed 1008 "invalid packet".
    let (mut ws, _) = ws_resume_session(&server).await;
    ws.send(WsMessage::text("79")).await.unwrap();
    loop {
        match ws_next(&mut ws).await {
            Some(WsMessage::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), 1008);
                assert_eq!(frame.reason.as_str(), "invalid packet");
                break;
            }
            Some(WsMessage::Text(_)) => {}
            other => panic!("expected the close, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn polling_resumes_on_a_websocket_and_websocket_on_polling() {
    let mut server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("&ext=1&resume=1").await;
    let mut socket = server.socket().await;
    for n in 1..=3 {
        socket.send(format!("s{n}")).await.unwrap();
    }
    let lost = server
        .get(&format!("EIO=4&transport=polling&sid={sid}&ack=0"))
        .await;
    assert_eq!(lost.body, format!("4s1{RS}4s2{RS}4s3"));
    assert_eq!(
        server
            .post(&format!("EIO=4&transport=polling&sid={sid}&seq=1"), "4c1")
            .await
            .body,
        "ok"
    );
    assert_eq!(recv(&mut socket).await, "c1");
    // The client lost that GET's response and comes back on a WebSocket.
    let mut ws = ws_connect(&server.ws_url(&format!(
        "EIO=4&transport=websocket&ext=1&resume={sid}&last=0"
    )))
    .await;
    let open = open_json(&ws_next_text(&mut ws).await);
    assert_eq!(open["resumed"], 1);
    assert_eq!(open["upgrades"], serde_json::json!([]));
    for n in 1..=3 {
        assert_eq!(ws_message(&mut ws).await, format!("4s{n}"));
    }
    assert_eq!(socket.transport(), Transport::WebSocket);
    ws.send(WsMessage::text("4c2")).await.unwrap();
    assert_eq!(recv(&mut socket).await, "c2");
    socket.send("s4").await.unwrap();
    assert_eq!(ws_message(&mut ws).await, "4s4");
    // Now the WebSocket dies and the client comes back on polling, having
    // processed s1..s3 only.
    reset(ws);
    socket.send("s5").await.unwrap();
    let reply = server
        .get(&format!(
            "EIO=4&transport=polling&ext=1&resume={sid}&last=3"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let open = open_json(&reply.body);
    assert_eq!(open["resumed"], 2);
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    let replay = server
        .get(&format!("EIO=4&transport=polling&sid={sid}&ack=3"))
        .await;
    assert_eq!(replay.body, format!("4s4{RS}4s5"));
    assert_eq!(socket.transport(), Transport::Polling);
    assert!(!socket.is_closed());
    assert_eq!(server.polysock.socket_count(), 1);
}

#[tokio::test]
async fn every_refusal_is_distinct() {
    let mut server = start(Polysock::builder()).await;
    let resume =
        |sid: &str, last: u64| format!("EIO=4&transport=polling&ext=1&resume={sid}&last={last}");
    let unknown = server.get(&resume("0123456789abcdef", 0)).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(refusal(&unknown), (1, "session unknown".into()));

    let (plain, _) = server.handshake("&ext=1").await;
    let _plain_socket = server.socket().await;
    let reply = server.get(&resume(&plain, 0)).await;
    assert_eq!(refusal(&reply), (1, "session cannot resume".into()));

    let (sid, _) = server.handshake("&ext=1&resume=1").await;
    let socket = server.socket().await;
    socket.send("s1").await.unwrap();
    let reply = server.get(&resume(&sid, 2)).await;
    assert_eq!(reply.status, 400);
    assert_eq!(refusal(&reply), (3, "acknowledgement out of range".into()));
    server
        .eventually("the session closes", || socket.is_closed())
        .await;
    assert_eq!(socket.close_reason(), Some(CloseReason::ResumeRejected));
    let reply = server.get(&resume(&sid, 0)).await;
    assert_eq!(refusal(&reply), (1, "session closed".into()));
}

#[tokio::test]
async fn the_window_runs_out_with_its_own_reason_and_refusal() {
    let mut server = start(Polysock::builder().resume_window(Duration::from_millis(300))).await;
    let mut events = server.polysock.events();
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket&ext=1&resume=1")).await;
    let open = open_json(&ws_next_text(&mut ws).await);
    assert_eq!(open["resume"]["window"], 300);
    let sid = open["sid"].as_str().unwrap().to_owned();
    let socket = server.socket().await;
    socket.rooms().join(&socket.sender(), "lobby");
    reset(ws);
    assert_eq!(
        closed_reason(&mut events, &sid).await,
        CloseReason::ResumeWindowOver
    );
    assert_eq!(socket.close_reason(), Some(CloseReason::ResumeWindowOver));
    assert_eq!(CloseReason::ResumeWindowOver.code(), 1006);
    assert_eq!(
        CloseReason::ResumeWindowOver.frame().reason,
        "resume window over"
    );
    assert_eq!(server.polysock.socket_count(), 0, "registry empty");
    assert!(server.polysock.rooms().members("lobby").is_empty());
    let reply = server
        .get(&format!(
            "EIO=4&transport=polling&ext=1&resume={sid}&last=0"
        ))
        .await;
    assert_eq!(refusal(&reply), (1, "resume window over".into()));
}

#[tokio::test]
async fn a_ping_timeout_suspends_a_polling_session_until_the_window_ends() {
    let server = start(
        Polysock::builder()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(100))
            .resume_window(Duration::from_millis(300)),
    )
    .await;
    let mut events = server.polysock.events();
    let (sid, _) = server.handshake("&ext=1&resume=1").await;
    let ping = server
        .get(&format!("EIO=4&transport=polling&sid={sid}&ack=0"))
        .await;
    assert_eq!(ping.body, "2");
    // No pong: suspended, not closed; then the window ends it.
    assert_eq!(
        closed_reason(&mut events, &sid).await,
        CloseReason::ResumeWindowOver
    );
}

#[tokio::test]
async fn a_suspended_session_stays_in_bounds_and_overflows_distinctly() {
    let mut server = start(
        Polysock::builder()
            .max_queued_packets(8)
            .max_queued_bytes(4096)
            .send_queue_grace(Duration::from_millis(200)),
    )
    .await;
    let mut events = server.polysock.events();
    let (ws, sid) = ws_resume_session(&server).await;
    let socket = server.socket().await;
    reset(ws);
    // The application keeps sending: held back at the bound.
    let mut sent = 0;
    let filled = tokio::time::timeout(WAIT, async {
        loop {
            match socket.try_send(format!("m{sent:03}")) {
                Ok(()) => sent += 1,
                Err(polysock::TrySendError::Full(_)) => break,
                Err(other) => panic!("{other}"),
            }
        }
    })
    .await;
    assert!(filled.is_ok());
    assert_eq!(sent, 8, "count bound holds while suspended");
    assert!(socket.buffered_bytes() <= 4096);
    assert_eq!(
        closed_reason(&mut events, &sid).await,
        CloseReason::SendQueueFull
    );
    let reply = server
        .get(&format!(
            "EIO=4&transport=polling&ext=1&resume={sid}&last=0"
        ))
        .await;
    assert_eq!(refusal(&reply), (1, "send buffer overflowed".into()));
}

#[tokio::test]
async fn stock_sessions_are_unchanged() {
    let server = start_echo(Polysock::builder()).await;
    // Asked without ext, or not asked: no resume field, and `7` is unknown.
    for extra in ["&resume=1", "&ext=1", ""] {
        let (_, open) = server.handshake(extra).await;
        assert!(open.get("resume").is_none(), "{extra}: {open}");
    }
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket&ext=1")).await;
    let open = open_json(&ws_next_text(&mut ws).await);
    assert!(open.get("resume").is_none());
    ws.send(WsMessage::text("4hi")).await.unwrap();
    assert_eq!(
        ws_next_text(&mut ws).await,
        "4hi",
        "no ack in a stock session"
    );
    ws.send(WsMessage::text("71")).await.unwrap();
    loop {
        match ws_next(&mut ws).await {
            Some(WsMessage::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), 1008);
                break;
            }
            Some(WsMessage::Text(_)) => {}
            other => panic!("expected the close, got {other:?}"),
        }
    }
    // A stock WebSocket that is lost closes at once.
    let mut events = server.polysock.events();
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket")).await;
    let sid = open_json(&ws_next_text(&mut ws).await)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    reset(ws);
    assert!(matches!(
        closed_reason(&mut events, &sid).await,
        CloseReason::TransportError(_)
    ));
    // And resume switched off: nobody gets a resume session.
    let server = start_echo(Polysock::builder().resume_window(Duration::ZERO)).await;
    let (_, open) = server.handshake("&ext=1&resume=1").await;
    assert!(open.get("resume").is_none());
}
