//! Connection storm: N clients open at once (no connect limit: every task is
//! spawned, then released together), each sends one message and waits for
//! its echo, as after a deploy when every browser reconnects
//! (socket.io #2998). Three ways in: a straight websocket, long-polling,
//! and long-polling then the upgrade to websocket (probe, `5`) before the
//! message. Measures sessions established per second (sessions / time
//! from release to the last echo), the time to the open packet and to the
//! echo (p50/p99/p99.9), and the server CPU per session.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::watch;

use crate::client::rawws::{RawWs, Read};
use crate::http::HttpConn;
use crate::load::{LoadResult, Target};
use crate::proto::eio;
use crate::sys;

/// How each storm client comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StormMode {
    Websocket,
    Polling,
    /// Polling handshake, then the websocket upgrade, then the message.
    Upgrade,
}

struct Shared {
    target: Arc<Target>,
    go: watch::Receiver<Option<Instant>>,
    release: watch::Receiver<bool>,
    open: Mutex<Histogram<u64>>,
    done: Mutex<Histogram<u64>>,
    last_done: Mutex<Option<Instant>>,
    ok: AtomicUsize,
    failed: AtomicUsize,
    first_error: Mutex<Option<String>>,
}

const MSG: &[u8] = b"4storm-hello";
const CTYPE: &str = "text/plain;charset=UTF-8";

/// One storm of `n` clients against server `pid`.
pub async fn run(
    mode: StormMode,
    n: usize,
    target: Arc<Target>,
    pid: Option<u32>,
) -> Result<LoadResult> {
    let (go_tx, go_rx) = watch::channel(None);
    let (rel_tx, rel_rx) = watch::channel(false);
    let sh = Arc::new(Shared {
        target,
        go: go_rx,
        release: rel_rx,
        open: Mutex::new(Histogram::new_with_bounds(1, 120_000_000, 3)?),
        done: Mutex::new(Histogram::new_with_bounds(1, 120_000_000, 3)?),
        last_done: Mutex::new(None),
        ok: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        first_error: Mutex::new(None),
    });
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let sh = sh.clone();
        tasks.push(tokio::spawn(async move {
            let mut go = sh.go.clone();
            let t0 = match go.wait_for(|g| g.is_some()).await {
                Ok(g) => g.unwrap_or_else(Instant::now),
                Err(_) => return,
            };
            let r = tokio::time::timeout(Duration::from_secs(60), client(&sh, mode, t0)).await;
            let r = r.unwrap_or_else(|_| Err(anyhow!("no echo within 60 s")));
            match r {
                Ok(hold) => {
                    sh.ok.fetch_add(1, Ordering::Relaxed);
                    let mut rel = sh.release.clone();
                    let _ = rel.wait_for(|r| *r).await;
                    hold.close().await;
                }
                Err(e) => {
                    sh.failed.fetch_add(1, Ordering::Relaxed);
                    let mut f = sh.first_error.lock().unwrap_or_else(|p| p.into_inner());
                    if f.is_none() {
                        *f = Some(format!("{e:#}"));
                    }
                }
            }
        }));
    }
    // Let every task reach its wait before the release.
    tokio::task::yield_now().await;
    let s0 = pid.and_then(sys::sample);
    let t0 = Instant::now();
    let _ = go_tx.send(Some(t0));
    let deadline = t0 + Duration::from_secs(90);
    while sh.ok.load(Ordering::Relaxed) + sh.failed.load(Ordering::Relaxed) < n
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let s1 = pid.and_then(sys::sample);
    let _ = rel_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let ok = sh.ok.load(Ordering::Relaxed);
    let mut res = LoadResult {
        sessions_ok: ok,
        sessions_failed: sh.failed.load(Ordering::Relaxed),
        first_error: sh
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
        ..Default::default()
    };
    let last = sh
        .last_done
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .unwrap_or(t0);
    res.storm_secs = last.duration_since(t0).as_secs_f64();
    res.msgs = ok as u64;
    if res.storm_secs > 0.0 {
        res.msgs_per_s = ok as f64 / res.storm_secs;
    }
    let open = sh.open.lock().unwrap_or_else(|p| p.into_inner());
    if !open.is_empty() {
        res.p50_us = open.value_at_quantile(0.5);
        res.p99_us = open.value_at_quantile(0.99);
        res.p999_us = open.value_at_quantile(0.999);
    }
    let done = sh.done.lock().unwrap_or_else(|p| p.into_inner());
    if !done.is_empty() {
        res.done_p99_us = done.value_at_quantile(0.99);
    }
    if let (Some(a), Some(b)) = (s0, s1) {
        res.server_cpu_pct = sys::cpu_percent(&a, &b);
        res.server_rss_mib = b.rss_kib as f64 / 1024.0;
        let cpu_s = b.cpu_secs - a.cpu_secs;
        if cpu_s > 0.0 && ok > 0 {
            res.msgs_per_cpu_s = ok as f64 / cpu_s;
            res.cpu_us_per_op = cpu_s * 1e6 / ok as f64;
        }
    }
    Ok(res)
}

