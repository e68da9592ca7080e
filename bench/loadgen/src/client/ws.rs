//! Websocket sessions: Engine.IO v4 straight over websocket
//! (`?EIO=4&transport=websocket`), or a plain websocket sending the same
//! frames to a raw echo server.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::{dropped, setup};
use crate::load::{Ctl, Kind, Mode, Recorder};

pub async fn session(ctl: Ctl) -> Result<Recorder> {
    let eio = ctl.cfg.kind == Kind::EioWs;
    let ws = setup(&ctl, async {
        let t = &ctl.target;
        let tcp = t.pool.connect(t.addr).await.context("connect")?;
        let url = if eio {
            format!("ws://{}{}?EIO=4&transport=websocket", t.addr, t.path)
        } else {
            format!("ws://{}/", t.addr)
        };
        // Small read buffer: tungstenite's default 128 KiB per socket would
        // cost the generator gigabytes at scale and a 128 KiB memset per read.
        let config = WebSocketConfig::default().read_buffer_size(4096);
        let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
            .await
            .context("ws handshake")?;
        if eio {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.starts_with('0') => {}
                other => bail!("expected open packet, got {other:?}"),
            }
        }
        Ok(ws)
    })
    .await?;
    let (mut tx, mut rx) = ws.split();
    // Answer pings while waiting for the start.
    let mut go = ctl.go.clone();
    let times = loop {
        if let Some(t) = *go.borrow_and_update() {
            break t;
        }
        tokio::select! {
            r = go.changed() => if r.is_err() { bail!("run aborted") },
            m = rx.next() => match m {
                Some(Ok(Message::Text(t))) if t.as_str() == "2" => { tx.send(Message::text("3")).await?; }
                Some(Ok(_)) => {}
                _ => { dropped(&ctl); bail!("closed before start"); }
            },
        }
    };
    let mut rec = Recorder::new(&times);
    let msg: Utf8Bytes = format!("4{}", ctl.msg).into();
    match ctl.cfg.mode {
        Mode::Idle => {
            let mut stop = ctl.stop.clone();
            loop {
                tokio::select! {
                    _ = super::stopped(&mut stop) => break,
                    m = rx.next() => match m {
                        Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                            ctl.counters.pings.fetch_add(1, Ordering::Relaxed);
                            tx.send(Message::text("3")).await?;
                        }
                        Some(Ok(_)) => {}
                        other => { dropped(&ctl); bail!("idle session closed: {other:?}"); }
                    },
                }
            }
        }
        Mode::Echo { window, rate } => {
            let mut fifo: VecDeque<Instant> = VecDeque::with_capacity(window.max(16));
            // Paced: one tick per message for this session; flat out: window.
            let mut tick = rate.map(|r| {
                let per = ctl.cfg.sessions as f64 / r.max(0.001);
                let mut i = tokio::time::interval(Duration::from_secs_f64(per));
                i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                i
            });
            if tick.is_none() {
                let now = Instant::now();
                for _ in 0..window {
                    tx.feed(Message::Text(msg.clone())).await?;
                    fifo.push_back(now);
                }
                tx.flush().await?;
            }
            let cap = window.max(1);
            loop {
                let now = Instant::now();
                if now >= times.to && fifo.is_empty() {
                    break;
                }
                let next = async {
                    match tick.as_mut() {
                        Some(t) => {
                            t.tick().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep_until(times.hard_stop.into()) => break,
                    _ = next => {
                        if Instant::now() < times.to && fifo.len() < cap {
                            fifo.push_back(Instant::now());
                            tx.send(Message::Text(msg.clone())).await?;
                        }
                    }
                    m = rx.next() => {
                        // Handle this frame and every frame already buffered,
                        // then flush the replies with one write.
                        let mut m = m;
                        loop {
                            let msg_in = match m {
                                Some(Ok(m)) => m,
                                other => { dropped(&ctl); return Err(anyhow!("session closed mid-run: {other:?}")); }
                            };
                            if let Message::Text(t) = msg_in {
                                match t.as_bytes().first() {
                                    Some(b'4') => {
                                        let now = Instant::now();
                                        if let Some(sent) = fifo.pop_front() {
                                            rec.record(sent, now);
                                        }
                                        if tick.is_none() && now < times.to {
                                            fifo.push_back(now);
                                            tx.feed(Message::Text(msg.clone())).await?;
                                        }
                                    }
                                    Some(b'2') if eio => { tx.feed(Message::text("3")).await?; }
                                    _ => {}
                                }
                            }
                            match rx.next().now_or_never() {
                                Some(next) => m = next,
                                None => break,
                            }
                        }
                        tx.flush().await?;
                    }
                }
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_millis(200), tx.send(Message::Close(None))).await;
    Ok(rec)
}
