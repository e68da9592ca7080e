//! Long-polling against a real server: handshake, round trips, every kind
//! of bad request, heartbeats and closing.

mod common;

use std::time::Duration;

use common::*;
use polysock::{CloseReason, Message, Polysock, TransportError};

#[tokio::test]
async fn handshake_is_plain_eio4() {
    let server = start_echo(Polysock::builder()).await;
    let (sid, open) = server.handshake("").await;
    assert_eq!(sid.len(), 32);
    let keys: Vec<&str> = open
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 5, "exactly the EIO4 keys: {open}");
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["pingInterval"], 25000);
    assert_eq!(open["pingTimeout"], 20000);
    assert_eq!(open["maxPayload"], 1_000_000);
    let (other, _) = server.handshake("").await;
    assert_ne!(sid, other);
}

#[tokio::test]
async fn extension_clients_get_ext_and_protocol() {
    let server = start_echo(Polysock::builder().protocols(["chat", "superchat"])).await;
    let (_, open) = server.handshake("&ext=1&protocols=superchat,chat").await;
    assert_eq!(open["ext"], 1);
    assert_eq!(open["protocol"], "superchat");
    let (_, open) = server.handshake("&ext=1&protocols=other").await;
    assert_eq!(open["protocol"], "");
}

#[tokio::test]
async fn several_packets_per_payload_both_ways() {
    let mut server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("").await;
    let mut socket = server.socket().await;
    let query = format!("EIO=4&transport=polling&sid={sid}");
    let reply = server.post(&query, "4hello\x1ebAQID\x1e4\u{1F600}").await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok"));
    assert_eq!(socket.recv().await, Some(Message::Text("hello".into())));
    assert_eq!(
        socket.recv().await,
        Some(Message::Binary(vec![1u8, 2, 3].into()))
    );
    assert_eq!(socket.recv().await, Some(Message::Text("\u{1F600}".into())));

    socket.send("one").await.unwrap();
    socket.send(vec![0u8, 255]).await.unwrap();
    socket.send("").await.unwrap();
    let reply = server.get(&query).await;
    assert_eq!(reply.body, "4one\x1ebAP8=\x1e4");
}

#[tokio::test]
async fn bad_requests_get_the_protocols_errors() {
    let server = start_echo(Polysock::builder()).await;
    let cases = [
        ("GET", "transport=polling", 400, 5),
        ("GET", "EIO=3&transport=polling", 400, 5),
        ("GET", "EIO=4", 400, 0),
        ("GET", "EIO=4&transport=carrier-pigeon", 400, 0),
        ("POST", "EIO=4&transport=polling", 400, 2),
        ("PUT", "EIO=4&transport=polling", 400, 2),
        ("GET", "EIO=4&transport=polling&sid=nosuchsession", 400, 1),
        ("GET", "EIO=4&transport=websocket", 400, 3),
        ("GET", "EIO=4&transport=xhr-streaming", 400, 0),
    ];
    for (method, query, status, code) in cases {
        let reply = server.request(method, query, "").await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (status, Some(code)),
            "{method} {query}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn a_bad_packet_closes_only_its_own_session() {
    let server = start_echo(Polysock::builder()).await;
    let (bystander, _) = server.handshake("").await;
    let bystander_query = format!("EIO=4&transport=polling&sid={bystander}");
    for bad in ["9oops", "bAQ", "", "0{}", "4a\x1e\x1e4b"] {
        let (sid, _) = server.handshake("").await;
        let query = format!("EIO=4&transport=polling&sid={sid}");
        let reply = server.post(&query, bad).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (400, Some(3)),
            "{bad:?}"
        );
        let reply = server.get(&query).await;
        assert!(
            reply.body == "1" || reply.error_code() == Some(1),
            "{bad:?} then GET: {}",
            reply.body
        );
    }
    let reply = server.post(&bystander_query, "4still here").await;
    assert_eq!(reply.body, "ok");
    assert_eq!(server.get(&bystander_query).await.body, "4still here");
}

#[tokio::test]
async fn non_utf8_payload_is_refused() {
    let server = start_echo(Polysock::builder()).await;
    let (sid, _) = server.handshake("").await;
    let reply = server
        .post(
            &format!("EIO=4&transport=polling&sid={sid}"),
            vec![b'4', 0xff, 0xfe],
        )
        .await;
    assert_eq!((reply.status, reply.error_code()), (400, Some(3)));
}

