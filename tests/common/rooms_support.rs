//! Helpers for the rooms tests: WebSocket clients matched to their server
//! sockets, and a reader that collects what a client receives.

#![allow(dead_code)]

use futures::{SinkExt, StreamExt};
use polysock::Socket;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::common::{ws_connect, TestServer, Ws, WAIT};

/// A client connected over WebSocket, with its server-side socket.
pub struct Peer {
    pub socket: Socket,
    pub ws: Ws,
}

impl Peer {
    pub fn id(&self) -> String {
        self.socket.id().to_owned()
    }
}

/// Opens a WebSocket session and takes the server's socket for it.
pub async fn connect(server: &mut TestServer) -> Peer {
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket")).await;
    let open = next_frame(&mut ws).await.expect("open packet");
    let open: serde_json::Value =
        serde_json::from_str(open.strip_prefix('0').expect("open packet")).unwrap();
    let socket = server.socket().await;
    assert_eq!(Some(socket.id()), open["sid"].as_str(), "sockets in order");
    Peer { socket, ws }
}

/// The next Engine.IO text packet, answering pings; `None` once closed.
async fn next_frame(ws: &mut Ws) -> Option<String> {
    loop {
        match timeout(WAIT, ws.next()).await.expect("frame in time") {
            Some(Ok(WsMessage::Text(text))) if text.as_str() == "2" => {
                let _ = ws.send(WsMessage::text("3")).await;
            }
            Some(Ok(WsMessage::Text(text))) => return Some(text.as_str().to_owned()),
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
            _ => return None,
        }
    }
}

/// The next application message (an Engine.IO `4` packet); `None` once the
/// session closed.
pub async fn next_message(ws: &mut Ws) -> Option<String> {
    loop {
        let frame = next_frame(ws).await?;
        if let Some(message) = frame.strip_prefix('4') {
            return Some(message.to_owned());
        }
        if frame.starts_with('1') {
            return None;
        }
    }
}

/// Every message up to and including `last`, or up to the close.
pub async fn read_until(ws: &mut Ws, last: &str) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(message) = next_message(ws).await {
        let done = message == last;
        seen.push(message);
        if done {
            break;
        }
    }
    seen
}
