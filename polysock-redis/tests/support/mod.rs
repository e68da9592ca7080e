//! Test support: a real `redis-server` on a free port, Polysock nodes on
//! port 0 with the Redis adapter, and a small Engine.IO WebSocket client.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::Router;
use futures_util::{SinkExt, StreamExt};
use polysock::{Message, Polysock};
use polysock_redis::{RedisAdapter, RedisConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Every wait is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

/// Waits until `check` holds, checking every 20 ms, at most `limit`;
/// returns how long it took.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A `redis-server` of the test's own.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

impl Redis {
    /// Starts on a free port (picked by binding port 0, then closed; a
    /// collision with another process is retried on another port).
    pub async fn start() -> Self {
        for _ in 0..10 {
            let port = free_port();
            if let Some(child) = spawn(port).await {
                return Self {
                    port,
                    child: Some(child),
                };
            }
        }
        panic!("redis-server did not start on any of 10 ports");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL) and waits for it to be gone.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let started = Instant::now();
        while started.elapsed() < WAIT {
            if let Some(child) = spawn(self.port).await {
                self.child = Some(child);
                return;
            }
        }
        panic!("redis-server did not come back on port {}", self.port);
    }
}

/// Spawns `redis-server` on `port` and waits until it accepts; `None` if
/// it exited (the port was taken).
async fn spawn(port: u16) -> Option<Child> {
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server installed (scripts/test.sh installs it)");
    let started = Instant::now();
    while started.elapsed() < WAIT {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Some(child);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child.kill().await;
    None
}

/// A Polysock node with the Redis adapter, echoing what it receives.
pub struct Node {
    pub addr: SocketAddr,
    pub polysock: Polysock,
    pub cluster: RedisAdapter,
}

impl Node {
    pub async fn start(config: RedisConfig) -> Self {
        Self::start_with(config, |app, _| app).await
    }

    /// [`start`](Self::start), with `routes` adding to the app.
    pub async fn start_with(
        config: RedisConfig,
        routes: impl FnOnce(Router, &Polysock) -> Router,
    ) -> Self {
        let cluster = RedisAdapter::new(config).expect("valid config");
        let polysock = Polysock::builder()
            .adapter(cluster.clone())
            .on_connect(|mut socket| async move {
                while let Some(message) = socket.recv().await {
                    if socket.send(message).await.is_err() {
                        break;
                    }
                }
            })
            .build()
            .expect("valid test configuration");
        let app = routes(
            Router::new().nest_service("/engine.io", polysock.service()),
            &polysock,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = polysock::serve(listener, app).await;
        });
        Self {
            addr,
            polysock,
            cluster,
        }
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }
}

/// Starts `n` nodes on `redis` and waits until each sees all the others.
pub async fn cluster(
    redis: &Redis,
    n: usize,
    tune: impl Fn(RedisConfig) -> RedisConfig,
) -> Vec<Node> {
    let mut nodes = Vec::new();
    for i in 0..n {
        let config = tune(RedisConfig::new(redis.url()).node_id(format!("node{i}")));
        nodes.push(Node::start(config).await);
    }
    eventually("every node sees the cluster", WAIT, || {
        let ready = nodes
            .iter()
            .all(|node| node.cluster.is_connected() && node.cluster.nodes().len() == n);
        async move { ready }
    })
    .await;
    nodes
}

/// An Engine.IO v4 client over WebSocket that answers pings.
pub struct Client {
    pub id: String,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
        let (mut ws, _) = timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect in time")
            .expect("websocket handshake");
        let open = match timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => text.to_string(),
            other => panic!("expected the open packet, got {other:?}"),
        };
        let data: serde_json::Value =
            serde_json::from_str(open.strip_prefix('0').expect("open packet")).unwrap();
        let id = data["sid"].as_str().expect("sid").to_owned();
        Self { id, ws }
    }

    pub async fn send(&mut self, text: &str) {
        self.ws
            .send(WsMessage::text(format!("4{text}")))
            .await
            .expect("send");
    }

    /// The next text message, or `None` once closed.
    pub async fn next(&mut self) -> Option<String> {
        loop {
            let frame = timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time");
            match frame {
                Some(Ok(WsMessage::Text(text))) => match text.as_str() {
                    "2" => {
                        let _ = self.ws.send(WsMessage::text("3")).await;
                    }
                    "1" => return None,
                    other => match other.strip_prefix('4') {
                        Some(message) => return Some(message.to_owned()),
                        None => continue,
                    },
                },
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Messages until every one of `wanted` has arrived (all of them, in
    /// arrival order).
    pub async fn until_all(&mut self, wanted: &[&str]) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        while !wanted.iter().all(|w| seen.iter().any(|s| s == w)) {
            match self.next().await {
                Some(message) => seen.push(message),
                None => panic!("closed before {wanted:?}; saw {seen:?}"),
            }
        }
        seen
    }

    /// Messages up to and including `end`.
    pub async fn until(&mut self, end: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let message = self
                .next()
                .await
                .unwrap_or_else(|| panic!("closed before {end}; saw {seen:?}"));
            let done = message == end;
            seen.push(message);
            if done {
                return seen;
            }
        }
    }
}

/// GET `path` over plain HTTP/1.0; the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = timeout(WAIT, TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = Vec::new();
    timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    body.to_owned()
}

pub fn text(message: &str) -> Message {
    Message::Text(message.to_owned())
}
