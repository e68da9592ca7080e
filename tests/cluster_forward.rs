//! Three real nodes on port 0 with a static node directory: a request for
//! a session held by another node is forwarded to it (issue 15 item 3),
//! on every kind of request, and refused as "Session ID unknown" when that
//! node is gone. Real HTTP and WebSocket clients, no balancer: each request
//! is sent to the node the test picks.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use bytes::Bytes;
use common::{ws_connect, ws_next_text, WAIT};
use futures::SinkExt;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use polysock::{Builder, Polysock, StaticDirectory};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const SECRET: &str = "test-cluster-secret";

struct Node {
    id: &'static str,
    addr: SocketAddr,
    polysock: Polysock,
}

struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn code(&self) -> Option<u64> {
        serde_json::from_str::<serde_json::Value>(&self.body).ok()?["code"].as_u64()
    }
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

impl Node {
    fn url(&self, query: &str) -> String {
        format!("http://{}/engine.io/?{query}", self.addr)
    }

    async fn request(
        &self,
        method: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let mut request = http::Request::builder().method(method).uri(self.url(query));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        let response = timeout(WAIT, client().request(request))
            .await
            .expect("response in time")
            .unwrap();
        let status = response.status().as_u16();
        let body = timeout(WAIT, response.into_body().collect())
            .await
            .expect("body in time")
            .unwrap()
            .to_bytes();
        Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    async fn get(&self, query: &str) -> Reply {
        self.request("GET", query, &[], "").await
    }

    async fn post(&self, query: &str, body: &str) -> Reply {
        self.request("POST", query, &[], body).await
    }

    /// A polling handshake here; the sid.
    async fn handshake(&self, extra: &str) -> String {
        let reply = self.get(&format!("EIO=4&transport=polling{extra}")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let open: serde_json::Value = serde_json::from_str(&reply.body[1..]).unwrap();
        open["sid"].as_str().unwrap().to_owned()
    }

    /// A GET whose body is read as it arrives.
    async fn stream(&self, query: &str) -> (u16, Incoming) {
        let request = http::Request::get(self.url(query))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = timeout(WAIT, client().request(request))
            .await
            .expect("response in time")
            .unwrap();
        (response.status().as_u16(), response.into_body())
    }
}

/// Reads `body` until its bytes so far contain `needle`.
async fn read_until_contains(body: &mut Incoming, seen: &mut String, needle: &str) {
    while !seen.contains(needle) {
        let frame = timeout(WAIT, body.frame())
            .await
            .unwrap_or_else(|_| panic!("{needle:?} in time; got {seen:?}"))
            .expect("the stream is still open")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
    }
}

/// Starts three echo nodes "a", "b", "c" that know each other; `tweak`
/// adjusts every node's builder.
async fn cluster(tweak: impl Fn(Builder) -> Builder) -> Vec<Node> {
    cluster_with(tweak, &[]).await
}

/// [`cluster`], with more entries in the directory (fake nodes).
async fn cluster_with(
    tweak: impl Fn(Builder) -> Builder,
    extra: &[(&str, SocketAddr)],
) -> Vec<Node> {
    let ids = ["a", "b", "c"];
    let mut listeners = Vec::new();
    let mut directory = StaticDirectory::new();
    for id in ids {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        directory = directory.with(id, addr.to_string().parse().unwrap());
        listeners.push(listener);
    }
    // A node that was in the cluster and is gone: nothing listens there.
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    directory = directory.with(
        "gone",
        gone.local_addr().unwrap().to_string().parse().unwrap(),
    );
    drop(gone);
    for (id, addr) in extra {
        directory = directory.with(*id, addr.to_string().parse().unwrap());
    }
    let mut nodes = Vec::new();
    for (id, listener) in ids.into_iter().zip(listeners) {
        let addr = listener.local_addr().unwrap();
        let polysock = tweak(Polysock::builder())
            .node_id(id)
            .node_directory(directory.clone())
            .cluster_secret(SECRET)
            .on_connect(common::echo)
            .build()
            .unwrap();
        let app = Router::new().nest_service("/engine.io", polysock.service());
        tokio::spawn(async move {
            let _ = polysock::serve(listener, app).await;
        });
        nodes.push(Node { id, addr, polysock });
    }
    nodes
}

#[tokio::test]
async fn session_ids_name_their_node() {
    let nodes = cluster(|b| b).await;
    for node in &nodes {
        let sid = node.handshake("").await;
        assert!(sid.starts_with(&format!("{}.", node.id)), "{sid}");
        assert_eq!(sid.len(), node.id.len() + 1 + 32);
    }
    let plain = common::start_echo(Polysock::builder()).await;
    let (sid, _) = plain.handshake("").await;
    assert!(!sid.contains('.'), "no node id, no prefix: {sid}");
}

#[tokio::test]
async fn polling_goes_to_the_owner_from_any_node() {
    let nodes = cluster(|b| b).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let sid = a.handshake("").await;
    let q = format!("EIO=4&transport=polling&sid={sid}");
    // 300 messages, each POSTed to one node and read back from another.
    let mut received = Vec::new();
    for round in 0..30 {
        let batch: Vec<String> = (0..10).map(|i| format!("m{}", round * 10 + i)).collect();
        let payload = batch
            .iter()
            .map(|m| format!("4{m}"))
            .collect::<Vec<_>>()
            .join("\u{1e}");
        let poster = &nodes[round % 3];
        let reply = poster.post(&q, &payload).await;
        assert_eq!((reply.status, reply.body.as_str()), (200, "ok"));
        while received.len() < (round + 1) * 10 {
            let reply = nodes[(round + 1) % 3].get(&q).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            for packet in reply.body.split('\u{1e}') {
                if let Some(message) = packet.strip_prefix('4') {
                    received.push(message.to_owned());
                }
            }
        }
    }
    let expected: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    assert_eq!(received, expected, "every message once, in order");
    assert_eq!(a.polysock.forwarded_requests(), 0, "a holds the session");
    assert!(b.polysock.forwarded_requests() > 0);
    assert!(c.polysock.forwarded_requests() > 0);
    assert_eq!(a.polysock.socket_count(), 1);
    assert_eq!(b.polysock.socket_count() + c.polysock.socket_count(), 0);
}

#[tokio::test]
async fn a_websocket_upgrade_through_another_node_is_spliced_to_the_owner() {
    let nodes = cluster(|b| b).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let sid = a.handshake("").await;
    let url = format!(
        "ws://{}/engine.io/?EIO=4&transport=websocket&sid={sid}",
        b.addr
    );
    let mut ws = ws_connect(&url).await;
    ws.send(WsMessage::text("2probe")).await.unwrap();
    assert_eq!(ws_next_text(&mut ws).await, "3probe");
    ws.send(WsMessage::text("5")).await.unwrap();
    for n in 0..1000 {
        ws.send(WsMessage::text(format!("4ws {n}"))).await.unwrap();
    }
    for n in 0..1000 {
        assert_eq!(ws_next_text(&mut ws).await, format!("4ws {n}"));
    }
    ws.send(WsMessage::binary(vec![0u8, 255, 7])).await.unwrap();
    let frame = timeout(WAIT, futures::StreamExt::next(&mut ws))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(frame, WsMessage::binary(vec![0u8, 255, 7]));
    let socket = a.polysock.socket(&sid).expect("the session lives on a");
    assert_eq!(socket.transport(), polysock::Transport::WebSocket);
    assert_eq!(b.polysock.forwarded_requests(), 1);
    assert_eq!(b.polysock.socket_count(), 0);
    // Closing from the client end reaches the owner through the splice.
    let mut events = a.polysock.events();
    ws.close(None).await.unwrap();
    let closed = timeout(WAIT, async {
        loop {
            if let Ok(polysock::SessionEvent::Closed { id, reason, .. }) = events.recv().await {
                if id == sid {
                    return reason;
                }
            }
        }
    })
    .await
    .expect("the owner saw the close in time");
    assert!(
        matches!(closed, polysock::CloseReason::ClientClosed(_)),
        "{closed:?}"
    );
}

#[tokio::test]
async fn a_handshake_is_never_forwarded() {
    let nodes = cluster(|b| b).await;
    let b = &nodes[1];
    let url = format!("ws://{}/engine.io/?EIO=4&transport=websocket", b.addr);
    let mut ws = ws_connect(&url).await;
    let open = ws_next_text(&mut ws).await;
    assert!(open.starts_with("0{\"sid\":\"b."), "{open}");
    assert!(b.handshake("").await.starts_with("b."));
    assert_eq!(
        nodes
            .iter()
            .map(|n| n.polysock.forwarded_requests())
            .sum::<u64>(),
        0
    );
}

#[tokio::test]
async fn a_stream_through_another_node_arrives_live() {
    let nodes = cluster(|b| b).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let (status, mut first) = a.stream("EIO=4&transport=xhr-streaming&ext=1").await;
    assert_eq!(status, 200);
    let mut seen = String::new();
    read_until_contains(&mut first, &mut seen, "\"sid\"").await;
    let start = seen.find("0{").unwrap();
    let open: serde_json::Value =
        serde_json::from_str(seen[start + 1..].split("\r\n").next().unwrap()).unwrap();
    let sid = open["sid"].as_str().unwrap().to_owned();
    drop(first);
    // The stream picks up on b, acknowledging the open packet.
    let query = |rest: &str| format!("EIO=4&transport=xhr-streaming&ext=1&sid={sid}{rest}");
    let (status, mut stream) = b.stream(&query("&ack=1")).await;
    assert_eq!(status, 200);
    let mut seen = String::new();
    for n in 0..20 {
        let reply = c.post(&query(""), &format!("4live {n}")).await;
        assert_eq!((reply.status, reply.body.as_str()), (200, "ok"));
        // Each echo arrives while the forwarded response stays open.
        read_until_contains(&mut stream, &mut seen, &format!("4live {n}\r\n")).await;
    }
    assert_eq!(b.polysock.forwarded_requests(), 1);
    assert_eq!(c.polysock.forwarded_requests(), 20);
}

#[tokio::test]
async fn a_gone_or_unknown_node_is_a_session_unknown_at_once() {
    let nodes = cluster(|b| b).await;
    let b = &nodes[1];
    for sid in [
        format!("gone.{}", "0".repeat(32)),
        format!("zz.{}", "0".repeat(32)),
    ] {
        for (method, transport) in [
            ("GET", "polling"),
            ("POST", "polling"),
            ("GET", "xhr-streaming"),
        ] {
            let started = Instant::now();
            let q = format!("EIO=4&transport={transport}&ext=1&sid={sid}");
            let reply = b.request(method, &q, &[], "4x").await;
            assert_eq!(
                (reply.status, reply.code()),
                (400, Some(1)),
                "{method} {q}: {}",
                reply.body
            );
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "answered in {:?}",
                started.elapsed()
            );
        }
        // The resume handshake of issue 14 names the session the same way,
        // and is refused as its contract says (resume_unknown).
        let q = format!("EIO=4&transport=polling&ext=1&resume={sid}&last=0");
        let reply = b.get(&q).await;
        assert_eq!((reply.status, reply.code()), (400, Some(1)));
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["detail"], "session unknown");
        // On a WebSocket the refusal comes in-band (protocol-spec 11.7): a
        // browser could not read the 400.
        let url = format!(
            "ws://{}/engine.io/?EIO=4&transport=websocket&ext=1&resume={sid}&last=0",
            b.addr
        );
        let mut ws = ws_connect(&url).await;
        match common::ws_next(&mut ws).await {
            Some(WsMessage::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), 4001, "{sid}");
                assert_eq!(frame.reason.as_str(), "session unknown");
            }
            other => panic!("{sid}: expected a close 4001, got {other:?}"),
        }
    }
    let url = format!(
        "ws://{}/engine.io/?EIO=4&transport=websocket&sid=gone.{}",
        b.addr,
        "0".repeat(32)
    );
    let refused = timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .unwrap();
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400)
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[tokio::test]
async fn a_forwarded_request_is_not_forwarded_again_and_needs_the_secret() {
    let nodes = cluster(|b| b).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let sid = a.handshake("").await;
    let q = format!("EIO=4&transport=polling&sid={sid}");
    // Marked by a peer with the secret: b answers itself, it does not hold it.
    let marked = [
        ("polysock-forwarded", "c"),
        ("polysock-cluster-secret", SECRET),
    ];
    let reply = b.request("GET", &q, &marked, "").await;
    assert_eq!(
        (reply.status, reply.code()),
        (400, Some(1)),
        "{}",
        reply.body
    );
    assert_eq!(b.polysock.forwarded_requests(), 0);
    // A client posing as a node is refused, with or without a guess.
    for forged in [
        vec![("polysock-forwarded", "c")],
        vec![
            ("polysock-forwarded", "c"),
            ("polysock-cluster-secret", "guess"),
        ],
        vec![("polysock-cluster-secret", "test-cluster-secreT")],
    ] {
        let reply = a.request("GET", &q, &forged, "").await;
        assert_eq!(
            (reply.status, reply.code()),
            (403, Some(4)),
            "{}",
            reply.body
        );
    }
    assert_eq!(a.polysock.socket_count(), 1, "the session is untouched");
}

