//! What a WebSocket runs over. Served by `polysock::serve` (or axum's), the
//! upgraded connection is used as the plain `TcpStream` it is; any other
//! connection type goes through hyper's upgrade object. Both must carry a
//! session, and bytes that arrived with the handshake must not be lost.

mod common;

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use common::*;
use futures::SinkExt;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use polysock::Polysock;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A connection that is not a `TcpStream` as far as types go.
struct Wrapped(TcpStream);

impl AsyncRead for Wrapped {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Wrapped {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn websocket_over_a_connection_that_is_not_a_tcp_stream() {
    let polysock = Polysock::builder().on_connect(echo).build().unwrap();
    let app = Router::new().nest_service("/engine.io", polysock.service());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(Wrapped(tcp)), service)
                    .with_upgrades(),
            );
        }
    });

    let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
    let mut ws = ws_connect(&url).await;
    assert!(ws_next_text(&mut ws).await.starts_with("0{"));
    for text in ["4one", "4two", "4thrée"] {
        ws.send(WsMessage::text(text)).await.unwrap();
        assert_eq!(ws_next_text(&mut ws).await, text);
    }
    ws.send(WsMessage::binary(vec![7u8; 3000])).await.unwrap();
    assert_eq!(
        ws_next(&mut ws).await,
        Some(WsMessage::binary(vec![7u8; 3000]))
    );
}

/// A client text frame, masked as RFC 6455 requires.
fn masked_text_frame(text: &str) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let payload = text.as_bytes();
    assert!(payload.len() < 126, "short frames only");
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

#[tokio::test]
async fn frames_sent_with_the_handshake_are_not_lost() {
    let server = start_echo(Polysock::builder()).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let mut bytes = format!(
        "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\n\
         Host: {}\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        server.addr
    )
    .into_bytes();
    // Two frames in the same write as the head: hyper reads them with it.
    bytes.extend(masked_text_frame("4early"));
    bytes.extend(masked_text_frame("4bird"));
    tcp.write_all(&bytes).await.unwrap();

    let mut received = Vec::new();
    let wanted: &[&[u8]] = &[b"101 Switching Protocols", b"0{", b"4early", b"4bird"];
    let all_there = |received: &[u8]| {
        let mut rest = received;
        wanted.iter().all(
            |needle| match rest.windows(needle.len()).position(|w| w == *needle) {
                Some(at) => {
                    rest = &rest[at + needle.len()..];
                    true
                }
                None => false,
            },
        )
    };
    while !all_there(&received) {
        let mut chunk = [0u8; 1024];
        let read = timeout(WAIT, tcp.read(&mut chunk))
            .await
            .expect("echo in time")
            .unwrap();
        assert!(
            read > 0,
            "closed early: {:?}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&chunk[..read]);
    }
}
