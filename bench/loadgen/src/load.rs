//! One load run: N sessions of one client kind against one server, started
//! together, measured over a fixed window while the server's CPU and RSS are
//! sampled from /proc.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::{watch, Semaphore};

use crate::net::SourcePool;
use crate::sys;

/// The client side of a transport, in a given dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// Engine.IO v4 over websocket (`transport=websocket`, no polling first).
    EioWs,
    /// Plain websocket echo, same frames as EioWs but no Engine.IO session.
    RawWs,
    /// Engine.IO v4 long-polling.
    EioPolling,
    /// polysock xhr-streaming extension (`ext=1`).
    PolyXhr,
    /// polysock htmlfile extension (`ext=1`).
    PolyHtml,
    /// SockJS xhr_streaming (upstream xhr_send).
    SockXhr,
    /// SockJS htmlfile (upstream xhr_send).
    SockHtml,
}

/// What the sessions do once set up.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum Mode {
    /// Echo messages: keep `window` in flight per session, or pace at
    /// `rate` messages/s in total when given.
    Echo { window: usize, rate: Option<f64> },
    /// Stay connected doing nothing but answering heartbeats.
    Idle,
}

/// Parameters of one run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadCfg {
    pub kind: Kind,
    pub mode: Mode,
    pub sessions: usize,
    /// Message size in bytes (payload, without the packet type byte).
    pub size: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Sessions in their handshake at once.
    pub connect_concurrency: usize,
}

/// Where to connect.
#[derive(Debug)]
pub struct Target {
    pub addr: SocketAddr,
    /// Mount path: `/engine.io/` for Engine.IO, `/echo` for SockJS.
    pub path: String,
    pub pool: Arc<SourcePool>,
}

/// Timeline of the measured phase.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    pub from: Instant,
    pub to: Instant,
    /// Give up waiting for in-flight echoes.
    pub hard_stop: Instant,
}

/// Counters shared by every session of a run.
#[derive(Debug, Default)]
pub struct Counters {
    pub ready: AtomicUsize,
    pub failed: AtomicUsize,
    pub dropped: AtomicUsize,
    pub pings: AtomicU64,
}

/// What a session gets to coordinate with the run.
#[derive(Clone)]
pub struct Ctl {
    pub cfg: Arc<LoadCfg>,
    pub target: Arc<Target>,
    pub counters: Arc<Counters>,
    pub setup: Arc<Semaphore>,
    pub go: watch::Receiver<Option<Times>>,
    pub stop: watch::Receiver<bool>,
    pub msg: Arc<str>,
}

/// Latency histogram and count of echoes received inside the window.
#[derive(Debug)]
pub struct Recorder {
    pub hist: Histogram<u64>,
    pub count: u64,
    from: Instant,
    to: Instant,
}

impl Recorder {
    pub fn new(t: &Times) -> Recorder {
        Recorder {
            hist: Histogram::new_with_bounds(1, 60_000_000, 3).unwrap(),
            count: 0,
            from: t.from,
            to: t.to,
        }
    }

    #[inline]
    pub fn record(&mut self, sent: Instant, now: Instant) {
        if now >= self.from && now < self.to {
            self.count += 1;
            let us = now.duration_since(sent).as_micros().max(1) as u64;
            let _ = self.hist.record(us.min(60_000_000));
        }
    }
}

/// Result of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadResult {
    pub sessions_ok: usize,
    pub sessions_failed: usize,
    pub dropped: usize,
    pub msgs: u64,
    pub msgs_per_s: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub server_cpu_pct: f64,
    pub server_rss_mib: f64,
    /// Echoes per second of server CPU time.
    pub msgs_per_cpu_s: f64,
    /// RSS growth from before the sessions to all sessions idle, per session.
    pub idle_kib_per_session: f64,
    pub pings: u64,
    pub first_error: Option<String>,
    /// Fan-out: broadcasts published in the run.
    pub published: u64,
    /// Server CPU microseconds per delivery (fan-out) or per session (storm).
    pub cpu_us_per_op: f64,
    /// Storm: p99 time from connect to the echo of the first message.
    pub done_p99_us: u64,
    /// Storm: wall time from the first connect to the last echo.
    pub storm_secs: f64,
    /// Cross-node fan-out: the redis-server's CPU over the window, percent
    /// of one core (already part of `server_cpu_pct`).
    pub redis_cpu_pct: f64,
}

