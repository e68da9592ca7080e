//! Faults: clients that vanish with a TCP reset in the middle of a stream
//! are noticed and their sessions freed; a graceful shutdown closes every
//! socket with 1001 "going away" on every transport and refuses new
//! handshakes; no wait is unbounded.

mod common;
#[path = "common/raw.rs"]
mod raw;

use std::time::Duration;

use common::*;
use polysock::{Builder, CloseReason, Polysock, Socket, TransportError};
use tokio::io::AsyncWriteExt;
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::MaybeTlsStream;

/// Short heartbeats, so a vanished client is noticed within a second.
fn quick_heartbeat() -> Builder {
    Polysock::builder()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(200))
}

/// Keeps sending to the socket until it closes, so the reset lands while
/// the server is writing.
fn keep_sending(socket: &Socket) -> tokio::task::JoinHandle<()> {
    let sender = socket.sender();
    tokio::spawn(async move {
        let mut n = 0u64;
        while sender.send(format!("message {n}")).await.is_ok() {
            n += 1;
            sleep(Duration::from_millis(5)).await;
        }
    })
}

/// The socket closes as a vanished client's should, and the server forgets it.
async fn freed(server: &TestServer, socket: &Socket) {
    timeout(WAIT, socket.closed())
        .await
        .expect("the vanished client is noticed in time");
    let reason = socket.close_reason();
    assert!(
        matches!(
            reason,
            Some(CloseReason::PingTimeout)
                | Some(CloseReason::TransportError(TransportError::ConnectionLost))
        ),
        "{reason:?}"
    );
    server
        .eventually("the session is freed", || {
            server.polysock.socket_count() == 0
        })
        .await;
}

#[tokio::test]
async fn websocket_reset_mid_stream_frees_the_session() {
    let mut server = start(quick_heartbeat()).await;
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket")).await;
    ws_next_text(&mut ws).await;
    let socket = server.socket().await;
    let sending = keep_sending(&socket);
    for _ in 0..5 {
        assert!(ws_next_text(&mut ws).await.starts_with("4message"));
    }
    let MaybeTlsStream::Plain(tcp) = ws.get_ref() else {
        panic!("plain TCP");
    };
    tcp.set_zero_linger().unwrap();
    drop(ws);
    freed(&server, &socket).await;
    timeout(WAIT, sending).await.unwrap().unwrap();
}

/// A streaming GET on raw TCP, reset after the first bytes arrived.
async fn streaming_reset_frees_the_session(transport: &str) {
    let mut server = start(quick_heartbeat()).await;
    let mut stream = raw::connect(server.addr).await;
    let query = format!("EIO=4&transport={transport}&ext=1");
    stream
        .write_all(raw::head("GET", server.addr, &query, "").as_bytes())
        .await
        .unwrap();
    let socket = server.socket().await;
    let sending = keep_sending(&socket);
    let first = raw::read_reply(&mut stream, Duration::from_millis(300)).await;
    assert_eq!(first.status, Some(200), "{}", first.text);
    assert!(first.text.contains("message 0"), "mid-stream");
    raw::reset(stream);
    freed(&server, &socket).await;
    timeout(WAIT, sending).await.unwrap().unwrap();
}

#[tokio::test]
async fn xhr_streaming_reset_mid_stream_frees_the_session() {
    streaming_reset_frees_the_session("xhr-streaming").await;
}

#[tokio::test]
async fn htmlfile_reset_mid_stream_frees_the_session() {
    streaming_reset_frees_the_session("htmlfile").await;
}

#[tokio::test]
async fn polling_client_reset_during_a_poll_frees_the_session() {
    let mut server = start(quick_heartbeat()).await;
    let (sid, _) = server.handshake("").await;
    let socket = server.socket().await;
    let mut stream = raw::connect(server.addr).await;
    let query = format!("EIO=4&transport=polling&sid={sid}");
    stream
        .write_all(raw::head("GET", server.addr, &query, "").as_bytes())
        .await
        .unwrap();
    raw::reset(stream);
    freed(&server, &socket).await;
}