#[tokio::test]
async fn a_second_pending_get_closes_the_session() {
    let server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("").await;
    let url = server.url(&format!("EIO=4&transport=polling&sid={sid}"));
    // Nothing is queued (the first ping is 25 s away), so both GETs are
    // pending at once: whichever arrives second overlaps the first.
    let (a, b) = tokio::join!(raw_get(&url), raw_get(&url));
    let mut replies = [a, b];
    replies.sort();
    assert_eq!(
        replies[0].1, "1",
        "the pending GET ends with a close packet"
    );
    assert_eq!(replies[0].0, 200);
    assert_eq!(replies[1].0, 400);
    assert!(replies[1].1.contains("\"code\":3"), "{}", replies[1].1);
    assert_eq!(
        server
            .get(&format!("EIO=4&transport=polling&sid={sid}"))
            .await
            .error_code(),
        Some(1)
    );
}

/// A plain GET on its own connection (so it can run beside another).
async fn raw_get(url: &str) -> (u16, String) {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let response = tokio::time::timeout(WAIT, client.get(url.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn oversized_post_gets_413_and_closes() {
    let mut server = start(Polysock::builder().max_payload(1000)).await;
    let (sid, _) = server.handshake("").await;
    let socket = server.socket().await;
    let query = format!("EIO=4&transport=polling&sid={sid}");
    let reply = server.post(&query, format!("4{}", "x".repeat(1000))).await;
    assert_eq!(reply.status, 413);
    tokio::time::timeout(WAIT, socket.closed()).await.unwrap();
    assert_eq!(
        socket.close_reason(),
        Some(CloseReason::TransportError(TransportError::TooLarge))
    );
}

// The heartbeat's timing (pings every interval, the pong deadline, the
// abandoned-handshake and full-queue reapers) is tested in process with
// paused time: server/src/session/heartbeat.rs.

#[tokio::test]
async fn no_pong_means_ping_timeout() {
    let mut server = start(
        Polysock::builder()
            .ping_interval(Duration::from_millis(50))
            .ping_timeout(Duration::from_millis(50)),
    )
    .await;
    let (sid, _) = server.handshake("").await;
    let socket = server.socket().await;
    assert_eq!(
        server
            .get(&format!("EIO=4&transport=polling&sid={sid}"))
            .await
            .body,
        "2"
    );
    tokio::time::timeout(WAIT, socket.closed()).await.unwrap();
    assert_eq!(socket.close_reason(), Some(CloseReason::PingTimeout));
    assert_eq!(server.polysock.socket_count(), 0);
}

#[tokio::test]
async fn server_close_reaches_the_client_after_queued_messages() {
    let mut server = start(Polysock::builder()).await;
    let (stock, _) = server.handshake("").await;
    let stock_socket = server.socket().await;
    let (ext, _) = server.handshake("&ext=1").await;
    let ext_socket = server.socket().await;
    for socket in [&stock_socket, &ext_socket] {
        socket.send("last words").await.unwrap();
        socket.close(4000, "done").unwrap();
    }
    let stock_reply = server
        .get(&format!("EIO=4&transport=polling&sid={stock}"))
        .await;
    assert_eq!(stock_reply.body, "4last words\x1e1");
    let ext_reply = server
        .get(&format!("EIO=4&transport=polling&sid={ext}"))
        .await;
    assert_eq!(
        ext_reply.body,
        "4last words\x1e1{\"code\":4000,\"reason\":\"done\"}"
    );
    tokio::time::timeout(WAIT, ext_socket.closed())
        .await
        .unwrap();
    assert_eq!(
        server
            .get(&format!("EIO=4&transport=polling&sid={ext}"))
            .await
            .error_code(),
        Some(1)
    );
}

#[tokio::test]
async fn client_close_carries_code_and_reason() {
    let mut server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("&ext=1").await;
    let mut socket = server.socket().await;
    let query = format!("EIO=4&transport=polling&sid={sid}");
    server
        .post(&query, "1{\"code\":4001,\"reason\":\"bye\"}")
        .await;
    assert_eq!(socket.recv().await, None);
    assert_eq!(
        socket.close_reason().unwrap().frame(),
        polysock::CloseFrame::new(4001, "bye")
    );
}

#[tokio::test]
async fn send_refuses_the_record_separator() {
    let mut server = start(Polysock::builder()).await;
    server.handshake("").await;
    let socket = server.socket().await;
    assert_eq!(
        socket.send("a\u{1e}b").await,
        Err(polysock::SendError::RecordSeparator)
    );
}

#[tokio::test]
async fn full_queue_makes_try_send_report_full() {
    let mut server = start(Polysock::builder().max_queued_packets(2)).await;
    server.handshake("").await;
    let socket = server.socket().await;
    socket.try_send("1").unwrap();
    socket.try_send("2").unwrap();
    assert!(matches!(
        socket.try_send("3"),
        Err(polysock::TrySendError::Full(_))
    ));
}
