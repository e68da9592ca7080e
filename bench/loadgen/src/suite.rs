//! The comparison: the same workloads against ours and each peer, one fresh
//! server process per (workload, server), results collected for the report.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::load::{self, LoadCfg, LoadResult, Mode, Target};
use crate::net::SourcePool;
use crate::servers::{self, Paths, Server, ServerOpts, Transport};

/// What a workload is for, which decides the figure the report compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Metric {
    Throughput,
    Latency,
    IdleMemory,
}

/// One workload of the suite.
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    pub id: &'static str,
    pub title: &'static str,
    pub transport: Transport,
    pub metric: Metric,
    pub mode: Mode,
    pub sessions: usize,
    pub size: usize,
    pub servers: Vec<Server>,
}

/// The workloads; `quick` shrinks counts so the whole suite takes ~2 min.
pub fn workloads(quick: bool) -> Vec<Workload> {
    use Server::*;
    let q = |a: usize, b: usize| if quick { a } else { b };
    let ws_peers = vec![Ours, Tungstenite, Engineioxide, NodeEngineIo];
    let eio_peers = vec![Ours, Engineioxide, NodeEngineIo];
    let stream_peers = vec![Ours, NodeSockjs];
    let mut w = vec![
        Workload {
            id: "ws-echo",
            title: "websocket echo, flat out",
            transport: Transport::Websocket,
            metric: Metric::Throughput,
            mode: Mode::Echo { window: 4, rate: None },
            sessions: 100,
            size: 32,
            servers: ws_peers.clone(),
        },
        Workload {
            id: "ws-echo-1k",
            title: "websocket echo, flat out, 1 KiB messages",
            transport: Transport::Websocket,
            metric: Metric::Throughput,
            mode: Mode::Echo { window: 4, rate: None },
            sessions: 100,
            size: 1024,
            servers: ws_peers.clone(),
        },
        Workload {
            id: "ws-latency",
            title: "websocket echo at 5000 msg/s total (latency)",
            transport: Transport::Websocket,
            metric: Metric::Latency,
            mode: Mode::Echo { window: 64, rate: Some(5000.0) },
            sessions: 500,
            size: 32,
            servers: ws_peers.clone(),
        },
        Workload {
            id: "polling-rt",
            title: "polling round trips (POST message, GET echo), flat out",
            transport: Transport::Polling,
            metric: Metric::Throughput,
            mode: Mode::Echo { window: 1, rate: None },
            sessions: 100,
            size: 32,
            servers: eio_peers.clone(),
        },
        Workload {
            id: "xhr-stream",
            title: "xhr-streaming downstream echo, 64 in flight per session",
            transport: Transport::XhrStreaming,
            metric: Metric::Throughput,
            mode: Mode::Echo { window: 64, rate: None },
            sessions: 50,
            size: 32,
            servers: stream_peers.clone(),
        },
        Workload {
            id: "htmlfile-stream",
            title: "htmlfile downstream echo, 64 in flight per session",
            transport: Transport::Htmlfile,
            metric: Metric::Throughput,
            mode: Mode::Echo { window: 64, rate: None },
            sessions: 50,
            size: 32,
            servers: stream_peers,
        },
        Workload {
            id: "ws-idle",
            title: "idle websocket sessions (RSS growth per session)",
            transport: Transport::Websocket,
            metric: Metric::IdleMemory,
            mode: Mode::Idle,
            sessions: q(2000, 10000),
            size: 0,
            servers: ws_peers,
        },
    ];
    if quick {
        w.retain(|w| w.id != "ws-echo-1k");
    } else {
        w.push(Workload {
            id: "polling-idle",
            title: "idle long-polling sessions (RSS growth per session)",
            transport: Transport::Polling,
            metric: Metric::IdleMemory,
            mode: Mode::Idle,
            sessions: 5000,
            size: 0,
            servers: eio_peers,
        });
    }
    w
}

/// One measured cell of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub workload: String,
    pub server: Server,
    pub result: Option<LoadResult>,
    /// Why there is no result (server missing or failed to start).
    pub skipped: Option<String>,
}

/// Options of a suite run.
#[derive(Debug, Clone)]
pub struct SuiteOpts {
    pub quick: bool,
    pub only_servers: Option<Vec<Server>>,
    pub only_workloads: Option<Vec<String>>,
    pub server_cpu: Option<usize>,
    pub sources: usize,
    /// Each (workload, server) pair runs this many times, the servers
    /// interleaved round by round; the report keeps the median run.
    pub rounds: usize,
}

