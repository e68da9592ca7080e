//! Engine.IO v4 long-polling sessions over one keep-alive connection:
//! POST a batch of messages, then GET until all their echoes came back.
//! Heartbeats: a ping in a GET is answered by POSTing `3` at once.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::{dropped, setup};
use crate::http::HttpConn;
use crate::load::{Ctl, Mode, Recorder};
use crate::proto::eio;

const CTYPE: &str = "text/plain;charset=UTF-8";

pub async fn session(ctl: Ctl) -> Result<Recorder> {
    let t = ctl.target.clone();
    let mut conn = HttpConn::new(t.addr, t.pool.clone());
    let mut buf = Vec::with_capacity(4096);
    let sid = setup(&ctl, async {
        let path = format!("{}?EIO=4&transport=polling", t.path);
        let head = conn.request("GET", &path, "", b"", &mut buf).await?;
        if head.status != 200 {
            bail!(
                "handshake status {}: {}",
                head.status,
                String::from_utf8_lossy(&buf)
            );
        }
        let first = eio::packets(&buf).next().unwrap_or_default();
        eio::open_sid(first)
    })
    .await?;
    let url = format!("{}?EIO=4&transport=polling&sid={}", t.path, sid);
    let mut go = ctl.go.clone();
    let times = loop {
        if let Some(t) = *go.borrow_and_update() {
            break t;
        }
        // Idle until the start (sessions are up within a few seconds, far
        // below any ping interval, so no poll is needed here).
        if go.changed().await.is_err() {
            bail!("run aborted");
        }
    };
    let mut rec = Recorder::new(&times);
    let r = match ctl.cfg.mode {
        Mode::Idle => idle(&ctl, &mut conn, &url).await,
        Mode::Echo { window, .. } => tokio::time::timeout_at(
            times.hard_stop.into(),
            echo(&ctl, &mut conn, &url, window.max(1), times.to, &mut rec),
        )
        .await
        .unwrap_or(Ok(())),
    };
    if r.is_err() {
        dropped(&ctl);
    }
    r?;
    // Close politely so the server frees the session now.
    let _ = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        conn.request("POST", &url, CTYPE, b"1", &mut buf),
    )
    .await;
    Ok(rec)
}

async fn echo(
    ctl: &Ctl,
    conn: &mut HttpConn,
    url: &str,
    window: usize,
    stop: Instant,
    rec: &mut Recorder,
) -> Result<()> {
    let mut body = Vec::with_capacity(window * (ctl.cfg.size + 2));
    let mut resp = Vec::with_capacity(4096);
    let mut fifo = VecDeque::with_capacity(window);
    let mut pongs = 0;
    while Instant::now() < stop {
        eio::payload(&mut body, ctl.msg.as_bytes(), window, pongs);
        pongs = 0;
        let now = Instant::now();
        fifo.extend(std::iter::repeat_n(now, window));
        post(conn, url, &body, &mut resp).await?;
        while !fifo.is_empty() {
            let head = conn.request("GET", url, "", b"", &mut resp).await?;
            if head.status != 200 {
                bail!(
                    "GET status {}: {}",
                    head.status,
                    String::from_utf8_lossy(&resp)
                );
            }
            let now = Instant::now();
            for p in eio::packets(&resp) {
                match p[0] {
                    b'4' => {
                        if let Some(sent) = fifo.pop_front() {
                            rec.record(sent, now);
                        }
                    }
                    b'2' => pongs += 1,
                    b'1' => bail!("server closed the session"),
                    _ => {}
                }
            }
            if pongs > 0 && !fifo.is_empty() {
                eio::payload(&mut body, b"", 0, pongs);
                pongs = 0;
                post(conn, url, &body, &mut resp).await?;
            }
        }
    }
    Ok(())
}

async fn idle(ctl: &Ctl, conn: &mut HttpConn, url: &str) -> Result<()> {
    let mut stop = ctl.stop.clone();
    let mut resp = Vec::with_capacity(256);
    loop {
        let head = tokio::select! {
            _ = super::stopped(&mut stop) => return Ok(()),
            r = conn.request("GET", url, "", b"", &mut resp) => r.context("long poll")?,
        };
        if head.status != 200 {
            bail!(
                "GET status {}: {}",
                head.status,
                String::from_utf8_lossy(&resp)
            );
        }
        let mut pongs = 0;
        for p in eio::packets(&resp) {
            match p[0] {
                b'2' => pongs += 1,
                b'1' => bail!("server closed the session"),
                _ => {}
            }
        }
        if pongs > 0 {
            ctl.counters
                .pings
                .fetch_add(pongs as u64, Ordering::Relaxed);
            let mut body = Vec::new();
            eio::payload(&mut body, b"", 0, pongs);
            post(conn, url, &body, &mut resp).await?;
        }
    }
}

async fn post(conn: &mut HttpConn, url: &str, body: &[u8], resp: &mut Vec<u8>) -> Result<()> {
    let head = conn.request("POST", url, CTYPE, body, resp).await?;
    if head.status != 200 {
        bail!(
            "POST status {}: {}",
            head.status,
            String::from_utf8_lossy(resp)
        );
    }
    Ok(())
}
