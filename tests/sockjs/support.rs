//! Test support for the SockJS tests: a real server on port 0 with the four
//! endpoints of the SockJS protocol suite (as `echo --sockjs` mounts them),
//! and small real HTTP and WebSocket clients.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use polysock::{Builder, Polysock, SockJs, SockJsBuilder, Socket, SocketSender};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Every wait in the tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct SockJsServer {
    pub addr: SocketAddr,
    pub polysock: Polysock,
    /// The sockets of the echo server's sessions, as they open.
    pub sockets: mpsc::UnboundedReceiver<SocketSender>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// The endpoints' options as the suite's test server has them; `tune`
/// changes them for all four.
pub async fn start(
    builder: Builder,
    tune: impl Fn(SockJsBuilder) -> SockJsBuilder,
) -> SockJsServer {
    let (tx, sockets) = mpsc::unbounded_channel();
    let polysock = builder
        .on_connect(move |mut socket: Socket| {
            let tx = tx.clone();
            async move {
                // The echo; the test gets a sender for each socket.
                let _ = tx.send(socket.sender());
                while let Some(message) = socket.recv().await {
                    if socket.send(message).await.is_err() {
                        break;
                    }
                }
            }
        })
        .build()
        .expect("valid configuration");
    let closer = Polysock::builder()
        .allow_any_origin()
        .on_connect(|socket: Socket| async move {
            let _ = socket.close(3000, "Go away!");
        })
        .build()
        .expect("valid configuration");
    let echo = tune(SockJs::builder(&polysock).response_limit(4096))
        .build()
        .unwrap();
    let no_websocket = tune(SockJs::builder(&polysock).websocket(false))
        .build()
        .unwrap();
    let cookie = tune(SockJs::builder(&polysock).jsessionid(true))
        .build()
        .unwrap();
    let close = tune(SockJs::builder(&closer)).build().unwrap();
    let mut app = Router::new().nest_service("/engine.io", polysock.service());
    for (prefix, endpoint) in [
        ("/echo", echo),
        ("/disabled_websocket_echo", no_websocket),
        ("/cookie_needed_echo", cookie),
        ("/close", close),
    ] {
        let service = endpoint.service().with_prefix(prefix);
        app = app
            .route_service(prefix, service.clone())
            .route_service(&format!("{prefix}/"), service.clone())
            .route_service(&format!("{prefix}/{{*rest}}"), service);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { polysock::serve(listener, app).await.unwrap() });
    SockJsServer {
        addr,
        polysock,
        sockets,
        client: Client::builder(TokioExecutor::new()).build_http(),
    }
}

/// The suite's server with sockjs-node's defaults but the response limit.
pub async fn start_default() -> SockJsServer {
    start(Polysock::builder().allow_any_origin(), |b| b).await
}

pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A fresh session path under `base`: `/<base>/000/<unique>`.
pub fn session_url(base: &str) -> String {
    format!("{base}/000/{}", uuid_like())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("s{n}x{:x}", std::process::id())
}

