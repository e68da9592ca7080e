//! The resume extension (protocol-spec 11) against a real server: a
//! session whose transport is lost is suspended, its client resumes on the
//! same or another transport, and nothing is lost, duplicated or reordered
//! either way; every refusal; the window; the bounds while suspended.

mod common;
#[path = "common/resume_support.rs"]
mod resume_support;

use std::time::Duration;

use common::*;
use futures::SinkExt;
use polysock::{CloseReason, Polysock, SessionEvent, Transport};
use resume_support::*;
use tokio_tungstenite::tungstenite::Message as WsMessage;

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
    assert_eq!(
        suspended(&mut events, &sid).await,
        (vec!["opened"], Transport::WebSocket)
    );
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
    // One Opened (one on_connect), one Suspended, one Resumed, no Closed.
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
    assert_eq!(seen, ["resumed"], "opened and suspended were seen before");
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

/// A browser cannot read a refused WebSocket handshake, so on `websocket`
/// every refusal comes in-band: the 101, then a close 4000 + code with the
/// detail as reason (protocol-spec 11.7).
#[tokio::test]
async fn a_websocket_resume_is_refused_in_band() {
    let mut server = start(Polysock::builder()).await;
    let base = server.ws_url("");
    let resume = |sid: &str, last: u64| {
        format!("{base}EIO=4&transport=websocket&ext=1&resume={sid}&last={last}")
    };
    let mut ws = ws_connect(&resume("0123456789abcdef", 0)).await;
    assert_eq!(ws_close(&mut ws).await, (4001, "session unknown".into()));

    let (mut old, sid) = ws_resume_session(&server).await;
    let socket = server.socket().await;
    socket.send("s1").await.unwrap();
    assert_eq!(ws_message(&mut old).await, "4s1");
    let mut ws = ws_connect(&resume(&sid, 2)).await;
    assert_eq!(
        ws_close(&mut ws).await,
        (4003, "acknowledgement out of range".into())
    );
    server
        .eventually("the session closes", || socket.is_closed())
        .await;
    assert_eq!(socket.close_reason(), Some(CloseReason::ResumeRejected));
    let mut ws = ws_connect(&resume(&sid, 0)).await;
    assert_eq!(ws_close(&mut ws).await, (4001, "session closed".into()));

    // A malformed count is refused in-band too; HTTP transports keep the
    // HTTP error.
    let mut ws =
        ws_connect(&server.ws_url(&format!("EIO=4&transport=websocket&ext=1&resume={sid}"))).await;
    assert_eq!(ws_close(&mut ws).await, (4003, "malformed last".into()));
    let reply = server
        .get(&format!(
            "EIO=4&transport=polling&ext=1&resume={sid}&last=0"
        ))
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(refusal(&reply), (1, "session closed".into()));
}

