//! Streaming sessions: a long response carries the downstream (polysock
//! xhr-streaming / htmlfile, SockJS xhr_streaming / htmlfile) and POSTs carry
//! the upstream. A reader task parses the stream and reopens it when the
//! server ends a response; the session task sends batches and measures.

use std::collections::VecDeque;
use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use tokio::sync::{mpsc, oneshot};

use super::{dropped, setup};
use crate::http::HttpConn;
use crate::load::{Ctl, Kind, Mode, Recorder};
use crate::proto::eio;
use crate::proto::stream::{self, Format, Status, StreamParser};

/// What the reader tells the session.
enum Ev {
    /// `n` echoes arrived at this instant.
    Msgs(usize, Instant),
    Ping,
    Closed(String),
}

/// How to reach one session's stream and send endpoint.
#[derive(Debug, Clone)]
struct Urls {
    kind: Kind,
    base: String,
    /// SockJS: `/echo/000/<sid>`; polysock: filled once the open packet came.
    sid: String,
}

impl Urls {
    fn sockjs(&self) -> bool {
        matches!(self.kind, Kind::SockXhr | Kind::SockHtml)
    }
    fn transport(&self) -> &'static str {
        if self.kind == Kind::PolyXhr {
            "xhr-streaming"
        } else {
            "htmlfile"
        }
    }
    /// Method and path of the next stream request.
    fn stream(&self, acked: u64) -> (&'static str, String) {
        match self.kind {
            Kind::SockXhr => ("POST", format!("{}/xhr_streaming", self.sid)),
            Kind::SockHtml => ("GET", format!("{}/htmlfile?c=cb", self.sid)),
            _ if self.sid.is_empty() => (
                "GET",
                format!("{}?EIO=4&transport={}&ext=1", self.base, self.transport()),
            ),
            _ => (
                "GET",
                format!(
                    "{}?EIO=4&transport={}&sid={}&ack={}",
                    self.base,
                    self.transport(),
                    self.sid,
                    acked
                ),
            ),
        }
    }
    fn send(&self) -> String {
        if self.sockjs() {
            format!("{}/xhr_send", self.sid)
        } else {
            format!(
                "{}?EIO=4&transport={}&sid={}",
                self.base,
                self.transport(),
                self.sid
            )
        }
    }
}

pub async fn session(ctl: Ctl) -> Result<Recorder> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let t = ctl.target.clone();
    let kind = ctl.cfg.kind;
    let mut urls = Urls {
        kind,
        base: t.path.clone(),
        sid: String::new(),
    };
    if urls.sockjs() {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        urls.sid = format!(
            "{}/{:03}/s{:x}{:x}",
            t.path.trim_end_matches('/'),
            n % 1000,
            std::process::id(),
            n
        );
    }
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let (open_tx, open_rx) = oneshot::channel();
    let reader_urls = urls.clone();
    let reader_ctl = ctl.clone();
    let reader =
        tokio::spawn(async move { read_stream(reader_ctl, reader_urls, ev_tx, open_tx).await });
    let sid = setup(&ctl, async {
        open_rx
            .await
            .map_err(|_| anyhow!("stream ended before open"))?
    })
    .await;
    let sid = match sid {
        Ok(s) => s,
        Err(e) => {
            reader.abort();
            return Err(e);
        }
    };
    if !urls.sockjs() {
        urls.sid = sid;
    }
    let send_url = urls.send();
    let mut post = HttpConn::new(t.addr, t.pool.clone());
    let mut go = ctl.go.clone();
    let times = loop {
        if let Some(t) = *go.borrow_and_update() {
            break t;
        }
        if go.changed().await.is_err() {
            bail!("run aborted");
        }
    };
    let mut rec = Recorder::new(&times);
    let window = match ctl.cfg.mode {
        Mode::Echo { window, .. } => window.max(1),
        Mode::Idle => 0,
    };
    let mut fifo: VecDeque<Instant> = VecDeque::with_capacity(window);
    let mut credits = window;
    let mut pongs = 0usize;
    let mut body = Vec::new();
    let mut resp = Vec::new();
    let mut stop = ctl.stop.clone();
    let result: Result<()> = async {
        loop {
            let now = Instant::now();
            let sending = window > 0 && now < times.to;
            if !sending && fifo.is_empty() && window > 0 {
                return Ok(());
            }
            let n = if sending { credits } else { 0 };
            if n > 0 || pongs > 0 {
                build_body(&urls, &mut body, ctl.msg.as_bytes(), n, pongs);
                fifo.extend(std::iter::repeat_n(now, n));
                credits -= n;
                pongs = 0;
                let head = post.request("POST", &send_url, "text/plain;charset=UTF-8", &body, &mut resp).await?;
                if head.status != 200 && head.status != 204 {
                    bail!("send status {}: {}", head.status, String::from_utf8_lossy(&resp));
                }
            }
            let ev = tokio::select! {
                _ = tokio::time::sleep_until(times.hard_stop.into()), if window > 0 => return Ok(()),
                _ = super::stopped(&mut stop), if window == 0 => return Ok(()),
                ev = ev_rx.recv() => ev,
            };
            let mut ev = ev;
            while let Some(e) = ev {
                match e {
                    Ev::Msgs(k, at) => {
                        for _ in 0..k {
                            if let Some(sent) = fifo.pop_front() {
                                rec.record(sent, at);
                            }
                        }
                        credits += k;
                    }
                    Ev::Ping => {
                        pongs += 1;
                        ctl.counters.pings.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ev::Closed(why) => bail!("stream closed: {why}"),
                }
                ev = ev_rx.try_recv().ok();
            }
        }
    }
    .await;
    reader.abort();
    if let Err(e) = result {
        dropped(&ctl);
        return Err(e);
    }
    if !urls.sockjs() {
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            post.request(
                "POST",
                &send_url,
                "text/plain;charset=UTF-8",
                b"1",
                &mut resp,
            ),
        )
        .await;
    }
    Ok(rec)
}

