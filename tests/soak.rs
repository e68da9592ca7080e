//! Soak: waves of sessions on all four transports open, exchange a few
//! messages and close, for `POLYSOCK_SOAK_SECS` seconds (default 5: the
//! bounded run CI does; 60 or more on demand).
//! Afterwards no session is left, the runtime's task count is back at its
//! baseline and RSS is within [`RSS_SLACK`] of where it was after warm-up.
//!
//! ```text
//! POLYSOCK_SOAK_SECS=60 cargo test --test soak -- --nocapture
//! ```

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use polysock::Polysock;
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Sessions open at once in one wave.
const WAVE: usize = 200;
/// Messages each session sends (and gets echoed).
const MESSAGES: usize = 3;
/// How far RSS may stay above its post-warm-up level once the waves end.
const RSS_SLACK: u64 = 48 * 1024 * 1024;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

#[derive(Default)]
struct Counters {
    sessions: AtomicU64,
    messages: AtomicU64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_of_sessions_leave_nothing_behind() {
    let seconds: u64 = std::env::var("POLYSOCK_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let metrics = tokio::runtime::Handle::current().metrics();
    let server = start_echo(Polysock::builder()).await;
    let base = format!("http://{}/engine.io/?", server.addr);
    let tasks_before = metrics.num_alive_tasks();

    let counters = Arc::new(Counters::default());
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    // Warm-up: allocator pools and lazily built state reach their size.
    wave(&client, &base, &counters, 0).await;
    settle(&server).await;
    let rss_start = rss();

    let peak = Arc::new(AtomicU64::new(rss_start));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss(), Ordering::Relaxed);
                sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let started = Instant::now();
    let mut waves = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        waves += 1;
        wave(&client, &base, &counters, waves).await;
    }
    let elapsed = started.elapsed();
    sampler.abort();
    let _ = sampler.await;
    drop(client);
    settle(&server).await;

    server
        .eventually("the sessions' tasks are gone", || {
            metrics.num_alive_tasks() <= tasks_before
        })
        .await;
    let tasks_after = metrics.num_alive_tasks();
    let rss_after = rss();
    let sessions = counters.sessions.load(Ordering::Relaxed);
    let messages = counters.messages.load(Ordering::Relaxed);
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "soak: {waves} waves in {:.1} s, {sessions} sessions ({} warm-up), {messages} messages echoed; \
         RSS start {:.1} MiB, peak {:.1} MiB, after {:.1} MiB; tasks before {tasks_before}, after {tasks_after}; \
         sockets after {}",
        elapsed.as_secs_f64(),
        WAVE,
        mib(rss_start),
        mib(peak.load(Ordering::Relaxed)),
        mib(rss_after),
        server.polysock.socket_count(),
    );
    assert_eq!(server.polysock.socket_count(), 0);
    assert!(
        tasks_after <= tasks_before,
        "tasks: {tasks_before} before, {tasks_after} after"
    );
    assert!(
        rss_after <= rss_start + RSS_SLACK,
        "RSS {:.1} MiB after, {:.1} MiB at the start",
        mib(rss_after),
        mib(rss_start)
    );
    assert!(sessions >= 3 * WAVE as u64, "{sessions} sessions");
}

/// One wave: `WAVE` sessions at once, a quarter on each transport.
async fn wave(client: &HttpClient, base: &str, counters: &Arc<Counters>, number: usize) {
    let runs = (0..WAVE).map(|n| {
        let client = client.clone();
        let base = base.to_owned();
        let counters = counters.clone();
        let tag = format!("w{number}s{n}");
        tokio::spawn(async move {
            match n % 4 {
                0 => websocket(&base, &tag).await,
                1 => polling(&client, &base, &tag).await,
                2 => streaming(&client, &base, "xhr-streaming", &tag).await,
                _ => streaming(&client, &base, "htmlfile", &tag).await,
            }
            counters.sessions.fetch_add(1, Ordering::Relaxed);
            counters
                .messages
                .fetch_add(MESSAGES as u64, Ordering::Relaxed);
        })
    });
    for run in futures::future::join_all(runs).await {
        run.expect("a session ran to the end");
    }
}