/// Runs one load against a server process `pid` (for /proc sampling).
pub async fn run(cfg: LoadCfg, target: Arc<Target>, pid: Option<u32>) -> Result<LoadResult> {
    let cfg = Arc::new(cfg);
    let counters = Arc::new(Counters::default());
    let (go_tx, go_rx) = watch::channel(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let ctl = Ctl {
        cfg: cfg.clone(),
        target,
        counters: counters.clone(),
        setup: Arc::new(Semaphore::new(cfg.connect_concurrency.max(1))),
        go: go_rx,
        stop: stop_rx,
        msg: "x".repeat(cfg.size).into(),
    };
    let sample = || pid.and_then(sys::sample);
    let before = sample();

    let mut tasks = Vec::with_capacity(cfg.sessions);
    for _ in 0..cfg.sessions {
        let ctl = ctl.clone();
        tasks.push(tokio::spawn(
            async move { crate::client::session(ctl).await },
        ));
    }
    // Wait for every session to be up (or failed), at most 120 s.
    let setup_deadline = Instant::now() + Duration::from_secs(120);
    while counters.ready.load(Ordering::Relaxed) + counters.failed.load(Ordering::Relaxed)
        < cfg.sessions
        && Instant::now() < setup_deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut res = LoadResult::default();
    match cfg.mode {
        Mode::Echo { .. } => {
            let from = Instant::now() + cfg.warmup;
            let to = from + cfg.duration;
            let times = Times {
                from,
                to,
                hard_stop: to + Duration::from_secs(3),
            };
            let _ = go_tx.send(Some(times));
            tokio::time::sleep_until(from.into()).await;
            let s0 = sample();
            tokio::time::sleep_until(to.into()).await;
            let s1 = sample();
            if let (Some(a), Some(b)) = (s0, s1) {
                res.server_cpu_pct = sys::cpu_percent(&a, &b);
                res.server_rss_mib = b.rss_kib as f64 / 1024.0;
            }
            let _ = stop_tx.send(true);
        }
        Mode::Idle => {
            let now = Instant::now();
            let _ = go_tx.send(Some(Times {
                from: now,
                to: now,
                hard_stop: now,
            }));
            // Let allocations settle, then read RSS and heartbeat CPU.
            let settle = cfg.warmup;
            tokio::time::sleep(settle).await;
            let s0 = sample();
            tokio::time::sleep(cfg.duration).await;
            let s1 = sample();
            if let (Some(b0), Some(a), Some(b)) = (before, s0, s1) {
                res.server_cpu_pct = sys::cpu_percent(&a, &b);
                res.server_rss_mib = b.rss_kib as f64 / 1024.0;
                let ok = counters.ready.load(Ordering::Relaxed).max(1);
                res.idle_kib_per_session = (b.rss_kib as f64 - b0.rss_kib as f64) / ok as f64;
            }
            let _ = stop_tx.send(true);
        }
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for t in tasks {
        match t.await {
            Ok(Ok(r)) => {
                res.msgs += r.count;
                let _ = hist.add(&r.hist);
            }
            Ok(Err(e)) => {
                if res.first_error.is_none() {
                    res.first_error = Some(format!("{e:#}"));
                }
            }
            Err(e) => res.first_error = Some(format!("task: {e}")),
        }
    }
    res.sessions_failed = counters.failed.load(Ordering::Relaxed);
    res.sessions_ok = counters.ready.load(Ordering::Relaxed);
    res.dropped = counters.dropped.load(Ordering::Relaxed);
    res.pings = counters.pings.load(Ordering::Relaxed);
    if let Mode::Echo { .. } = cfg.mode {
        res.msgs_per_s = res.msgs as f64 / cfg.duration.as_secs_f64();
        if !hist.is_empty() {
            res.p50_us = hist.value_at_quantile(0.50);
            res.p99_us = hist.value_at_quantile(0.99);
            res.p999_us = hist.value_at_quantile(0.999);
        }
        if res.server_cpu_pct > 0.0 {
            res.msgs_per_cpu_s = res.msgs_per_s / (res.server_cpu_pct / 100.0);
        }
    }
    Ok(res)
}