fn build_body(urls: &Urls, out: &mut Vec<u8>, msg: &[u8], n: usize, pongs: usize) {
    if urls.sockjs() {
        out.clear();
        out.push(b'[');
        for i in 0..n {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(msg); // letters only: no escaping needed
            out.push(b'"');
        }
        out.push(b']');
    } else {
        eio::payload(out, msg, n, pongs);
    }
}

/// Keeps the session's stream open: parses each response, reopens it when
/// the server ends it, reports echoes and pings.
async fn read_stream(
    ctl: Ctl,
    mut urls: Urls,
    ev: mpsc::UnboundedSender<Ev>,
    open: oneshot::Sender<Result<String>>,
) {
    let t = ctl.target.clone();
    let mut conn = HttpConn::new(t.addr, t.pool.clone());
    let mut open = Some(open);
    let mut received: u64 = 0;
    let mut data = Vec::with_capacity(16 * 1024);
    let sockjs = urls.sockjs();
    loop {
        let (method, path) = urls.stream(received);
        let head = match conn
            .start(method, &path, "text/plain;charset=UTF-8", b"")
            .await
        {
            Ok(h) if h.status == 200 => h,
            Ok(h) => {
                let why = format!("stream status {}", h.status);
                fail(&mut open, &ev, why);
                return;
            }
            Err(e) => {
                fail(&mut open, &ev, format!("{e:#}"));
                return;
            }
        };
        let fmt = match urls.kind {
            Kind::PolyXhr => match Format::poly_xhr(head.header("content-type").unwrap_or("")) {
                Some(f) => f,
                None => {
                    fail(&mut open, &ev, "no multipart boundary".into());
                    return;
                }
            },
            Kind::PolyHtml => Format::PolyHtml,
            Kind::SockXhr => Format::SockXhr,
            _ => Format::SockHtml,
        };
        let mut parser = StreamParser::new(fmt);
        loop {
            data.clear();
            match conn.chunk(&mut data).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    fail(&mut open, &ev, format!("{e:#}"));
                    return;
                }
            }
            let now = Instant::now();
            let mut msgs = 0usize;
            let mut closed = None;
            let st = parser.feed(&data, &mut |frame: &str| {
                if sockjs {
                    match frame.as_bytes().first() {
                        Some(b'a') => msgs += stream::sockjs_array_len(frame),
                        Some(b'o') => {
                            if let Some(o) = open.take() {
                                let _ = o.send(Ok(String::new()));
                            }
                        }
                        Some(b'c') => closed = Some(frame.to_string()),
                        _ => {}
                    }
                } else {
                    received += 1;
                    match frame.as_bytes().first() {
                        Some(b'4') => msgs += 1,
                        Some(b'2') => {
                            let _ = ev.send(Ev::Ping);
                        }
                        Some(b'0') => {
                            if let Some(o) = open.take() {
                                let r = eio::open_sid(frame.as_bytes());
                                if let Ok(sid) = &r {
                                    urls.sid = sid.clone();
                                }
                                let _ = o.send(r);
                            }
                        }
                        Some(b'1') => closed = Some(frame.to_string()),
                        _ => {}
                    }
                }
            });
            if msgs > 0 {
                let _ = ev.send(Ev::Msgs(msgs, now));
            }
            if let Some(c) = closed {
                let _ = ev.send(Ev::Closed(c));
                return;
            }
            if st == Status::Ended {
                // Drain the rest of this response (chunked terminator).
                let mut rest = Vec::new();
                let _ = conn.body(&mut rest).await;
                break;
            }
        }
    }
}

fn fail(
    open: &mut Option<oneshot::Sender<Result<String>>>,
    ev: &mpsc::UnboundedSender<Ev>,
    why: String,
) {
    match open.take() {
        Some(o) => {
            let _ = o.send(Err(anyhow!(why)));
        }
        None => {
            let _ = ev.send(Ev::Closed(why));
        }
    }
}
