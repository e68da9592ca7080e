//! The receiving HTTP transports: `xhr` and `jsonp` (one frame per
//! response) and `xhr_streaming`, `eventsource`, `htmlfile` (one long
//! response, each frame its own chunk, ended after `response_limit`
//! bytes of frames).
//!
//! ```text
//! request for an unknown id ──▶ new session: o
//! another request receiving ──▶ c[2010,"Another connection still open"]
//! closed session            ──▶ c[code,"reason"]   (until it expires)
//! otherwise                 ──▶ a[...] / h / c[...] as the session has them
//! ```

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures_util::stream;
use http::request::Parts;
use http::{header, HeaderValue, Response};

use super::http::{self as h, SockJsError};
use super::seam::{self, Attach, Close, Endpoint, Next, OpenError, SjSession, Slot};
use super::SockJsTransport;
use crate::protocol::sockjs::{
    close_frame, message_frame, prelude, SessionTransport, Wrap, ANOTHER_CONNECTION, HEARTBEAT,
    OPEN,
};

/// The error answer to a session that could not be opened.
pub(crate) fn open_error(error: OpenError) -> SockJsError {
    match error {
        OpenError::Refused => SockJsError::Forbidden,
        OpenError::Full | OpenError::ShuttingDown => SockJsError::Unavailable,
    }
}

fn close_text((code, reason): &Close) -> String {
    let mut out = String::new();
    close_frame(*code, reason, &mut out);
    out
}

fn frames_text(messages: &[String]) -> String {
    let mut out = String::with_capacity(messages.iter().map(|m| m.len() + 3).sum::<usize>() + 3);
    message_frame(messages.iter().map(String::as_str), &mut out);
    out
}

/// The receiver a request got, or the one frame it is answered with.
enum Receiver {
    /// A new session: answer `o` (and, streaming, go on receiving).
    Opened(Option<Slot>),
    /// The session's receiver.
    Attached(Slot),
    /// One frame and done.
    Frame(String),
}

async fn receiver(
    endpoint: &Arc<Endpoint>,
    parts: &Parts,
    id: &str,
    transport: SockJsTransport,
    streaming: bool,
) -> Result<Receiver, SockJsError> {
    let session: Arc<SjSession> = match endpoint.get(id) {
        Some(session) => session,
        None => {
            let (session, slot, created) =
                seam::open_held(endpoint, parts, id, transport, streaming)
                    .await
                    .map_err(open_error)?;
            if created {
                return Ok(Receiver::Opened(slot));
            }
            session
        }
    };
    Ok(match session.attach() {
        Attach::Attached(slot) => Receiver::Attached(slot),
        Attach::Busy => {
            let (code, reason) = ANOTHER_CONNECTION;
            Receiver::Frame(close_text(&(code, reason.to_owned())))
        }
        Attach::Closed(close) => Receiver::Frame(close_text(&close)),
    })
}

/// `xhr` and `jsonp`: one frame per response.
pub(crate) async fn poll(
    endpoint: &Arc<Endpoint>,
    parts: Parts,
    id: &str,
    wrap: Wrap,
    transport: SockJsTransport,
) -> Result<Response<Body>, SockJsError> {
    let frame = match receiver(endpoint, &parts, id, transport, false).await? {
        Receiver::Opened(_) => OPEN.to_owned(),
        Receiver::Frame(frame) => frame,
        Receiver::Attached(slot) => {
            let heartbeat = endpoint.options.heartbeat_delay;
            let frame = match slot.next(usize::MAX, heartbeat).await {
                Next::Frames(messages, close) => match close {
                    // The close frame waits for the next poll.
                    _ if !messages.is_empty() => frames_text(&messages),
                    Some(close) => close_text(&close),
                    None => HEARTBEAT.to_owned(),
                },
                Next::Heartbeat => HEARTBEAT.to_owned(),
                Next::Closed(close) => close_text(&close),
            };
            slot.complete();
            frame
        }
    };
    Ok(h::uncached(h::JAVASCRIPT, wrap.to_string(&frame)))
}

/// `xhr_streaming`, `eventsource` and `htmlfile`.
pub(crate) async fn stream(
    endpoint: &Arc<Endpoint>,
    parts: Parts,
    id: &str,
    transport: SessionTransport,
    callback: &str,
) -> Result<Response<Body>, SockJsError> {
    let (wrap, content_type, sockjs_transport) = match transport {
        SessionTransport::EventSource => (
            Wrap::EventSource,
            h::EVENT_STREAM,
            SockJsTransport::EventSource,
        ),
        SessionTransport::Htmlfile => (Wrap::Htmlfile, h::HTML, SockJsTransport::Htmlfile),
        _ => (Wrap::Xhr, h::JAVASCRIPT, SockJsTransport::XhrStreaming),
    };
    let (first, slot) = match receiver(endpoint, &parts, id, sockjs_transport, true).await? {
        Receiver::Opened(slot) => (Some(OPEN.to_owned()), slot),
        Receiver::Attached(slot) => (None, Some(slot)),
        Receiver::Frame(frame) => (Some(frame), None),
    };
    let mut state = Streaming {
        slot,
        pending: VecDeque::new(),
        wrap,
        written: 0,
        limit: endpoint.options.response_limit,
        heartbeat: endpoint.options.heartbeat_delay,
    };
    state
        .pending
        .push_back(Bytes::from(prelude(transport, callback)));
    if let Some(frame) = first {
        state.push(&frame);
    }
    let mut response = Response::new(Body::from_stream(stream::unfold(
        state,
        Streaming::next_chunk,
    )));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CACHE_CONTROL, h::NO_CACHE);
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The state behind one streaming response.
struct Streaming {
    /// The receiver slot; `None` once the response is to end.
    slot: Option<Slot>,
    /// Chunks to write, each one frame (the prelude first).
    pending: VecDeque<Bytes>,
    wrap: Wrap,
    /// Bytes of frames written, the prelude not counted.
    written: usize,
    limit: usize,
    heartbeat: Duration,
}

impl Streaming {
    fn push(&mut self, frame: &str) {
        let chunk = self.wrap.to_string(frame);
        self.written += chunk.len();
        self.pending.push_back(Bytes::from(chunk));
    }

    fn finish(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.complete();
        }
    }

    async fn next_chunk(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                return Some((Ok(chunk), self));
            }
            if self.written >= self.limit {
                self.finish();
            }
            let slot = self.slot.as_ref()?;
            match slot.next(self.limit - self.written, self.heartbeat).await {
                Next::Frames(messages, close) => {
                    if !messages.is_empty() {
                        self.push(&frames_text(&messages));
                    }
                    if let Some(close) = close {
                        self.push(&close_text(&close));
                        self.finish();
                    }
                }
                Next::Heartbeat => self.push(HEARTBEAT),
                Next::Closed(close) => {
                    self.push(&close_text(&close));
                    self.finish();
                }
            }
        }
    }
}