/// What a finished client holds open until the storm is over.
enum Hold {
    Ws(RawWs),
    Http(HttpConn),
}

impl Hold {
    async fn close(self) {
        match self {
            Hold::Ws(ws) => ws.close().await,
            Hold::Http(conn) => drop(conn),
        }
    }
}

fn record(h: &Mutex<Histogram<u64>>, t0: Instant, at: Instant) {
    let us = at.duration_since(t0).as_micros().max(1) as u64;
    let _ = h
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .record(us.min(120_000_000));
}

async fn client(sh: &Shared, mode: StormMode, t0: Instant) -> Result<Hold> {
    let t = &sh.target;
    let hold = match mode {
        StormMode::Websocket => {
            let mut ws =
                RawWs::connect(t, &format!("{}?EIO=4&transport=websocket", t.path)).await?;
            wait_frame(&mut ws, b"0").await?;
            record(&sh.open, t0, Instant::now());
            ws.send_text(MSG).await?;
            wait_frame(&mut ws, MSG).await?;
            Hold::Ws(ws)
        }
        StormMode::Polling | StormMode::Upgrade => {
            let mut conn = HttpConn::new(t.addr, t.pool.clone());
            let mut buf = Vec::with_capacity(1024);
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
            let sid = eio::open_sid(eio::packets(&buf).next().unwrap_or_default())?;
            record(&sh.open, t0, Instant::now());
            let url = format!("{}?EIO=4&transport=polling&sid={sid}", t.path);
            if mode == StormMode::Polling {
                let head = conn.request("POST", &url, CTYPE, MSG, &mut buf).await?;
                if head.status != 200 {
                    bail!("POST status {}", head.status);
                }
                loop {
                    let head = conn.request("GET", &url, "", b"", &mut buf).await?;
                    if head.status != 200 {
                        bail!("GET status {}", head.status);
                    }
                    if eio::packets(&buf).any(|p| p == MSG) {
                        break;
                    }
                }
                Hold::Http(conn)
            } else {
                drop(conn);
                let q = format!("{}?EIO=4&transport=websocket&sid={sid}", t.path);
                let mut ws = RawWs::connect(t, &q).await?;
                ws.send_text(b"2probe").await?;
                wait_frame(&mut ws, b"3probe").await?;
                ws.queue_text(b"5");
                ws.queue_text(MSG);
                ws.flush().await?;
                wait_frame(&mut ws, MSG).await?;
                Hold::Ws(ws)
            }
        }
    };
    let now = Instant::now();
    record(&sh.done, t0, now);
    let mut last = sh.last_done.lock().unwrap_or_else(|p| p.into_inner());
    if last.is_none_or(|l| l < now) {
        *last = Some(now);
    }
    Ok(hold)
}

/// Reads until a frame starting with `prefix` arrives (answering pings).
async fn wait_frame(ws: &mut RawWs, prefix: &[u8]) -> Result<()> {
    loop {
        let mut seen = false;
        let mut pings = 0;
        if ws
            .read(&mut |f| {
                seen |= f.starts_with(prefix);
                pings += (f == b"2") as usize;
            })
            .await?
            == Read::Closed
        {
            bail!(
                "closed while waiting for {:?}",
                String::from_utf8_lossy(prefix)
            );
        }
        for _ in 0..pings {
            ws.queue_text(b"3");
        }
        ws.flush().await?;
        if seen {
            return Ok(());
        }
    }
}
