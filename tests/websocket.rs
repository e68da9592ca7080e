//! WebSocket against a real server: opening directly, echo, closing, and
//! the upgrade from polling with messages in flight both ways.

mod common;

use common::*;
use futures::SinkExt;
use polysock::{Message, Polysock, Transport};
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test]
async fn direct_open_then_text_and_binary_echo() {
    let server = start_echo(Polysock::builder()).await;
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket")).await;
    let open = ws_next_text(&mut ws).await;
    let open: serde_json::Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
    assert_eq!(open["upgrades"], serde_json::json!([]));
    ws.send(WsMessage::text("4héllo")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "4héllo");
    ws.send(WsMessage::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    assert_eq!(
        ws_next(&mut ws).await,
        Some(WsMessage::binary(vec![0u8, 1, 2, 255]))
    );
}

#[tokio::test]
async fn server_close_sends_close_packet_and_frame() {
    let mut server = start(Polysock::builder()).await;
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket&ext=1")).await;
    ws_next_text(&mut ws).await;
    let socket = server.socket().await;
    assert_eq!(socket.transport(), Transport::WebSocket);
    socket.close(4002, "why").unwrap();
    assert_eq!(
        ws_next_text(&mut ws).await,
        "1{\"code\":4002,\"reason\":\"why\"}"
    );
    match ws_next(&mut ws).await {
        Some(WsMessage::Close(Some(frame))) => {
            assert_eq!(u16::from(frame.code), 4002);
            assert_eq!(frame.reason.as_str(), "why");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn subprotocol_header_is_answered() {
    let server = start_echo(Polysock::builder().protocols(["chat"])).await;
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            server.ws_url("EIO=4&transport=websocket&ext=1"),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "superchat, chat".parse().unwrap());
    let (mut ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    let open = ws_next_text(&mut ws).await;
    assert!(open.contains("\"protocol\":\"chat\""), "{open}");
}

/// RFC 6455: the 101 names only a subprotocol the header offered; one
/// negotiated from the `protocols=` query alone is told in the open packet.
#[tokio::test]
async fn the_101_names_only_a_subprotocol_the_header_offered() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start_echo(Polysock::builder().protocols(["chat"])).await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "GET /engine.io/?EIO=4&transport=websocket&ext=1&protocols=chat HTTP/1.1\r\n\
         Host: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: other\r\n\r\n",
        server.addr
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    while !reply.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(WAIT, tcp.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed before the 101");
        reply.extend_from_slice(&buf[..n]);
    }
    let reply = String::from_utf8_lossy(&reply).to_ascii_lowercase();
    assert!(reply.starts_with("http/1.1 101"), "{reply}");
    assert!(!reply.contains("sec-websocket-protocol"), "{reply}");
}

/// A close reason longer than a close frame carries is cut to 123 bytes
/// at a character boundary, the same on every transport.
#[tokio::test]
async fn a_long_close_reason_is_cut_to_123_bytes() {
    let mut server = start(Polysock::builder()).await;
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket&ext=1")).await;
    ws_next_text(&mut ws).await;
    let socket = server.socket().await;
    socket.close(4000, "é".repeat(100)).unwrap();
    let packet = ws_next_text(&mut ws).await;
    let body: serde_json::Value = serde_json::from_str(packet.strip_prefix('1').unwrap()).unwrap();
    let reason = body["reason"].as_str().unwrap();
    assert_eq!(
        reason,
        "é".repeat(61),
        "61 two-byte characters fit in 123 bytes"
    );
}

#[tokio::test]
async fn oversized_frame_closes_with_1009() {
    let mut server = start(Polysock::builder().max_payload(1000)).await;
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket")).await;
    ws_next_text(&mut ws).await;
    let socket = server.socket().await;
    let _ = ws
        .send(WsMessage::text(format!("4{}", "x".repeat(2000))))
        .await;
    tokio::time::timeout(WAIT, socket.closed()).await.unwrap();
    assert_eq!(socket.close_reason().unwrap().code(), 1009);
}

#[tokio::test]
async fn probe_ends_the_pending_poll_with_a_noop() {
    let server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("").await;
    let poll_url = server.url(&format!("EIO=4&transport=polling&sid={sid}"));
    let pending = tokio::spawn(async move { get_on_own_connection(&poll_url).await });
    let mut ws = ws_connect(&server.ws_url(&format!("EIO=4&transport=websocket&sid={sid}"))).await;
    ws.send(WsMessage::text("2probe")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "3probe");
    // Whether the GET was pending before the probe or arrives during the
    // upgrade, it is answered at once.
    let body = tokio::time::timeout(WAIT, pending).await.unwrap().unwrap();
    assert_eq!(body, "6");
}

#[tokio::test]
async fn upgrade_keeps_order_both_ways_and_refuses_polling_after() {
    const DOWN: usize = 300;
    const UP: usize = 100;
    let mut server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("").await;
    let mut socket = server.socket().await;
    let sender = socket.sender();
    let producer = tokio::spawn(async move {
        for n in 0..DOWN {
            sender.send(format!("s{n}")).await.unwrap();
            tokio::task::yield_now().await;
        }
    });
    let poll = format!("EIO=4&transport=polling&sid={sid}");
    let mut received = Vec::new();
    let collect = |text: &str, received: &mut Vec<String>| {
        if let Some(message) = text.strip_prefix('4') {
            received.push(message.to_owned());
        }
    };
    // Half the upstream messages by POST, with a poll in between.
    for n in 0..UP / 2 {
        assert_eq!(server.post(&poll, format!("4c{n}")).await.body, "ok");
    }
    for packet in server.get(&poll).await.body.split('\x1e') {
        collect(packet, &mut received);
    }
    // The upgrade.
    let mut ws = ws_connect(&server.ws_url(&format!("EIO=4&transport=websocket&sid={sid}"))).await;
    ws.send(WsMessage::text("2probe")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "3probe");
    for packet in server.get(&poll).await.body.split('\x1e') {
        collect(packet, &mut received);
    }
    ws.send(WsMessage::text("5")).await.unwrap();
    for n in UP / 2..UP {
        ws.send(WsMessage::text(format!("4c{n}"))).await.unwrap();
    }
    while received.len() < DOWN {
        let text = ws_next_text(&mut ws).await;
        collect(&text, &mut received);
    }
    producer.await.unwrap();
    let expected_down: Vec<String> = (0..DOWN).map(|n| format!("s{n}")).collect();
    assert_eq!(
        received, expected_down,
        "every server message once, in order"
    );
    for n in 0..UP {
        assert_eq!(socket.recv().await, Some(Message::Text(format!("c{n}"))));
    }
    assert_eq!(socket.transport(), Transport::WebSocket);

    // After the upgrade: no more polling, no second WebSocket.
    assert_eq!(server.get(&poll).await.error_code(), Some(3));
    assert_eq!(server.post(&poll, "4late").await.error_code(), Some(3));
    // A second WebSocket completes its handshake and is closed at once.
    let mut second =
        ws_connect(&server.ws_url(&format!("EIO=4&transport=websocket&sid={sid}"))).await;
    match ws_next(&mut second).await {
        Some(WsMessage::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 1008),
        other => panic!("a second WebSocket must be closed with 1008, got {other:?}"),
    }
    // The upgraded socket still works.
    socket.send("after").await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "4after");
}

async fn get_on_own_connection(url: &str) -> String {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let response = tokio::time::timeout(WAIT, client.get(url.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}

#[tokio::test]
async fn a_client_close_frame_is_a_clean_close() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame as WsCloseFrame;
    let mut server = start(Polysock::builder()).await;
    for (frame, expected) in [
        (None, 1005),
        (Some((4001, "bye")), 4001),
        (Some((1001, "reserved for servers")), 1005),
    ] {
        let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket")).await;
        ws_next_text(&mut ws).await;
        let socket = server.socket().await;
        let frame = frame.map(|(code, reason): (u16, &str)| WsCloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        });
        ws.close(frame).await.unwrap();
        tokio::time::timeout(WAIT, socket.closed()).await.unwrap();
        match socket.close_reason() {
            Some(polysock::CloseReason::ClientClosed(frame)) => assert_eq!(frame.code, expected),
            other => panic!("expected a client close, got {other:?}"),
        }
    }
}
