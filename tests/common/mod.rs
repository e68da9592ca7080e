//! Test support: a real Polysock server on port 0 whose sockets are handed
//! to the test, and small real HTTP / WebSocket clients.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use polysock::{Builder, Polysock, Socket};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Every wait in the tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: SocketAddr,
    pub polysock: Polysock,
    sockets: mpsc::UnboundedReceiver<Socket>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// How the test server is served: `polysock::serve` with its defaults
/// unless a test changes them.
pub type Serving = polysock::Serve<Router>;

/// Starts a server whose connect handler passes each socket to the test.
pub async fn start(builder: Builder) -> TestServer {
    start_with(builder, |serving| serving).await
}

/// [`start`], with `serving` adjusting the HTTP server (limits, timeouts).
pub async fn start_with(builder: Builder, serving: impl FnOnce(Serving) -> Serving) -> TestServer {
    let (tx, sockets) = mpsc::unbounded_channel();
    let polysock = builder
        .on_connect(move |socket| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(socket);
            }
        })
        .build()
        .expect("valid test configuration");
    let app = Router::new().nest_service("/engine.io", polysock.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serve = serving(polysock::serve(listener, app));
    tokio::spawn(async move {
        serve.await.unwrap();
    });
    TestServer {
        addr,
        polysock,
        sockets,
        client: Client::builder(TokioExecutor::new()).build_http(),
    }
}

/// An echo server: every socket echoes what it receives.
pub async fn start_echo(builder: Builder) -> TestServer {
    start_echo_with(builder, |serving| serving).await
}

/// [`start_echo`], with `serving` adjusting the HTTP server.
pub async fn start_echo_with(
    builder: Builder,
    serving: impl FnOnce(Serving) -> Serving,
) -> TestServer {
    let mut server = start_with(builder, serving).await;
    let mut sockets = std::mem::replace(&mut server.sockets, mpsc::unbounded_channel().1);
    tokio::spawn(async move {
        while let Some(socket) = sockets.recv().await {
            tokio::spawn(echo(socket));
        }
    });
    server
}

/// Echoes every message back until the socket closes.
pub async fn echo(mut socket: Socket) {
    while let Some(message) = socket.recv().await {
        if socket.send(message).await.is_err() {
            break;
        }
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The Engine.IO error code in a JSON error body.
    pub fn error_code(&self) -> Option<u64> {
        serde_json::from_str::<serde_json::Value>(&self.body).ok()?["code"].as_u64()
    }
}

impl TestServer {
    pub fn url(&self, query: &str) -> String {
        format!("http://{}/engine.io/?{query}", self.addr)
    }

    pub fn ws_url(&self, query: &str) -> String {
        format!("ws://{}/engine.io/?{query}", self.addr)
    }

    /// The next socket the server accepted.
    pub async fn socket(&mut self) -> Socket {
        timeout(WAIT, self.sockets.recv())
            .await
            .expect("a socket in time")
            .expect("server alive")
    }

    pub async fn request(&self, method: &str, query: &str, body: impl Into<Bytes>) -> Reply {
        self.request_with_headers(method, query, &[], body).await
    }

    pub async fn request_with_headers(
        &self,
        method: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let mut request = http::Request::builder().method(method).uri(self.url(query));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body.into())).unwrap();
        let response = timeout(WAIT, self.client.request(request))
            .await
            .expect("response in time")
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = timeout(WAIT, response.into_body().collect())
            .await
            .expect("body in time")
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        }
    }

    pub async fn get(&self, query: &str) -> Reply {
        self.request("GET", query, Bytes::new()).await
    }

    pub async fn get_with_headers(&self, query: &str, headers: &[(&str, &str)]) -> Reply {
        self.request_with_headers("GET", query, headers, Bytes::new())
            .await
    }

    pub async fn post(&self, query: &str, body: impl Into<Bytes>) -> Reply {
        self.request("POST", query, body).await
    }

    /// A polling handshake; returns the sid and the open packet's JSON.
    pub async fn handshake(&self, extra: &str) -> (String, serde_json::Value) {
        let reply = self.get(&format!("EIO=4&transport=polling{extra}")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let open: serde_json::Value =
            serde_json::from_str(reply.body.strip_prefix('0').expect("open packet")).unwrap();
        (open["sid"].as_str().unwrap().to_owned(), open)
    }

    /// A GET whose body is read frame by frame as it arrives.
    pub async fn stream(&self, query: &str) -> Streamed {
        let request = http::Request::get(self.url(query))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = timeout(WAIT, self.client.request(request))
            .await
            .expect("response in time")
            .unwrap();
        Streamed {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.into_body(),
            buffer: Vec::new(),
            ended: false,
        }
    }
}

/// A streaming response being read incrementally.
pub struct Streamed {
    pub status: u16,
    pub headers: http::HeaderMap,
    body: Incoming,
    /// Bytes received so far and not consumed.
    pub buffer: Vec<u8>,
    pub ended: bool,
}

impl Streamed {
    /// Reads until `done(buffer)` holds or the body ends; false if it ended first.
    pub async fn read_until(&mut self, mut done: impl FnMut(&[u8]) -> bool) -> bool {
        while !done(&self.buffer) {
            match timeout(WAIT, self.body.frame())
                .await
                .expect("stream data in time")
            {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
                _ => {
                    self.ended = true;
                    return done(&self.buffer);
                }
            }
        }
        true
    }

    /// Reads to the end of the body.
    pub async fn read_to_end(&mut self) {
        self.read_until(|_| false).await;
    }
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl TestServer {
    /// Waits, at most [`WAIT`], until `condition` holds: checked at once,
    /// after every session lifecycle event of the server, and at least
    /// every 25 ms for conditions no event announces.
    pub async fn eventually(&self, what: &str, mut condition: impl FnMut() -> bool) {
        let mut events = self.polysock.events();
        let waited = timeout(WAIT, async {
            while !condition() {
                tokio::select! {
                    _ = events.recv() => {}
                    () = tokio::time::sleep(Duration::from_millis(25)) => {}
                }
            }
        })
        .await;
        assert!(waited.is_ok(), "timed out waiting until {what}");
    }
}

pub async fn ws_connect(url: &str) -> Ws {
    timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("websocket in time")
        .expect("websocket handshake")
        .0
}

/// The next data frame, skipping WebSocket-level pings.
pub async fn ws_next(ws: &mut Ws) -> Option<WsMessage> {
    loop {
        match timeout(WAIT, ws.next()).await.expect("frame in time") {
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
            Some(Ok(message)) => return Some(message),
            _ => return None,
        }
    }
}

/// The next text frame's content, answering Engine.IO pings on the way.
pub async fn ws_next_text(ws: &mut Ws) -> String {
    use futures::SinkExt;
    loop {
        match ws_next(ws).await {
            Some(WsMessage::Text(text)) if text.as_str() == "2" => {
                ws.send(WsMessage::text("3")).await.unwrap();
            }
            Some(WsMessage::Text(text)) => return text.as_str().to_owned(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}