/// The first frame must be the close: code and reason.
async fn ws_close(ws: &mut Ws) -> (u16, String) {
    match ws_next(ws).await {
        Some(WsMessage::Close(Some(frame))) => (frame.code.into(), frame.reason.to_string()),
        other => panic!("expected a close frame first, got {other:?}"),
    }
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
    suspended(&mut events, &sid).await;
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

async fn streaming_resume(transport: Transport, other: Transport) {
    let mut server = start(Polysock::builder()).await;
    let mut stream = server
        .stream(&format!("EIO=4&transport={transport}&ext=1&resume=1"))
        .await;
    let first = stream_read(transport, &mut stream, 1).await;
    let open = open_json(&first[0]);
    assert_eq!(open["resume"]["window"], 60_000);
    let sid = open["sid"].as_str().unwrap().to_owned();
    let mut socket = server.socket().await;
    for n in 1..=3 {
        socket.send(format!("s{n}")).await.unwrap();
    }
    let got = stream_read(transport, &mut stream, 4).await;
    assert_eq!(got[1..], ["4s1", "4s2", "4s3"]);
    let post = |seq: u64| format!("EIO=4&transport={transport}&sid={sid}&seq={seq}");
    assert_eq!(server.post(&post(1), "4c1").await.body, "ok");
    assert_eq!(server.post(&post(1), "4c1").await.body, "ok", "re-sent");
    assert_eq!(recv(&mut socket).await, "c1");
    // The stream is cut; the client had processed s1 only. It resumes on
    // the same transport (taking over the receiver the server may still
    // believe attached).
    drop(stream);
    socket.send("s4").await.unwrap();
    let mut stream = server
        .stream(&format!(
            "EIO=4&transport={transport}&ext=1&resume={sid}&last=1"
        ))
        .await;
    assert_eq!(stream.status, 200);
    let got = stream_read(transport, &mut stream, 4).await;
    let open = open_json(&got[0]);
    assert_eq!(
        (open["sid"].as_str(), open["resumed"].as_u64()),
        (Some(sid.as_str()), Some(1))
    );
    assert_eq!(got[1..], ["4s2", "4s3", "4s4"], "exact replay");
    // Cut again; this time the client comes back on another transport.
    drop(stream);
    socket.send("s5").await.unwrap();
    let query = format!("EIO=4&transport={other}&ext=1&resume={sid}&last=3");
    let replay = match other {
        Transport::Polling => {
            let reply = server.get(&query).await;
            assert_eq!(open_json(&reply.body)["resumed"], 1);
            let next = server
                .get(&format!("EIO=4&transport=polling&sid={sid}&ack=3"))
                .await;
            next.body.split(RS).map(str::to_owned).collect::<Vec<_>>()
        }
        Transport::WebSocket => {
            let mut ws = ws_connect(&server.ws_url(&query)).await;
            assert_eq!(open_json(&ws_next_text(&mut ws).await)["resumed"], 1);
            vec![ws_message(&mut ws).await, ws_message(&mut ws).await]
        }
        streaming => {
            let mut stream = server.stream(&query).await;
            let got = stream_read(streaming, &mut stream, 3).await;
            assert_eq!(open_json(&got[0])["resumed"], 1);
            got[1..].to_vec()
        }
    };
    assert_eq!(replay, ["4s4", "4s5"]);
    assert_eq!(socket.transport(), other);
    assert!(!socket.is_closed());
    assert_eq!(server.polysock.socket_count(), 1);
}

#[tokio::test]
async fn xhr_streaming_cut_resumes_on_itself_then_on_htmlfile() {
    streaming_resume(Transport::XhrStreaming, Transport::Htmlfile).await;
}

#[tokio::test]
async fn htmlfile_cut_resumes_on_itself_then_on_websocket() {
    streaming_resume(Transport::Htmlfile, Transport::WebSocket).await;
}

#[tokio::test]
async fn xhr_streaming_cut_resumes_on_polling() {
    streaming_resume(Transport::XhrStreaming, Transport::Polling).await;
}

fn resume_vectors() -> serde_json::Value {
    let path = format!(
        "{}/protocol-spec/vectors/resume.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("resume.json")).expect("JSON")
}

/// protocol-spec/vectors/resume.json, its packets and payloads against the
/// codec.
#[test]
fn resume_vectors_decode_as_the_spec_says() {
    use polysock::protocol::{payload_packets_resume, DecodeError, Packet};
    let doc = resume_vectors();
    let acks = &doc["ack_packets"];
    for valid in acks["valid"].as_array().unwrap() {
        let text = valid["text"].as_str().unwrap();
        let count: u64 = valid["count"].as_str().unwrap().parse().unwrap();
        assert_eq!(Packet::decode_text_resume(text), Ok(Packet::Ack(count)));
        assert_eq!(Packet::Ack(count).to_text(), text);
        assert_eq!(
            Packet::decode_text(text),
            Err(DecodeError::UnknownPacketType('7')),
            "stock sessions keep refusing {text}"
        );
    }
    for invalid in acks["invalid"].as_array().unwrap() {
        let text = invalid["text"].as_str().unwrap();
        let error = Packet::decode_text_resume(text).unwrap_err();
        assert_eq!(error.kind(), acks["error"], "{text}");
    }
    for case in doc["payloads"].as_array().unwrap() {
        let payload = case["payload"].as_str().unwrap();
        let decoded: Result<Vec<Packet>, DecodeError> =
            payload_packets_resume(payload.as_bytes(), 1 << 20)
                .and_then(|packets| packets.collect());
        if let Some(error) = case["error"].as_str() {
            assert_eq!(decoded.unwrap_err().kind(), error, "{}", case["name"]);
            continue;
        }
        let expected: Vec<Packet> = case["packets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| match p["type"].as_str().unwrap() {
                "ack" => Packet::Ack(p["count"].as_str().unwrap().parse().unwrap()),
                "pong" => Packet::Pong(String::new()),
                "message" => match p["text"].as_str() {
                    Some(text) => Packet::Message(text.into()),
                    None => {
                        use base64::Engine as _;
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(p["binary_base64"].as_str().unwrap())
                            .unwrap();
                        Packet::Message(bytes.into())
                    }
                },
                other => panic!("no vector packet type {other}"),
            })
            .collect();
        assert_eq!(decoded, Ok(expected), "{}", case["name"]);
    }
}

/// protocol-spec/vectors/resume.json, its exchanges played against a real
/// server, byte for byte.
#[tokio::test]
async fn resume_vector_exchanges_hold_against_the_server() {
    let doc = resume_vectors();
    for exchange in doc["exchanges"].as_array().unwrap() {
        let name = exchange["name"].as_str().unwrap();
        let bound = |key: &str, default: usize| {
            exchange["config"][key]
                .as_u64()
                .map_or(default, |n| n as usize)
        };
        let builder = Polysock::builder().resume_buffer(
            bound("resume_buffer_messages", 4096),
            bound("resume_buffer_bytes", 1 << 20),
        );
        let mut server = start(builder).await;
        let mut sid = String::new();
        let mut socket = None;
        for (index, step) in exchange["steps"].as_array().unwrap().iter().enumerate() {
            let at = format!("{name}, step {index}");
            if let Some(sends) = step["app_send"].as_array() {
                let socket: &mut polysock::Socket = socket.as_mut().expect("a socket");
                for message in sends {
                    socket.send(message.as_str().unwrap()).await.unwrap();
                }
                continue;
            }
            if let Some(expected) = step["app_receives"].as_array() {
                let socket: &mut polysock::Socket = socket.as_mut().expect("a socket");
                for message in expected {
                    assert_eq!(recv(socket).await, message.as_str().unwrap(), "{at}");
                }
                continue;
            }
            let request = &step["request"];
            let query = request["query"].as_str().unwrap().replace("{sid}", &sid);
            let body = request["body"].as_str().unwrap_or("").to_owned();
            let reply = server
                .request(request["method"].as_str().unwrap(), &query, body)
                .await;
            let response = &step["response"];
            assert_eq!(
                u64::from(reply.status),
                response["status"].as_u64().unwrap(),
                "{at}: {}",
                reply.body
            );
            if let Some(open) = response["open"].as_object() {
                let got = open_json(&reply.body);
                for (key, value) in open {
                    assert_eq!(&got[key], value, "{at}: open packet {key}");
                }
                if sid.is_empty() {
                    sid = got["sid"].as_str().unwrap().to_owned();
                    socket = Some(server.socket().await);
                }
            } else if let Some(body) = response["body"].as_str() {
                assert_eq!(reply.body, body, "{at}");
            } else {
                assert_eq!(
                    refusal(&reply),
                    (
                        response["code"].as_u64().unwrap(),
                        response["detail"].as_str().unwrap().to_owned()
                    ),
                    "{at}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_resume_takes_over_a_websocket_the_server_still_holds() {
    let mut server = start(Polysock::builder()).await;
    let (mut old, sid) = ws_resume_session(&server).await;
    let mut socket = server.socket().await;
    socket.send("s1").await.unwrap();
    assert_eq!(ws_message(&mut old).await, "4s1");
    // The client thinks the connection is dead; the server does not know.
    let mut ws = ws_connect(&server.ws_url(&format!(
        "EIO=4&transport=websocket&ext=1&resume={sid}&last=0"
    )))
    .await;
    let open = open_json(&ws_next_text(&mut ws).await);
    assert_eq!(open["resumed"], 0);
    assert_eq!(
        ws_message(&mut ws).await,
        "4s1",
        "replayed: never acknowledged"
    );
    // The old WebSocket is ended by the server.
    loop {
        match ws_next(&mut old).await {
            Some(WsMessage::Close(_)) | None => break,
            Some(WsMessage::Text(text)) => assert!(text.starts_with('7'), "{text}"),
            other => panic!("{other:?}"),
        }
    }
    socket.send("s2").await.unwrap();
    assert_eq!(ws_message(&mut ws).await, "4s2");
    ws.send(WsMessage::text("4c1")).await.unwrap();
    assert_eq!(recv(&mut socket).await, "c1");
    assert!(!socket.is_closed());
}

#[tokio::test]
async fn a_resume_session_upgrades_from_polling_to_websocket() {
    let mut server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("&ext=1&resume=1").await;
    let mut socket = server.socket().await;
    socket.send("s1").await.unwrap();
    let first = server
        .get(&format!("EIO=4&transport=polling&sid={sid}&ack=0"))
        .await;
    assert_eq!(first.body, "4s1");
    let mut ws =
        ws_connect(&server.ws_url(&format!("EIO=4&transport=websocket&ext=1&sid={sid}"))).await;
    ws.send(WsMessage::text("2probe")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "3probe");
    ws.send(WsMessage::text("5")).await.unwrap();
    socket.send("s2").await.unwrap();
    assert_eq!(ws_message(&mut ws).await, "4s2", "numbering carries on");
    ws.send(WsMessage::text("4c1")).await.unwrap();
    assert_eq!(recv(&mut socket).await, "c1");
    // The client acknowledges both; then loses the socket and resumes.
    ws.send(WsMessage::text("72")).await.unwrap();
    server
        .eventually("both acknowledged", || socket.buffered_bytes() == 0)
        .await;
    reset(ws);
    socket.send("s3").await.unwrap();
    let mut ws = ws_connect(&server.ws_url(&format!(
        "EIO=4&transport=websocket&ext=1&resume={sid}&last=2"
    )))
    .await;
    assert_eq!(open_json(&ws_next_text(&mut ws).await)["resumed"], 1);
    assert_eq!(ws_message(&mut ws).await, "4s3");
    // Below what the client already acknowledged: refused.
    let reply = server
        .get(&format!(
            "EIO=4&transport=polling&ext=1&resume={sid}&last=1"
        ))
        .await;
    assert_eq!(refusal(&reply), (3, "acknowledgement out of range".into()));
    server
        .eventually("the session closes", || socket.is_closed())
        .await;
    assert_eq!(socket.close_reason(), Some(CloseReason::ResumeRejected));
}

#[tokio::test]
async fn clients_that_never_return_leave_nothing_behind_after_the_window() {
    let mut server = start(
        Polysock::builder()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(100))
            .resume_window(Duration::from_millis(300)),
    )
    .await;
    let mut sockets = Vec::new();
    let mut streams = Vec::new();
    for n in 0..30 {
        match n % 3 {
            0 => {
                let mut ws =
                    ws_connect(&server.ws_url("EIO=4&transport=websocket&ext=1&resume=1")).await;
                ws_next_text(&mut ws).await;
                reset(ws);
            }
            1 => {
                server.handshake("&ext=1&resume=1").await;
            }
            _ => {
                let mut stream = server
                    .stream("EIO=4&transport=xhr-streaming&ext=1&resume=1")
                    .await;
                stream_read(Transport::XhrStreaming, &mut stream, 1).await;
                streams.push(stream);
            }
        }
        let socket = server.socket().await;
        socket.rooms().join(&socket.sender(), "everyone");
        for k in 0..5 {
            let _ = socket.try_send(format!("m{k}"));
        }
        sockets.push(socket);
    }
    drop(streams);
    server
        .eventually("every session is gone", || {
            server.polysock.socket_count() == 0
        })
        .await;
    assert!(server.polysock.rooms().members("everyone").is_empty());
    for socket in &sockets {
        assert_eq!(socket.buffered_bytes(), 0, "buffers freed");
        assert!(matches!(
            socket.close_reason(),
            Some(CloseReason::ResumeWindowOver)
        ));
    }
}