#[tokio::test]
async fn the_body_bounds_hold_through_a_forward() {
    let nodes = cluster(|b| b.max_payload(1000).body_timeout(Duration::from_millis(500))).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    // Too large: 413, and the owner closes the session as on the direct path.
    let sid = a.handshake("").await;
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let reply = b.post(&q, &format!("4{}", "x".repeat(2000))).await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(a.polysock.socket(&sid).is_none());
    // Too slow: a body that never completes is answered 408 by the owner's
    // body timeout, through the forward.
    let sid = a.handshake("").await;
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let (tx, rx) = futures::channel::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(1);
    let mut tx = tx;
    tx.send(Ok(Frame::data(Bytes::from_static(b"4sl"))))
        .await
        .unwrap();
    let request = http::Request::post(b.url(&q))
        .header("content-length", "100")
        .body(StreamBody::new(rx))
        .unwrap();
    let slow_client = Client::builder(TokioExecutor::new()).build_http::<StreamBody<_>>();
    let started = Instant::now();
    let response = timeout(WAIT, slow_client.request(request))
        .await
        .expect("an answer while the body is still open")
        .unwrap();
    assert_eq!(response.status(), 408);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(tx);
}

#[tokio::test]
async fn a_resume_handshake_goes_to_the_node_its_sid_names() {
    let nodes = cluster(|b| b).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let sid = a.handshake("&ext=1&resume=1").await;
    // b has no such session: only a can answer with the resumed open packet.
    let reply = b
        .get(&format!(
            "EIO=4&transport=polling&ext=1&resume={sid}&last=0"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.starts_with(&format!("0{{\"sid\":\"{sid}\"")),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("\"resumed\":0"), "{}", reply.body);
    assert_eq!(b.polysock.forwarded_requests(), 1);
}

#[tokio::test]
async fn origin_checks_and_cors_answers_come_from_the_owner_once() {
    let nodes = cluster(|b| b.allowed_origins(["https://app.example"])).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let sid = a.handshake("").await;
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let request = |origin: &'static str| {
        http::Request::post(b.url(&q))
            .header("origin", origin)
            .body(Full::new(Bytes::from_static(b"4hi")))
            .unwrap()
    };
    let allowed = timeout(WAIT, client().request(request("https://app.example")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(allowed.status(), 200);
    let cors: Vec<_> = allowed
        .headers()
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    assert_eq!(
        cors,
        ["https://app.example"],
        "one CORS answer, the owner's"
    );
    let refused = timeout(WAIT, client().request(request("https://evil.example")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refused.status(), 403);
}

/// A fake node: reads a request head, then answers with `answer` and
/// stays silent with the connection open.
async fn mute_node(answer: &'static [u8]) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
            let _ = stream.write_all(answer).await;
            held.push(stream);
        }
    });
    addr
}

