//! A broadcast is encoded once and shared by every socket it reaches
//! (`protocol::SharedMessage`); on every transport it must arrive byte for
//! byte as a direct send of the same message does. Each test opens a real
//! session on one transport, sends each message directly and then by every
//! broadcast path (to all, to a room with except, through the adapter),
//! and compares the raw bytes the client read.

mod common;

use common::*;
use futures::SinkExt;
use polysock::{Message, Polysock, Socket, Target};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Text (ASCII, non-ASCII, what htmlfile must escape, empty) and binary.
fn messages() -> Vec<Message> {
    vec![
        Message::Text("hello".into()),
        Message::Text("héllo ✓ \u{1F600} 日本".into()),
        Message::Text("</script><!-- -->\u{2028}\u{2029}\"\\&\n\r\t\u{1}".into()),
        Message::Text(String::new()),
        Message::Binary(vec![0u8, 1, 2, 0xfe, 0xff, b'"', b'<'].into()),
        Message::Binary(Vec::new().into()),
    ]
}

/// The ways a message reaches one socket: directly, then every
/// broadcast path.
#[derive(Debug, Clone, Copy)]
enum Route {
    Direct,
    All,
    Room,
    Adapter,
}

const ROUTES: [Route; 4] = [Route::Direct, Route::All, Route::Room, Route::Adapter];

/// Sends `message` to `socket` by `route`. `other` is a socket in the same
/// room that the room send leaves out.
async fn send(server: &TestServer, socket: &Socket, other: &str, route: Route, message: &Message) {
    let queued = match route {
        Route::Direct => {
            socket.send(message.clone()).await.unwrap();
            1
        }
        Route::All => server.polysock.broadcast(message.clone()),
        Route::Room => server
            .polysock
            .rooms()
            .to("room")
            .except(other)
            .send(message.clone()),
        Route::Adapter => server
            .polysock
            .adapter()
            .broadcast(Target::room("room").except(other), message.clone())
            .await
            .unwrap(),
    };
    assert_eq!(queued, 1, "{route:?} reached the one socket");
}

/// A second socket (a polling session never read) in the room, so that
/// `except` has someone to leave out and "to all" is not the only socket:
/// the room send and the adapter send except it; "to all" queues for it
/// too, so its count is checked against 2.
async fn bystander(server: &mut TestServer) -> Socket {
    let (_sid, _) = server.handshake("").await;
    let socket = server.socket().await;
    server.polysock.rooms().join(&socket.sender(), "room");
    socket
}

/// Like [`send`], for the servers that have a bystander: "to all" reaches
/// both sockets.
async fn send_with_bystander(
    server: &TestServer,
    socket: &Socket,
    other: &str,
    route: Route,
    message: &Message,
) {
    if let Route::All = route {
        assert_eq!(server.polysock.broadcast(message.clone()), 2);
        return;
    }
    send(server, socket, other, route, message).await;
}

#[tokio::test]
async fn websocket_frames_are_identical() {
    let mut server = start(Polysock::builder()).await;
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket")).await;
    let open = ws_next_text(&mut ws).await;
    assert!(open.starts_with('0'));
    let socket = server.socket().await;
    server.polysock.rooms().join(&socket.sender(), "room");
    let other = bystander(&mut server).await;
    for message in messages() {
        let mut frames = Vec::new();
        for route in ROUTES {
            send_with_bystander(&server, &socket, other.id(), route, &message).await;
            let frame = loop {
                match ws_next(&mut ws).await.expect("a frame") {
                    WsMessage::Text(text) if text.as_str() == "2" => {
                        ws.send(WsMessage::text("3")).await.unwrap();
                    }
                    frame => break frame,
                }
            };
            frames.push((route, frame));
        }
        let (_, direct) = &frames[0];
        match (&message, direct) {
            (Message::Text(text), WsMessage::Text(frame)) => {
                assert_eq!(frame.as_str(), format!("4{text}"));
            }
            (Message::Binary(bytes), WsMessage::Binary(frame)) => assert_eq!(frame, bytes),
            other => panic!("unexpected frame {other:?}"),
        }
        for (route, frame) in &frames[1..] {
            assert_eq!(frame, direct, "{route:?} of {message:?}");
        }
    }
}

#[tokio::test]
async fn polling_payloads_are_identical() {
    let mut server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("").await;
    let socket = server.socket().await;
    server.polysock.rooms().join(&socket.sender(), "room");
    let other = bystander(&mut server).await;
    let poll = format!("EIO=4&transport=polling&sid={sid}");
    // One message per response (the body is the shared bytes themselves),
    // then every message in one response (the payload joins them).
    for message in messages() {
        let mut bodies = Vec::new();
        for route in ROUTES {
            send_with_bystander(&server, &socket, other.id(), route, &message).await;
            let reply = server.get(&poll).await;
            assert_eq!(reply.status, 200);
            bodies.push((route, reply.body));
        }
        for (route, body) in &bodies[1..] {
            assert_eq!(body, &bodies[0].1, "{route:?} of {message:?}");
        }
    }
    let mut bodies = Vec::new();
    for route in ROUTES {
        for message in messages() {
            send_with_bystander(&server, &socket, other.id(), route, &message).await;
        }
        let reply = server.get(&poll).await;
        assert_eq!(reply.body.matches('\x1e').count(), messages().len() - 1);
        bodies.push((route, reply.body));
    }
    for (route, body) in &bodies[1..] {
        assert_eq!(body, &bodies[0].1, "{route:?}, all messages in one payload");
    }
}