pub async fn run(paths: &Paths, opts: &SuiteOpts) -> Result<Vec<Row>> {
    let pool = Arc::new(SourcePool::new(opts.sources));
    let (warmup, duration) = if opts.quick { (Duration::from_secs(1), Duration::from_secs(4)) } else { (Duration::from_secs(2), Duration::from_secs(10)) };
    let mut rows = Vec::new();
    for w in workloads(opts.quick) {
        if opts.only_workloads.as_ref().is_some_and(|o| !o.iter().any(|x| x == w.id)) {
            continue;
        }
        let servers: Vec<Server> = w
            .servers
            .iter()
            .copied()
            .filter(|s| opts.only_servers.as_ref().is_none_or(|o| o.contains(s)))
            .collect();
        let mut runs: Vec<Vec<Row>> = vec![Vec::new(); servers.len()];
        for round in 0..opts.rounds.max(1) {
            if opts.rounds > 1 {
                eprintln!("[{}] round {} of {}", w.id, round + 1, opts.rounds);
            }
            for (i, &s) in servers.iter().enumerate() {
                runs[i].push(run_one(paths, &w, s, warmup, duration, &pool, opts).await);
            }
        }
        rows.extend(runs.into_iter().map(|r| median(r, w.metric)));
    }
    Ok(rows)
}

/// One run of workload `w` against server `s`, on a fresh server process.
async fn run_one(
    paths: &Paths,
    w: &Workload,
    s: Server,
    warmup: Duration,
    duration: Duration,
    pool: &Arc<SourcePool>,
    opts: &SuiteOpts,
) -> Row {
    let mut row = Row { workload: w.id.to_string(), server: s, result: None, skipped: None };
    if !paths.available(s) {
        row.skipped = Some("not built".into());
        eprintln!("[{}] {}: skipped (not built)", w.id, s.name());
        return row;
    }
    let kind = s.kind(w.transport).expect("workload lists only servers with the transport");
    let sopts = ServerOpts { ping_interval_ms: 25_000, ping_timeout_ms: 20_000, cpu: opts.server_cpu };
    let running = match servers::start(paths, s, sopts, w.id).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("[{}] {}: failed to start: {e:#}", w.id, s.name());
            row.skipped = Some(format!("failed to start: {e:#}"));
            return row;
        }
    };
    let target = Arc::new(Target { addr: running.addr, path: s.path().to_string(), pool: pool.clone() });
    let cfg = LoadCfg {
        kind,
        mode: w.mode,
        sessions: w.sessions,
        size: w.size,
        warmup: if w.metric == Metric::IdleMemory { Duration::from_secs(2) } else { warmup },
        duration: if w.metric == Metric::IdleMemory { Duration::from_secs(1) } else { duration },
        connect_concurrency: 64,
    };
    let r = load::run(cfg, target, Some(running.pid)).await;
    running.stop().await;
    match r {
        Ok(r) => {
            eprintln!(
                "[{}] {:<24} {:>10.0} msg/s  p50 {:>7.2} ms  p99 {:>7.2} ms  cpu {:>5.1}%  rss {:>7.1} MiB  idle {:>6.1} KiB/session  ok {} failed {} dropped {}{}",
                w.id, s.name(), r.msgs_per_s, r.p50_us as f64 / 1000.0, r.p99_us as f64 / 1000.0, r.server_cpu_pct,
                r.server_rss_mib, r.idle_kib_per_session, r.sessions_ok, r.sessions_failed, r.dropped,
                r.first_error.as_ref().map(|e| format!("  first error: {e}")).unwrap_or_default()
            );
            row.result = Some(r);
        }
        Err(e) => row.skipped = Some(format!("run failed: {e:#}")),
    }
    row
}

/// The run whose headline figure is the median of the rounds (msgs/s, or
/// KiB per idle session); runs that failed sort last.
fn median(mut runs: Vec<Row>, metric: Metric) -> Row {
    let key = |row: &Row| match (&row.result, metric) {
        (None, _) => f64::NEG_INFINITY,
        (Some(r), Metric::IdleMemory) => -r.idle_kib_per_session,
        (Some(r), _) => r.msgs_per_s,
    };
    runs.sort_by(|a, b| key(b).total_cmp(&key(a)));
    let ok = runs.iter().filter(|r| r.result.is_some()).count();
    runs.swap_remove(ok / 2)
}
