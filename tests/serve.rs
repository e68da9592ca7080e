//! `polysock::serve`: graceful shutdown ends the future (idle connections
//! closed, responses in progress finished, then the listener gone), the
//! drain timeout bounds it, and a bare `PolysockService` is served with
//! WebSocket upgrades and the peer address. The request-head limits are
//! rows 37a, 38 and 40 of tests/bad_input.rs.

mod common;
#[path = "common/raw.rs"]
mod raw;

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use common::*;
use futures::SinkExt;
use polysock::Polysock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::MaybeTlsStream;

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// Reads WebSocket frames up to the close frame; its code.
async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match ws_next(ws).await {
            Some(WsMessage::Close(frame)) => return frame.map(|f| u16::from(f.code)),
            Some(WsMessage::Text(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn graceful_shutdown_closes_sockets_then_ends_the_future() {
    // common::start_echo's Polysock and echo loop, served a second time
    // here with a shutdown signal.
    let (stop, stopped) = oneshot::channel::<()>();
    let server = start_echo(Polysock::builder()).await;
    let polysock = server.polysock.clone();
    let listener = listener().await;
    let addr = listener.local_addr().unwrap();
    let app = Router::new().nest_service("/engine.io", polysock.service());
    let served = tokio::spawn(
        polysock::serve(listener, app)
            .with_graceful_shutdown({
                let polysock = polysock.clone();
                async move {
                    let _ = stopped.await;
                    polysock.shutdown(Duration::from_secs(5)).await;
                }
            })
            .into_future(),
    );

    // An upgraded WebSocket, a streaming response in progress, and an idle
    // keep-alive connection.
    let mut ws = ws_connect(&format!("ws://{addr}/engine.io/?EIO=4&transport=websocket")).await;
    ws_next_text(&mut ws).await;
    ws.send(WsMessage::text("4hello")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "4hello");
    // (Not a polling session: one that never polls again would hold
    // Polysock::shutdown for its whole grace period.)
    let mut idle = raw::connect(addr).await;
    let head = format!("GET /engine.io/polysock.js HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    idle.write_all(head.as_bytes()).await.unwrap();
    let first = raw::read_response(&mut idle, WAIT).await;
    assert_eq!(first.status, Some(200), "{}", first.text);
    assert!(!first.closed, "kept alive");
    let mut stream = raw::connect(addr).await;
    let head = format!(
        "GET /engine.io/?EIO=4&transport=xhr-streaming&ext=1 HTTP/1.1\r\nHost: {addr}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut streamed = Vec::new();
    while !String::from_utf8_lossy(&streamed).contains("\"sid\"") {
        let mut buffer = [0u8; 4096];
        let n = timeout(WAIT, stream.read(&mut buffer))
            .await
            .expect("the open packet in time")
            .unwrap();
        assert!(n > 0, "the stream stays open");
        streamed.extend_from_slice(&buffer[..n]);
    }

    stop.send(()).unwrap();
    assert_eq!(
        close_code(&mut ws).await,
        Some(1001),
        "the WebSocket goes away"
    );
    let rest = raw::read_reply(&mut stream, WAIT).await;
    assert!(rest.closed, "the stream ends");
    assert!(
        rest.text.contains("\"code\":1001") && rest.text.ends_with("--\r\n\r\n0\r\n\r\n"),
        "the stream was finished (close packet, end marker, last chunk), not cut: {:?}",
        rest.text
    );
    let idle_end = raw::read_reply(&mut idle, WAIT).await;
    assert!(
        idle_end.closed && idle_end.text.is_empty(),
        "idle: closed at once"
    );

    timeout(WAIT, served)
        .await
        .expect("the serve future ends")
        .unwrap()
        .unwrap();
    assert_eq!(polysock.socket_count(), 0);
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn drain_timeout_closes_a_request_that_never_ends() {
    let entered = Arc::new(Notify::new());
    let app = Router::new().route(
        "/hang",
        get({
            let entered = entered.clone();
            move || async move {
                entered.notify_one();
                std::future::pending::<&str>().await
            }
        }),
    );
    let drain = Duration::from_millis(300);
    let (stop, stopped) = oneshot::channel::<()>();
    let listener = listener().await;
    let addr = listener.local_addr().unwrap();
    let served = tokio::spawn(
        polysock::serve(listener, app)
            .header_read_timeout(Duration::from_secs(60))
            .drain_timeout(drain)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );
    let mut hung = raw::connect(addr).await;
    let head = format!("GET /hang HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    hung.write_all(head.as_bytes()).await.unwrap();
    timeout(WAIT, entered.notified())
        .await
        .expect("the handler runs");

    let started = Instant::now();
    stop.send(()).unwrap();
    timeout(WAIT, served)
        .await
        .expect("the serve future ends despite the hung request")
        .unwrap()
        .unwrap();
    let took = started.elapsed();
    assert!(took >= drain, "waited for the drain timeout: {took:?}");
    let reply = raw::read_reply(&mut hung, WAIT).await;
    assert!(reply.closed, "the hung connection is closed");
    assert_eq!(reply.text, "", "without a response");
}

#[tokio::test]
async fn a_bare_service_gets_upgrades_and_the_peer_address() {
    let (tx, mut sockets) = tokio::sync::mpsc::unbounded_channel();
    let polysock = Polysock::builder()
        .on_connect(move |socket| {
            let _ = tx.send(socket);
            async {}
        })
        .build()
        .unwrap();
    let listener = listener().await;
    let addr = listener.local_addr().unwrap();
    tokio::spawn(polysock::serve(listener, polysock.service()).into_future());

    let mut ws = ws_connect(&format!("ws://{addr}/?EIO=4&transport=websocket")).await;
    ws_next_text(&mut ws).await;
    let MaybeTlsStream::Plain(tcp) = ws.get_ref() else {
        panic!("plain TCP");
    };
    let local = tcp.local_addr().unwrap();
    let socket = timeout(WAIT, sockets.recv()).await.unwrap().unwrap();
    assert_eq!(socket.transport(), polysock::Transport::WebSocket);
    assert_eq!(socket.request().remote_addr(), Some(local));
}

/// `polysock::bind` listens with a backlog of 4,096 (capped by the
/// kernel's `somaxconn`), where `TcpListener::bind` takes 1,024: `ss`
/// shows a listening socket's backlog as its Send-Q.
#[tokio::test]
async fn bind_listens_with_a_deep_backlog() {
    let listener = polysock::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = listener.local_addr().unwrap().port();
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096);
    let ss = std::process::Command::new("ss")
        .args(["-Hltn", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2) runs");
    let line = String::from_utf8_lossy(&ss.stdout).into_owned();
    let backlog: u32 = line
        .split_whitespace()
        .nth(2)
        .and_then(|q| q.parse().ok())
        .unwrap_or_else(|| panic!("ss line: {line:?}"));
    assert_eq!(backlog, polysock::LISTEN_BACKLOG.min(somaxconn), "{line}");
}