#[tokio::test]
async fn a_silent_owner_is_cut_off_by_the_forwarding_timeouts() {
    let no_head = mute_node(b"").await;
    let no_body =
        mute_node(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n4x\r\n").await;
    let tweak = |b: Builder| {
        b.ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(200))
            .body_timeout(Duration::from_millis(200))
            .upgrade_timeout(Duration::from_millis(200))
            .forward_connect_timeout(Duration::from_millis(200))
    };
    let nodes = cluster_with(tweak, &[("nohead", no_head), ("nobody", no_body)]).await;
    let b = &nodes[1];
    // No response head: "Session ID unknown" once the longest wait of the
    // direct path (here 500 ms) and the connect timeout are over.
    let started = Instant::now();
    let reply = b
        .get(&format!(
            "EIO=4&transport=polling&sid=nohead.{}",
            "0".repeat(32)
        ))
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (400, Some(1)),
        "{}",
        reply.body
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(650) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    // A head, a first chunk, then silence: the body is cut after ping
    // interval + ping timeout without a byte.
    let (status, mut body) = b
        .stream(&format!(
            "EIO=4&transport=xhr-streaming&ext=1&sid=nobody.{}",
            "0".repeat(32)
        ))
        .await;
    assert_eq!(status, 200);
    let mut seen = String::new();
    read_until_contains(&mut body, &mut seen, "4x").await;
    let started = Instant::now();
    let end = timeout(WAIT, async {
        loop {
            match body.frame().await {
                Some(Ok(_)) => continue,
                other => return other.map(|r| r.is_err()),
            }
        }
    })
    .await
    .expect("the silent body is cut in time");
    assert_eq!(end, Some(true), "cut with an error, not ended cleanly");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[test]
fn cluster_options_are_checked_at_build() {
    use polysock::ConfigError;
    let echo = |b: Builder| b.on_connect(common::echo);
    let directory = || StaticDirectory::new().with("a", "127.0.0.1:1".parse().unwrap());
    let no_id = echo(
        Polysock::builder()
            .node_directory(directory())
            .cluster_secret(SECRET),
    );
    assert!(matches!(
        no_id.build(),
        Err(ConfigError::IncompleteCluster(_))
    ));
    let no_secret = echo(Polysock::builder().node_id("a").node_directory(directory()));
    assert!(matches!(
        no_secret.build(),
        Err(ConfigError::IncompleteCluster(_))
    ));
    let bad_secret = echo(Polysock::builder().node_id("a").node_directory(directory()))
        .cluster_secret("two words");
    assert!(matches!(
        bad_secret.build(),
        Err(ConfigError::IncompleteCluster(_))
    ));
    for bad in ["", "a.b", "a/b", &"n".repeat(25)] {
        let built = echo(Polysock::builder().node_id(bad)).build();
        assert_eq!(
            built.err(),
            Some(ConfigError::InvalidNodeId(bad.to_owned()))
        );
    }
    // A node id alone (no directory) is fine: ids carry it, nothing is forwarded.
    let alone = echo(Polysock::builder().node_id("solo")).build().unwrap();
    assert_eq!(alone.forwarded_requests(), 0);
}