impl SockJsServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let mut request = http::Request::builder().method(method).uri(self.url(path));
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

    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], Bytes::new()).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Reply {
        self.request("POST", path, &[], body.to_owned()).await
    }

    /// A request whose body is read as it arrives.
    pub async fn stream(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Streamed {
        let mut request = http::Request::builder().method(method).uri(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(Bytes::new())).unwrap();
        let response = timeout(WAIT, self.client.request(request))
            .await
            .expect("response in time")
            .unwrap();
        Streamed {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    pub async fn websocket(&self, path: &str) -> Ws {
        let url = format!("ws://{}{path}", self.addr);
        let (stream, _) = timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("websocket in time")
            .expect("websocket handshake");
        Ws(stream)
    }

    /// The next socket the echo server opened.
    pub async fn socket(&mut self) -> SocketSender {
        timeout(WAIT, self.sockets.recv())
            .await
            .expect("a socket in time")
            .expect("server alive")
    }
}

/// A streaming response, read incrementally.
pub struct Streamed {
    pub status: u16,
    pub headers: http::HeaderMap,
    body: Incoming,
    buffer: String,
}

impl Streamed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Reads until the buffer holds `len` bytes or the body ends.
    async fn fill(&mut self, len: usize) -> bool {
        while self.buffer.len() < len {
            match timeout(WAIT, self.body.frame())
                .await
                .expect("data in time")
            {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer
                            .push_str(std::str::from_utf8(&data).expect("UTF-8"));
                    }
                }
                Some(Err(error)) => panic!("body failed: {error}"),
                None => return false,
            }
        }
        true
    }

    /// The next bytes of the body are exactly `expected`.
    pub async fn expect(&mut self, expected: &str) {
        let complete = self.fill(expected.len()).await;
        let got: String = self.buffer.chars().take(expected.chars().count()).collect();
        assert!(
            complete,
            "body ended with {:?}, expected {expected:?}",
            self.buffer
        );
        assert_eq!(got, expected);
        self.buffer.drain(..expected.len());
    }

    /// Skips the next `len` bytes.
    pub async fn skip(&mut self, len: usize) -> String {
        assert!(self.fill(len).await, "body ended early");
        self.buffer.drain(..len).collect()
    }

    /// Reads up to and including `end`; returns what came before it.
    pub async fn until(&mut self, end: &str) -> String {
        loop {
            if let Some(at) = self.buffer.find(end) {
                let text = self.buffer[..at].to_owned();
                self.buffer.drain(..at + end.len());
                return text;
            }
            let want = self.buffer.len() + 1;
            assert!(
                self.fill(want).await,
                "body ended before {end:?}: {:?}",
                self.buffer
            );
        }
    }

    /// Whether the body has ended (waits for data or the end; keeps data).
    pub async fn is_at_end(&mut self) -> bool {
        self.buffer.is_empty() && !self.fill(1).await
    }

    /// The body ends with nothing more.
    pub async fn expect_end(&mut self) {
        assert!(!self.fill(1).await, "more data: {:?}", self.buffer);
        assert!(self.buffer.is_empty());
    }
}

pub struct Ws(pub WebSocketStream<MaybeTlsStream<TcpStream>>);

impl Ws {
    pub async fn send(&mut self, text: &str) {
        self.0.send(WsMessage::text(text)).await.unwrap();
    }

    /// The next text message.
    pub async fn recv(&mut self) -> String {
        loop {
            match timeout(WAIT, self.0.next()).await.expect("message in time") {
                Some(Ok(WsMessage::Text(text))) => return text.to_string(),
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// Reads until the server closes; the close frame's code and reason.
    pub async fn closed(&mut self) -> Option<(u16, String)> {
        loop {
            match timeout(WAIT, self.0.next()).await.expect("close in time") {
                Some(Ok(WsMessage::Close(frame))) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()))
                }
                Some(Ok(WsMessage::Text(text))) => panic!("unexpected message {text}"),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

// ----- assertions the protocol suite makes everywhere -----------------------

pub fn assert_not_cached(headers: &http::HeaderMap) {
    assert_eq!(
        headers["cache-control"],
        "no-store, no-cache, no-transform, must-revalidate, max-age=0"
    );
    assert!(headers.get("expires").is_none());
    assert!(headers.get("last-modified").is_none());
}

pub fn assert_cors(headers: &http::HeaderMap, origin: &str) {
    assert_eq!(headers["access-control-allow-origin"], origin);
    assert_eq!(headers["access-control-allow-credentials"], "true");
}

pub fn content_type(headers: &http::HeaderMap) -> String {
    headers["content-type"].to_str().unwrap().replace(' ', "")
}

pub async fn verify_options(server: &SockJsServer, path: &str, methods: &str) {
    for origin in ["test", "null"] {
        let reply = server
            .request(
                "OPTIONS",
                path,
                &[
                    ("Origin", origin),
                    ("Access-Control-Request-Method", methods),
                ],
                "",
            )
            .await;
        assert!(reply.status == 204 || reply.status == 200, "{path}");
        let cache = reply.header("cache-control").unwrap();
        assert!(cache.contains("public") && cache.contains("max-age=31536000"));
        assert!(reply.header("expires").is_some());
        let max_age: u64 = reply
            .header("access-control-max-age")
            .unwrap()
            .parse()
            .unwrap();
        assert!(max_age > 1_000_000);
        let allowed = reply.header("access-control-allow-methods").unwrap();
        for method in methods.split(',') {
            assert!(allowed.contains(method.trim()), "{allowed} lacks {method}");
        }
        assert!(reply.body.is_empty());
        assert_cors(&reply.headers, origin);
    }
}