/// Waits (bounded) until every session is gone.
async fn settle(server: &TestServer) {
    server
        .eventually("every session is gone", || {
            server.polysock.socket_count() == 0
        })
        .await;
}

fn payload(tag: &str) -> String {
    (0..MESSAGES)
        .map(|n| format!("4{tag}m{n}"))
        .collect::<Vec<_>>()
        .join("\x1e")
}

fn echoed_all(text: &str, tag: &str) -> bool {
    (0..MESSAGES).all(|n| text.contains(&format!("4{tag}m{n}")))
}

async fn websocket(base: &str, tag: &str) {
    let url = format!(
        "{}EIO=4&transport=websocket",
        base.replacen("http", "ws", 1)
    );
    let mut ws = ws_connect(&url).await;
    assert!(ws_next_text(&mut ws).await.starts_with('0'));
    for n in 0..MESSAGES {
        ws.send(WsMessage::text(format!("4{tag}m{n}")))
            .await
            .unwrap();
    }
    for n in 0..MESSAGES {
        assert_eq!(ws_next_text(&mut ws).await, format!("4{tag}m{n}"));
    }
    ws.send(WsMessage::text("1")).await.unwrap();
    let _ = timeout(WAIT, ws.close(None)).await;
    // Read to the end, so both sides finish the closing handshake.
    while let Ok(Some(Ok(_))) = timeout(WAIT, ws.next()).await {}
}

async fn request(client: &HttpClient, method: &str, url: &str, body: String) -> (u16, String) {
    let request = http::Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = timeout(WAIT, client.request(request))
        .await
        .expect("response in time")
        .unwrap();
    let status = response.status().as_u16();
    let body = timeout(WAIT, response.into_body().collect())
        .await
        .expect("body in time")
        .unwrap()
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn sid_of(open: &str) -> String {
    let start = open.find("\"sid\":\"").expect("an open packet") + 7;
    open[start..start + 32].to_owned()
}

async fn polling(client: &HttpClient, base: &str, tag: &str) {
    let (status, open) = request(
        client,
        "GET",
        &format!("{base}EIO=4&transport=polling"),
        String::new(),
    )
    .await;
    assert_eq!(status, 200, "{open}");
    let url = format!("{base}EIO=4&transport=polling&sid={}", sid_of(&open));
    assert_eq!(request(client, "POST", &url, payload(tag)).await.1, "ok");
    let mut received = String::new();
    while !echoed_all(&received, tag) {
        let (status, body) = request(client, "GET", &url, String::new()).await;
        assert_eq!(status, 200, "{body}");
        received.push_str(&body);
        received.push('\x1e');
    }
    assert_eq!(request(client, "POST", &url, "1".into()).await.1, "ok");
}

/// A streaming session: the open packet, messages up by POST and back on
/// the stream, a client close by POST, and the stream's end.
async fn streaming(client: &HttpClient, base: &str, transport: &str, tag: &str) {
    let url = format!("{base}EIO=4&transport={transport}&ext=1");
    let request_head = http::Request::get(&url)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = timeout(WAIT, client.request(request_head))
        .await
        .expect("stream in time")
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut text = String::new();
    let mut posted = false;
    let mut closed = false;
    loop {
        let frame = timeout(WAIT, body.frame())
            .await
            .expect("stream data in time");
        let Some(Ok(frame)) = frame else { break };
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
        if !posted && text.contains("sid") {
            let open = text.replace("\\\"", "\"");
            let post = format!(
                "{base}EIO=4&transport={transport}&ext=1&sid={}",
                sid_of(&open)
            );
            assert_eq!(request(client, "POST", &post, payload(tag)).await.1, "ok");
            posted = true;
        }
        if posted && !closed && echoed_all(&text, tag) {
            // Everything is back: close from the client side; the stream
            // then ends with the close packet.
            let open = text.replace("\\\"", "\"");
            let post = format!(
                "{base}EIO=4&transport={transport}&ext=1&sid={}",
                sid_of(&open)
            );
            assert_eq!(request(client, "POST", &post, "1".into()).await.1, "ok");
            closed = true;
        }
    }
    assert!(closed && echoed_all(&text, tag), "{transport}: {text}");
}

/// This process's resident set size in bytes, from /proc/self/status.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line");
    kib * 1024
}
