//! Scale run: ramps idle sessions (websocket or long-polling) up in steps on
//! one server with heartbeats running, holds each step for more than a ping
//! interval, and stops at the first step that loses sessions, fails
//! handshakes or runs out of memory. Reports what limited it.

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::{watch, Semaphore};

use crate::load::{Counters, Ctl, LoadCfg, Mode, Target, Times};
use crate::net::SourcePool;
use crate::servers::{self, Paths, Server, ServerOpts, Transport};
use crate::sys;

#[derive(Debug, Clone)]
pub struct ScaleOpts {
    pub server: Server,
    pub transport: Transport,
    pub steps: Vec<usize>,
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    pub server_cpu: Option<usize>,
    pub sources: usize,
    /// Stop when the server's RSS passes this many MiB.
    pub max_rss_mib: f64,
}

/// Runs the ramp; returns a markdown section.
pub async fn run(paths: &Paths, o: &ScaleOpts) -> Result<String> {
    let kind = o
        .server
        .kind(o.transport)
        .ok_or_else(|| anyhow::anyhow!("{} has no {}", o.server.name(), o.transport.name()))?;
    let sopts = ServerOpts {
        ping_interval_ms: o.ping_interval_ms,
        ping_timeout_ms: o.ping_timeout_ms,
        cpu: o.server_cpu,
        test_hooks: false,
        static_pages: false,
    };
    let running = servers::start(
        paths,
        o.server,
        sopts,
        &format!("scale-{}", o.transport.name()),
    )
    .await?;
    let pool = Arc::new(SourcePool::new(o.sources));
    let target = Arc::new(Target {
        addr: running.addr,
        path: o.server.path().to_string(),
        pool,
    });
    let counters = Arc::new(Counters::default());
    let now = Instant::now();
    let (_go_tx, go_rx) = watch::channel(Some(Times {
        from: now,
        to: now,
        hard_stop: now,
    }));
    let (stop_tx, stop_rx) = watch::channel(false);
    let cfg = Arc::new(LoadCfg {
        kind,
        mode: Mode::Idle,
        sessions: 0,
        size: 0,
        warmup: Duration::ZERO,
        duration: Duration::ZERO,
        connect_concurrency: 256,
    });
    let ctl = Ctl {
        cfg,
        target,
        counters: counters.clone(),
        setup: Arc::new(Semaphore::new(256)),
        go: go_rx,
        stop: stop_rx,
        msg: "".into(),
    };
    let base = sys::sample(running.pid);
    let hold = Duration::from_millis(o.ping_interval_ms + o.ping_timeout_ms.min(5000) + 2000);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {} on {} (ping interval {} ms, ping timeout {} ms; each step held {:.0} s)\n",
        o.transport.name(),
        o.server.name(),
        o.ping_interval_ms,
        o.ping_timeout_ms,
        hold.as_secs_f64()
    );
    let _ = writeln!(out, "| sessions asked | held | failed | dropped | pings answered in hold | server RSS MiB | KiB/session | server CPU % in hold | ramp s |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut tasks = Vec::new();
    let mut limit = String::from("not reached: every step held");
    let mut best = 0usize;
    for &step in &o.steps {
        let t0 = Instant::now();
        while tasks.len() < step {
            let c = ctl.clone();
            tasks.push(tokio::spawn(async move { crate::client::session(c).await }));
        }
        let deadline = Instant::now() + Duration::from_secs(300);
        while counters.ready.load(Ordering::Relaxed) + counters.failed.load(Ordering::Relaxed)
            < step
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let ramp = t0.elapsed();
        let pings0 = counters.pings.load(Ordering::Relaxed);
        let s0 = sys::sample(running.pid);
        tokio::time::sleep(hold).await;
        let s1 = sys::sample(running.pid);
        let pings = counters.pings.load(Ordering::Relaxed) - pings0;
        let (ready, failed, dropped) = (
            counters.ready.load(Ordering::Relaxed),
            counters.failed.load(Ordering::Relaxed),
            counters.dropped.load(Ordering::Relaxed),
        );
        let held = ready.saturating_sub(dropped);
        let (rss, cpu) = match (s0, s1) {
            (Some(a), Some(b)) => (b.rss_kib as f64 / 1024.0, sys::cpu_percent(&a, &b)),
            _ => (0.0, 0.0),
        };
        let per = match (base, s1) {
            (Some(a), Some(b)) if held > 0 => (b.rss_kib as f64 - a.rss_kib as f64) / held as f64,
            _ => 0.0,
        };
        let _ = writeln!(out, "| {step} | {held} | {failed} | {dropped} | {pings} | {rss:.0} | {per:.1} | {cpu:.0} | {:.1} |", ramp.as_secs_f64());
        eprintln!("[scale {}] asked {step} held {held} failed {failed} dropped {dropped} pings {pings} rss {rss:.0} MiB cpu {cpu:.0}% ramp {:.1}s", o.transport.name(), ramp.as_secs_f64());
        if s1.is_none() {
            limit = if sys::alive(running.pid) {
                // Reading /proc needs a file descriptor, and the generator
                // holds one socket per session under the same limit.
                "file descriptors: the generator reached its RLIMIT_NOFILE and could not even \
                 open /proc to sample the server (still running, refusing accepts with EMFILE)"
                    .into()
            } else {
                "the server process died".into()
            };
            break;
        }
        if failed > 0 || dropped > 0 {
            // Find the first error for the reason.
            let mut why = String::new();
            for t in tasks.iter_mut().filter(|t| t.is_finished()) {
                if let Ok(Err(e)) = t.await {
                    why = format!("{e:#}");
                    break;
                }
            }
            limit = format!("step {step}: {failed} handshakes failed, {dropped} sessions dropped; first error: {why}");
            break;
        }
        best = held;
        if rss > o.max_rss_mib {
            limit = format!(
                "server RSS {rss:.0} MiB passed the {:.0} MiB cap",
                o.max_rss_mib
            );
            break;
        }
    }
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    running.stop().await;
    let _ = writeln!(
        out,
        "\nMost sessions held with every heartbeat answered: **{best}**. Limit: {limit}.\n"
    );
    Ok(out)
}