/// Reads the raw bytes of each packet from a streaming response: for
/// `xhr-streaming` a part (headers, packet and delimiter), for `htmlfile`
/// a script chunk, exactly as sent.
struct RawFraming {
    /// What ends one packet's bytes.
    end: String,
    /// Bytes of the buffer already consumed.
    offset: usize,
}

impl RawFraming {
    fn for_response(stream: &Streamed, htmlfile: bool) -> Self {
        let end = if htmlfile {
            ");</script>\n".to_owned()
        } else {
            let content_type = stream.headers["content-type"].to_str().unwrap();
            let boundary = content_type
                .split("boundary=\"")
                .nth(1)
                .unwrap()
                .trim_end_matches('"');
            format!("\r\n--{boundary}")
        };
        Self { end, offset: 0 }
    }

    /// The next complete packet's raw bytes.
    fn next(&mut self, buffer: &[u8]) -> Option<Vec<u8>> {
        let rest = &buffer[self.offset..];
        let at = rest
            .windows(self.end.len())
            .position(|window| window == self.end.as_bytes())?;
        let raw = rest[..at + self.end.len()].to_vec();
        self.offset += at + self.end.len();
        Some(raw)
    }
}

async fn next_raw(stream: &mut Streamed, framing: &mut RawFraming) -> Vec<u8> {
    let mut found = None;
    stream
        .read_until(|buffer| {
            found = framing.next(buffer);
            found.is_some()
        })
        .await;
    found.expect("a packet before the response ended")
}

async fn streaming_chunks_are_identical(transport: &str) {
    let htmlfile = transport == "htmlfile";
    let mut server = start(Polysock::builder()).await;
    let mut stream = server
        .stream(&format!("EIO=4&transport={transport}&ext=1"))
        .await;
    assert_eq!(stream.status, 200);
    let mut framing = RawFraming::for_response(&stream, htmlfile);
    if !htmlfile {
        // The padding and first delimiter come before the first part.
        next_raw(&mut stream, &mut framing).await;
    }
    let open = String::from_utf8(next_raw(&mut stream, &mut framing).await).unwrap();
    assert!(open.contains("0{"), "{open}");
    let socket = server.socket().await;
    server.polysock.rooms().join(&socket.sender(), "room");
    let other = bystander(&mut server).await;
    for message in messages() {
        let mut chunks = Vec::new();
        for route in ROUTES {
            send_with_bystander(&server, &socket, other.id(), route, &message).await;
            let raw = next_raw(&mut stream, &mut framing).await;
            chunks.push((route, String::from_utf8(raw).unwrap()));
        }
        let direct = &chunks[0].1;
        if htmlfile {
            assert!(direct.starts_with("<script>p(\""), "{direct}");
            if let Message::Text(text) = &message {
                let literal = direct
                    .strip_prefix("<script>p(")
                    .and_then(|rest| rest.strip_suffix(");</script>\n"))
                    .unwrap();
                let decoded: String = serde_json::from_str(literal).unwrap();
                assert_eq!(decoded, format!("4{text}"));
                assert!(!literal.contains('<'), "escaped: {literal}");
            }
        }
        for (route, chunk) in &chunks[1..] {
            assert_eq!(chunk, direct, "{route:?} of {message:?}");
        }
    }
}

#[tokio::test]
async fn xhr_streaming_parts_are_identical() {
    streaming_chunks_are_identical("xhr-streaming").await;
}

#[tokio::test]
async fn htmlfile_chunks_are_identical() {
    streaming_chunks_are_identical("htmlfile").await;
}

/// A broadcast counts against each socket's bound as the message itself
/// does: a socket whose queue is full is closed with 1008, the others get
/// the message.
#[tokio::test]
async fn shared_messages_are_bounded_as_direct_ones() {
    let mut server = start(Polysock::builder().max_queued_packets(3)).await;
    let (_slow, _) = server.handshake("").await;
    let slow = server.socket().await;
    let (fast_sid, _) = server.handshake("").await;
    let fast = server.socket().await;
    let poll = format!("EIO=4&transport=polling&sid={fast_sid}");
    for n in 0..3 {
        assert_eq!(server.polysock.broadcast(format!("m{n}")), 2);
        let reply = server.get(&poll).await;
        assert_eq!(reply.body, format!("4m{n}"));
    }
    // The slow socket holds three messages: the next broadcast closes it.
    assert_eq!(server.polysock.broadcast("m3"), 1);
    assert_eq!(server.get(&poll).await.body, "4m3");
    server
        .eventually("the slow socket closed", || slow.is_closed())
        .await;
    assert!(!fast.is_closed());
}
