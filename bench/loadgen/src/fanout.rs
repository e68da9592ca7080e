//! Fan-out: N subscribers and one publisher. The publisher asks the server to
//! send a message to every connected socket (polysock: the echo example's
//! `@broadcast TEXT` test hook; socketioxide: a `pub` event broadcast to the
//! room every socket joined; Node socket.io: a `pub` event sent on with
//! `io.emit`), either at a fixed rate or flat out with a bounded number of
//! broadcasts in flight. Each message carries its publish time
//! (`T<microseconds since the run's epoch>:` then padding to the size), so
//! every subscriber measures publish-to-receive latency on the generator's
//! own clock.
//!
//! Flat out means: broadcast k+1 is published once the deliveries of all
//! but `window` earlier broadcasts have arrived at the subscribers still
//! connected, so the server always has work queued but no queue grows
//! without bound.
//!
//! Against a cluster (issue 15: several nodes joined over Redis) the run
//! gets one target per node: subscriber `i` connects to node `i mod n`, the
//! publisher to the first node, and before any subscriber connects the run
//! checks that a broadcast from the first node reaches a socket on every
//! node (a node whose Redis subscription is not up yet would silently miss
//! broadcasts and stall the flat-out flow control).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{watch, Notify, Semaphore};

use crate::client::rawws::{RawWs, Read};
use crate::http::HttpConn;
use crate::load::{LoadResult, Target};
use crate::proto::eio;
use crate::proto::stream::{Format, Status, StreamParser};
use crate::servers::Transport;
use crate::sys;

/// What the subscribers speak on top of Engine.IO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Dialect {
    /// Plain Engine.IO v4 messages (`4TEXT`): polysock.
    Eio,
    /// Socket.IO v5 events on the default namespace (`42["msg","TEXT"]`).
    SocketIo,
}

/// Parameters of one fan-out run.
#[derive(Debug, Clone, Serialize)]
pub struct FanCfg {
    pub clients: usize,
    /// A quarter of the subscribers on each of websocket, polling,
    /// xhr-streaming and htmlfile (polysock only); else all websocket.
    pub mixed: bool,
    pub size: usize,
    /// Broadcasts per second; None = flat out.
    pub rate: Option<f64>,
    /// Flat out: broadcasts in flight.
    pub window: usize,
    pub dialect: Dialect,
    pub warmup: Duration,
    pub duration: Duration,
}

/// The server processes whose CPU and memory a run samples.
#[derive(Debug, Clone, Default)]
pub struct Procs {
    /// Every server process: one, or each node of a cluster.
    pub nodes: Vec<u32>,
    /// A cluster's redis-server: counted in the server's CPU and memory, and
    /// also reported on its own.
    pub redis: Option<u32>,
}

impl Procs {
    fn all(&self) -> Vec<u32> {
        self.nodes.iter().copied().chain(self.redis).collect()
    }
}

/// State shared by the publisher and every subscriber.
struct Shared {
    cfg: FanCfg,
    /// One per node; subscriber `i` uses `targets[i % len]`.
    targets: Vec<Arc<Target>>,
    epoch: Instant,
    /// Measurement window, set when the subscribers are all up.
    times: watch::Receiver<Option<(Instant, Instant)>>,
    stop: watch::Receiver<bool>,
    setup: Semaphore,
    ready: AtomicUsize,
    failed: AtomicUsize,
    dropped: AtomicUsize,
    /// Every delivery since the start (flow control).
    delivered: AtomicU64,
    /// Deliveries inside the window.
    in_window: AtomicU64,
    /// The publisher wants a wake-up once `delivered` reaches this.
    wake_at: AtomicU64,
    wake: Notify,
    hist: Mutex<Histogram<u64>>,
    first_error: Mutex<Option<String>>,
}

impl Shared {
    /// Records the messages of one read: `lat` holds their publish times.
    fn deliver(&self, publish_us: &mut Vec<u64>, now: Instant) {
        if publish_us.is_empty() {
            return;
        }
        let n = publish_us.len() as u64;
        let d = self.delivered.fetch_add(n, Ordering::Relaxed) + n;
        if d >= self.wake_at.load(Ordering::Relaxed) {
            self.wake.notify_one();
        }
        if let Some((from, to)) = *self.times.borrow() {
            if now >= from && now < to {
                self.in_window.fetch_add(n, Ordering::Relaxed);
                let now_us = now.duration_since(self.epoch).as_micros() as u64;
                let mut h = self.hist.lock().unwrap_or_else(|p| p.into_inner());
                for &t in publish_us.iter() {
                    let _ = h.record(now_us.saturating_sub(t).clamp(1, 60_000_000));
                }
            }
        }
        publish_us.clear();
    }