/// Reads WebSocket frames until the close frame; returns the text frames
/// before it and the close code.
async fn until_close(ws: &mut Ws) -> (Vec<String>, Option<u16>) {
    let mut texts = Vec::new();
    loop {
        match ws_next(ws).await {
            Some(WsMessage::Text(text)) => texts.push(text.as_str().to_owned()),
            Some(WsMessage::Close(frame)) => {
                return (texts, frame.map(|f| u16::from(f.code)));
            }
            other => panic!("expected text or close, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn graceful_shutdown_closes_every_transport_with_going_away() {
    let server = start_echo(Polysock::builder()).await;
    let mut ws_ext = ws_connect(&server.ws_url("EIO=4&transport=websocket&ext=1")).await;
    ws_next_text(&mut ws_ext).await;
    let mut ws_stock = ws_connect(&server.ws_url("EIO=4&transport=websocket")).await;
    ws_next_text(&mut ws_stock).await;
    let (poll_ext, _) = server.handshake("&ext=1").await;
    let (poll_stock, _) = server.handshake("").await;
    let mut xhr = server.stream("EIO=4&transport=xhr-streaming&ext=1").await;
    xhr.read_until(|b| b.windows(6).any(|w| w == b"\"sid\":"))
        .await;
    let mut html = server.stream("EIO=4&transport=htmlfile&ext=1").await;
    html.read_until(|b| b.windows(7).any(|w| w == b"\\\"sid\\\""))
        .await;
    assert_eq!(server.polysock.socket_count(), 6);

    let polysock = server.polysock.clone();
    let shutdown = tokio::spawn(async move { polysock.shutdown(Duration::from_secs(5)).await });

    // The reason's wording is not part of the protocol; the code is.
    let going_away = |text: &str| text.starts_with("1{\"code\":1001,");
    let (texts, code) = until_close(&mut ws_ext).await;
    assert!(texts.len() == 1 && going_away(&texts[0]), "{texts:?}");
    assert_eq!(code, Some(1001));
    assert_eq!(
        until_close(&mut ws_stock).await,
        (vec!["1".into()], Some(1001))
    );
    let poll = |sid: &str| format!("EIO=4&transport=polling&sid={sid}");
    let body = server.get(&poll(&poll_ext)).await.body;
    assert!(going_away(&body), "{body}");
    assert_eq!(server.get(&poll(&poll_stock)).await.body, "1");
    xhr.read_to_end().await;
    let body = String::from_utf8_lossy(&xhr.buffer);
    let (_, last) = body
        .strip_suffix(&format!("\r\n--{}--\r\n", boundary(&xhr)))
        .expect("the end marker")
        .rsplit_once("\r\n\r\n")
        .unwrap();
    assert!(going_away(last), "the last part: {last}");
    html.read_to_end().await;
    let body = String::from_utf8_lossy(&html.buffer);
    let body = body
        .strip_suffix("\");</script>\n<script>p(null);</script></body></html>")
        .expect("the close chunk, then the end marker");
    let last = body
        .rsplit_once("<script>p(\"")
        .unwrap()
        .1
        .replace("\\\"", "\"");
    assert!(going_away(&last), "the last chunk: {last}");

    let all_closed = timeout(WAIT, shutdown).await.unwrap().unwrap();
    assert!(all_closed, "every session finished within the grace period");
    assert_eq!(server.polysock.socket_count(), 0);

    for query in [
        "EIO=4&transport=polling",
        "EIO=4&transport=xhr-streaming&ext=1",
    ] {
        let reply = server.get(query).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (503, Some(3)),
            "{query}"
        );
    }
    match tokio_tungstenite::connect_async(server.ws_url("EIO=4&transport=websocket")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
}

fn boundary(stream: &Streamed) -> String {
    let content_type = stream.headers["content-type"].to_str().unwrap();
    content_type
        .split("boundary=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"')
        .to_owned()
}

#[tokio::test]
async fn shutdown_does_not_wait_past_its_grace_for_silent_clients() {
    let mut server = start(Polysock::builder()).await;
    // A polling client that never polls again, and a WebSocket that never reads.
    server.handshake("").await;
    let silent = server.socket().await;
    let ws = ws_connect(&server.ws_url("EIO=4&transport=websocket")).await;
    let _ws_socket = server.socket().await;
    let started = Instant::now();
    let finished = timeout(WAIT, server.polysock.shutdown(Duration::from_millis(300)))
        .await
        .expect("shutdown returns");
    let elapsed = started.elapsed();
    assert!(
        !finished,
        "the silent polling client did not take its close packet"
    );
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    timeout(WAIT, silent.closed()).await.unwrap();
    assert_eq!(silent.close_reason(), Some(CloseReason::ServerShutdown));
    server
        .eventually("sessions freed after shutdown", || {
            server.polysock.socket_count() == 0
        })
        .await;
    drop(ws);
}