    fn error(&self, e: &anyhow::Error) {
        let mut f = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        if f.is_none() {
            *f = Some(format!("{e:#}"));
        }
    }
}

/// The publish time carried by a message frame (`...T<digits>:...`).
fn publish_time(frame: &[u8]) -> Option<u64> {
    let i = frame.iter().position(|b| *b == b'T')?;
    let mut v: u64 = 0;
    let mut any = false;
    for &b in &frame[i + 1..] {
        if !b.is_ascii_digit() {
            break;
        }
        v = v * 10 + (b - b'0') as u64;
        any = true;
    }
    any.then_some(v)
}

/// Which transport subscriber `i` uses.
fn transport_of(cfg: &FanCfg, i: usize) -> Transport {
    if !cfg.mixed {
        return Transport::Websocket;
    }
    match i % 4 {
        0 => Transport::Websocket,
        1 => Transport::Polling,
        2 => Transport::XhrStreaming,
        _ => Transport::Htmlfile,
    }
}

/// Runs one fan-out measurement against the nodes `targets` (one for a
/// single server), sampling the processes `procs`.
pub async fn run(cfg: FanCfg, targets: Vec<Arc<Target>>, procs: Procs) -> Result<LoadResult> {
    if targets.is_empty() {
        bail!("fan-out needs at least one target");
    }
    if targets.len() > 1 {
        cluster_ready(&targets, cfg.dialect).await?;
    }
    let (times_tx, times_rx) = watch::channel(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let sh = Arc::new(Shared {
        cfg: cfg.clone(),
        targets,
        epoch: Instant::now(),
        times: times_rx,
        stop: stop_rx,
        setup: Semaphore::new(256),
        ready: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
        delivered: AtomicU64::new(0),
        in_window: AtomicU64::new(0),
        wake_at: AtomicU64::new(u64::MAX),
        wake: Notify::new(),
        hist: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?),
        first_error: Mutex::new(None),
    });
    let mut subs = Vec::with_capacity(cfg.clients);
    for i in 0..cfg.clients {
        let sh = sh.clone();
        subs.push(tokio::spawn(async move {
            let target = sh.targets[i % sh.targets.len()].clone();
            let r = match transport_of(&sh.cfg, i) {
                Transport::Websocket => ws_sub(&sh, &target).await,
                Transport::Polling => polling_sub(&sh, &target).await,
                t => stream_sub(&sh, &target, t).await,
            };
            if let Err(e) = &r {
                sh.error(e);
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while sh.ready.load(Ordering::Relaxed) + sh.failed.load(Ordering::Relaxed) < cfg.clients
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let publisher = Publisher::connect(&sh).await?;
    let from = Instant::now() + cfg.warmup;
    let to = from + cfg.duration;
    let _ = times_tx.send(Some((from, to)));
    let pids = procs.all();
    let sample = || sys::sample_sum(&pids);
    let redis = || procs.redis.and_then(sys::sample);
    let pub_task = {
        let sh = sh.clone();
        tokio::spawn(async move { publisher.run(&sh, to).await })
    };
    tokio::time::sleep_until(from.into()).await;
    let (s0, r0) = (sample(), redis());
    tokio::time::sleep_until(to.into()).await;
    let (s1, r1) = (sample(), redis());
    let published = pub_task.await.map_err(|e| anyhow!("publisher: {e}"))??;
    let _ = stop_tx.send(true);
    for s in subs {
        let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
    }
    let mut res = LoadResult {
        sessions_ok: sh.ready.load(Ordering::Relaxed),
        sessions_failed: sh.failed.load(Ordering::Relaxed),
        dropped: sh.dropped.load(Ordering::Relaxed),
        published,
        first_error: sh
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
        ..Default::default()
    };
    res.msgs = sh.in_window.load(Ordering::Relaxed);
    res.msgs_per_s = res.msgs as f64 / cfg.duration.as_secs_f64();
    let h = sh.hist.lock().unwrap_or_else(|p| p.into_inner());
    if !h.is_empty() {
        res.p50_us = h.value_at_quantile(0.50);
        res.p99_us = h.value_at_quantile(0.99);
        res.p999_us = h.value_at_quantile(0.999);
    }
    if let (Some(a), Some(b)) = (s0, s1) {
        res.server_cpu_pct = sys::cpu_percent(&a, &b);
        res.server_rss_mib = b.rss_kib as f64 / 1024.0;
        let cpu_s = b.cpu_secs - a.cpu_secs;
        if cpu_s > 0.0 && res.msgs > 0 {
            res.msgs_per_cpu_s = res.msgs as f64 / cpu_s;
            res.cpu_us_per_op = cpu_s * 1e6 / res.msgs as f64;
        }
    }
    if let (Some(a), Some(b)) = (r0, r1) {
        res.redis_cpu_pct = sys::cpu_percent(&a, &b);
    }
    Ok(res)
}

/// Runs a subscriber's setup under the connect limit, counting it.
async fn setup<T>(sh: &Shared, fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let permit = sh.setup.acquire().await;
    let r = match tokio::time::timeout(Duration::from_secs(30), fut).await {
        Ok(r) => r,
        Err(_) => Err(anyhow!("setup timed out")),
    };
    drop(permit);
    match &r {
        Ok(_) => sh.ready.fetch_add(1, Ordering::Relaxed),
        Err(_) => sh.failed.fetch_add(1, Ordering::Relaxed),
    };
    r
}

/// Opens an Engine.IO websocket (and the Socket.IO namespace when asked).
async fn ws_open(target: &Target, dialect: Dialect) -> Result<RawWs> {
    let q = format!("{}?EIO=4&transport=websocket", target.path);
    let mut ws = RawWs::connect(target, &q).await?;
    let mut open = false;
    while !open {
        if ws
            .read_for(Duration::from_secs(10), &mut |f| {
                open |= f.first() == Some(&b'0')
            })
            .await?
            == Read::Closed
        {
            bail!("closed before open");
        }
    }
    if dialect == Dialect::SocketIo {
        ws.send_text(b"40").await?;
        let mut joined = false;
        while !joined {
            if ws
                .read_for(Duration::from_secs(10), &mut |f| {
                    joined |= f.starts_with(b"40")
                })
                .await?
                == Read::Closed
            {
                bail!("closed before namespace connect");
            }
        }
    }
    Ok(ws)
}

async fn ws_sub(sh: &Shared, target: &Target) -> Result<()> {
    let mut ws = setup(sh, ws_open(target, sh.cfg.dialect)).await?;
    let mut stop = sh.stop.clone();
    let mut lat = Vec::with_capacity(64);
    loop {
        let mut pings = 0usize;
        let mut on_frame = |f: &[u8]| match f.first() {
            Some(b'4') => {
                if let Some(t) = publish_time(f) {
                    lat.push(t)
                }
            }
            Some(b'2') => pings += 1,
            _ => {}
        };
        let r = tokio::select! {
            _ = crate::client::stopped(&mut stop) => break,
            r = ws.read(&mut on_frame) => r,
        };
        sh.deliver(&mut lat, Instant::now());
        match r {
            Ok(Read::Frames) => {}
            Ok(Read::Closed) | Err(_) => {
                sh.dropped.fetch_add(1, Ordering::Relaxed);
                return r
                    .map(|_| ())
                    .and(Err(anyhow!("subscriber websocket closed mid-run")));
            }
        }
        for _ in 0..pings {
            ws.queue_text(b"3");
        }
        if pings > 0 {
            ws.flush().await?;
        }
    }
    ws.close().await;
    Ok(())
}

async fn polling_sub(sh: &Shared, t: &Target) -> Result<()> {
    let mut conn = HttpConn::new(t.addr, t.pool.clone());
    let mut buf = Vec::with_capacity(4096);
    let sid = setup(sh, async {
        let head = conn
            .request(
                "GET",
                &format!("{}?EIO=4&transport=polling", t.path),
                "",
                b"",
                &mut buf,
            )
            .await?;
        if head.status != 200 {
            bail!("handshake status {}", head.status);
        }
        eio::open_sid(eio::packets(&buf).next().unwrap_or_default())
    })
    .await?;
    let url = format!("{}?EIO=4&transport=polling&sid={sid}", t.path);
    let mut stop = sh.stop.clone();
    let mut lat = Vec::with_capacity(64);
    loop {
        let head = tokio::select! {
            _ = crate::client::stopped(&mut stop) => break,
            r = conn.request("GET", &url, "", b"", &mut buf) => r,
        };
        let head = match head {
            Ok(h) if h.status == 200 => h,
            other => {
                sh.dropped.fetch_add(1, Ordering::Relaxed);
                bail!("long poll failed: {:?}", other.map(|h| h.status));
            }
        };
        let _ = head;
        let now = Instant::now();
        let mut pongs = 0;
        for p in eio::packets(&buf) {
            match p[0] {
                b'4' => {
                    if let Some(t) = publish_time(p) {
                        lat.push(t)
                    }
                }
                b'2' => pongs += 1,
                b'1' => bail!("server closed the session"),
                _ => {}
            }
        }
        sh.deliver(&mut lat, now);
        if pongs > 0 {
            let mut body = Vec::new();
            eio::payload(&mut body, b"", 0, pongs);
            conn.request("POST", &url, "text/plain;charset=UTF-8", &body, &mut buf)
                .await?;
        }
    }
    let _ = tokio::time::timeout(
        Duration::from_millis(100),
        conn.request("POST", &url, "text/plain;charset=UTF-8", b"1", &mut buf),
    )
    .await;
    Ok(())
}

/// A polysock xhr-streaming or htmlfile subscriber: one long response
/// carries the broadcasts, reopened with `ack=N` when the server ends it.
async fn stream_sub(sh: &Shared, t: &Target, transport: Transport) -> Result<()> {
    let name = transport.name();
    let mut conn = HttpConn::new(t.addr, t.pool.clone());
    let mut post = HttpConn::new(t.addr, t.pool.clone());
    let mut sid = String::new();
    let mut received: u64 = 0;
    let mut data = Vec::with_capacity(16 * 1024);
    let mut lat = Vec::with_capacity(64);
    let mut stop = sh.stop.clone();
    let mut resp = Vec::new();
    let first_path = format!("{}?EIO=4&transport={name}&ext=1", t.path);
    // Setup ends with the open packet, the stream's first frame.
    let mut parser = setup(sh, async {
        let fmt = open_stream(&mut conn, &first_path, transport).await?;
        let mut parser = StreamParser::new(fmt);
        while sid.is_empty() {
            data.clear();
            if !conn.chunk(&mut data).await? {
                bail!("stream ended before open");
            }
            parser.feed(&data, &mut |f| {
                received += 1;
                if f.starts_with('0') {
                    if let Ok(s) = eio::open_sid(f.as_bytes()) {
                        sid = s;
                    }
                }
            });
        }
        Ok(parser)
    })
    .await?;
    loop {
        loop {
            data.clear();
            let more = tokio::select! {
                _ = crate::client::stopped(&mut stop) => {
                    let url = format!("{}?EIO=4&transport={name}&sid={sid}", t.path);
                    let _ = tokio::time::timeout(Duration::from_millis(100), post.request("POST", &url, "text/plain;charset=UTF-8", b"1", &mut resp)).await;
                    return Ok(());
                }
                r = conn.chunk(&mut data) => r,
            };
            let more = match more {
                Ok(m) => m,
                Err(e) => {
                    sh.dropped.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            };
            if !more {
                break;
            }
            let now = Instant::now();
            let mut pongs = 0;
            let st = parser.feed(&data, &mut |f| {
                received += 1;
                match f.as_bytes().first() {
                    Some(b'4') => {
                        if let Some(t) = publish_time(f.as_bytes()) {
                            lat.push(t)
                        }
                    }
                    Some(b'2') => pongs += 1,
                    _ => {}
                }
            });
            sh.deliver(&mut lat, now);
            if pongs > 0 {
                let url = format!("{}?EIO=4&transport={name}&sid={sid}", t.path);
                let mut body = Vec::new();
                eio::payload(&mut body, b"", 0, pongs);
                post.request("POST", &url, "text/plain;charset=UTF-8", &body, &mut resp)
                    .await?;
            }
            if st == Status::Ended {
                let mut rest = Vec::new();
                let _ = conn.body(&mut rest).await;
                break;
            }
        }
        let path = format!("{}?EIO=4&transport={name}&sid={sid}&ack={received}", t.path);
        parser = match open_stream(&mut conn, &path, transport).await {
            Ok(f) => StreamParser::new(f),
            Err(e) => {
                sh.dropped.fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
        };
    }
}

/// Starts a streaming GET and returns the body format it announced.
async fn open_stream(conn: &mut HttpConn, path: &str, transport: Transport) -> Result<Format> {
    let head = conn.start("GET", path, "", b"").await?;
    if head.status != 200 {
        bail!("stream status {}", head.status);
    }
    Ok(match transport {
        Transport::XhrStreaming => Format::poly_xhr(head.header("content-type").unwrap_or(""))
            .ok_or_else(|| anyhow!("no multipart boundary"))?,
        _ => Format::PolyHtml,
    })
}

/// The publishing socket: writes through one half of its TCP stream while a
/// task drains the broadcasts it receives itself (it is a member of the
/// audience on every server). Runs are shorter than the ping interval, so
/// the publisher never needs to answer a ping.
struct Publisher {
    write: tokio::net::tcp::OwnedWriteHalf,
    drain: tokio::task::JoinHandle<()>,
}

impl Publisher {
    async fn connect(sh: &Shared) -> Result<Publisher> {
        let ws = ws_open(&sh.targets[0], sh.cfg.dialect).await?;
        let (mut read, write) = ws.into_split();
        let drain = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = read.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        });
        Ok(Publisher { write, drain })
    }

    /// Publishes until `to`; returns how many broadcasts were sent.
    async fn run(mut self, sh: &Shared, to: Instant) -> Result<u64> {
        let cfg = &sh.cfg;
        let pad = "x".repeat(cfg.size);
        let mut text = String::with_capacity(cfg.size + 32);
        let mut frame = Vec::with_capacity(cfg.size + 48);
        let mut tick = cfg.rate.map(|r| {
            let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / r.max(0.001)));
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            i
        });
        let mut sent: u64 = 0;
        while Instant::now() < to {
            match tick.as_mut() {
                Some(t) => {
                    tokio::select! {
                        _ = t.tick() => {}
                        _ = tokio::time::sleep_until(to.into()) => break,
                    }
                }
                None => {
                    // Wait until all but `window` broadcasts have arrived.
                    loop {
                        let alive = (sh.ready.load(Ordering::Relaxed)
                            - sh.dropped
                                .load(Ordering::Relaxed)
                                .min(sh.ready.load(Ordering::Relaxed)))
                            as u64;
                        let need = (sent + 1).saturating_sub(cfg.window as u64) * alive;
                        if sh.delivered.load(Ordering::Relaxed) >= need || Instant::now() >= to {
                            break;
                        }
                        let notified = sh.wake.notified();
                        sh.wake_at.store(need, Ordering::Relaxed);
                        if sh.delivered.load(Ordering::Relaxed) >= need {
                            break;
                        }
                        let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
                    }
                    sh.wake_at.store(u64::MAX, Ordering::Relaxed);
                    if Instant::now() >= to {
                        break;
                    }
                }
            }
            let now_us = Instant::now().duration_since(sh.epoch).as_micros();
            text.clear();
            use std::fmt::Write;
            let _ = write!(text, "T{now_us}:");
            if text.len() < cfg.size {
                text.push_str(&pad[..cfg.size - text.len()]);
            }
            frame.clear();
            crate::client::rawws::frame_text(
                &mut frame,
                publish_packet(cfg.dialect, &text).as_bytes(),
            );
            self.write.write_all(&frame).await?;
            sent += 1;
        }
        self.drain.abort();
        Ok(sent)
    }
}

/// The packet that asks the server to broadcast `text` to every socket.
fn publish_packet(dialect: Dialect, text: &str) -> String {
    match dialect {
        Dialect::Eio => format!("4@broadcast {text}"),
        Dialect::SocketIo => format!("42[\"pub\",\"{text}\"]"),
    }
}

/// Waits until a broadcast published on the first node reaches a socket on
/// every node: one probe socket per node, a numbered probe broadcast every
/// 250 ms (a node that was not subscribed yet misses the early ones) until
/// each probe socket has seen one, or 20 s pass.
async fn cluster_ready(targets: &[Arc<Target>], dialect: Dialect) -> Result<()> {
    let mut probes = Vec::with_capacity(targets.len());
    for t in targets {
        probes.push(ws_open(t, dialect).await?);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = vec![false; probes.len()];
    let mut n = 0u32;
    while seen.iter().any(|s| !s) {
        if Instant::now() >= deadline {
            let missing: Vec<String> = seen
                .iter()
                .enumerate()
                .filter(|(_, s)| !**s)
                .map(|(i, _)| targets[i].addr.to_string())
                .collect();
            bail!(
                "cluster not ready: a broadcast from {} did not reach the nodes at {} within 20 s",
                targets[0].addr,
                missing.join(", ")
            );
        }
        n += 1;
        probes[0]
            .send_text(publish_packet(dialect, &format!("probe-{n}")).as_bytes())
            .await?;
        let until = Instant::now() + Duration::from_millis(250);
        for (i, ws) in probes.iter_mut().enumerate() {
            while !seen[i] {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let mut hit = false;
                let mut on_frame = |f: &[u8]| {
                    hit |= f.first() == Some(&b'4') && f.windows(6).any(|w| w == b"probe-")
                };
                let r = tokio::time::timeout(left, ws.read(&mut on_frame)).await;
                seen[i] |= hit;
                match r {
                    Err(_) => break,
                    Ok(r) => {
                        if r? == Read::Closed {
                            bail!("probe socket on {} closed", targets[i].addr);
                        }
                    }
                }
            }
        }
    }
    for ws in probes {
        ws.close().await;
    }
    Ok(())
}
