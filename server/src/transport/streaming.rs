//! The streaming extensions, `xhr-streaming` and `htmlfile`: one long GET
//! response that carries packets the moment they are queued.
//!
//! Both share everything but their framing: the response is a stream of
//! chunks produced from the session's queue, ended after `response_limit`
//! bytes (after a whole packet), on a release (upgrade probe) or when the
//! session closes. Packets written to a stream are kept until the client
//! acknowledges them with `ack=N` on its next GET, so a response cut in
//! the middle loses nothing.

use std::convert::Infallible;

use axum::body::Body;
use bytes::Bytes;
use futures_util::stream;
use http::{header, HeaderValue, Response};

use crate::error::RequestError;
use crate::protocol::htmlfile;
use crate::protocol::multipart::MultipartFramer;
use crate::protocol::{encoded_len, Packet};
use crate::session::{BadAck, Delivery, ReceiverGuard};
use crate::socket::{CloseReason, TransportError};
use crate::Transport;

use super::NO_STORE;

/// How one streaming response frames its packets.
enum Framing {
    Multipart(MultipartFramer),
    Htmlfile { callback: String },
}

impl Framing {
    fn new(transport: Transport, callback: Option<String>) -> Self {
        match transport {
            Transport::Htmlfile => Self::Htmlfile {
                callback: callback.unwrap_or_else(|| htmlfile::DEFAULT_CALLBACK.to_owned()),
            },
            _ => Self::Multipart(MultipartFramer::new(
                uuid::Uuid::new_v4().simple().to_string(),
            )),
        }
    }

    fn content_type(&self) -> HeaderValue {
        match self {
            Self::Multipart(framer) => HeaderValue::from_str(&framer.content_type())
                .unwrap_or(HeaderValue::from_static("multipart/mixed")),
            Self::Htmlfile { .. } => HeaderValue::from_static("text/html; charset=UTF-8"),
        }
    }

    fn preamble(&self, out: &mut Vec<u8>) {
        match self {
            Self::Multipart(framer) => framer.preamble(out),
            Self::Htmlfile { callback } => {
                out.extend_from_slice(htmlfile::preamble(callback).as_bytes())
            }
        }
    }

    /// Frames packets until one cannot go in this response; returns those
    /// that were framed (the rest must wait for the next response).
    fn packets(&self, packets: &[Packet], out: &mut Vec<u8>) -> usize {
        match self {
            Self::Multipart(framer) => packets
                .iter()
                .take_while(|packet| framer.part(packet, out).is_ok())
                .count(),
            Self::Htmlfile { .. } => {
                // An htmlfile body is all text: write the chunks into the
                // buffer itself rather than into a second one to copy over.
                let mut text = String::from_utf8(std::mem::take(out))
                    .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
                for packet in packets {
                    htmlfile::chunk(packet, &mut text);
                }
                *out = text.into_bytes();
                packets.len()
            }
        }
    }

    fn end(&self, out: &mut Vec<u8>) {
        match self {
            Self::Multipart(framer) => framer.end(out),
            Self::Htmlfile { .. } => out.extend_from_slice(htmlfile::END.as_bytes()),
        }
    }
}

/// What the first chunk carries besides the preamble.
pub(crate) enum Start {
    /// A new session: its open packet.
    Open(Packet),
    /// An existing session: the acknowledgement from the query.
    Resume(Option<u64>),
}

/// Starts a streaming response for the attached receiver.
pub(crate) fn respond(
    guard: ReceiverGuard,
    transport: Transport,
    callback: Option<String>,
    start: Start,
) -> Result<Response<Body>, RequestError> {
    let first = match start {
        Start::Open(open) => {
            guard.record_streamed([open.clone()]);
            vec![open]
        }
        Start::Resume(ack) => {
            let resumed = guard.session().lock().stream.resume(ack);
            resumed.map_err(|BadAck| {
                guard
                    .session()
                    .close_now(CloseReason::TransportError(TransportError::BadPacket));
                RequestError::BadRequest("ack does not match the packets sent")
            })?
        }
    };
    let framing = Framing::new(transport, callback);
    let content_type = framing.content_type();
    let mut preamble = Vec::with_capacity(4096);
    framing.preamble(&mut preamble);
    framing.packets(&first, &mut preamble);
    let limit = guard.session().config().response_limit;
    let body = ResponseStream {
        guard: Some(guard),
        framing,
        pending: Some(Bytes::from(preamble)),
        written: 0,
        limit,
    };
    let mut response = Response::new(Body::from_stream(stream::unfold(
        body,
        ResponseStream::next_chunk,
    )));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CACHE_CONTROL, NO_STORE);
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// Room for `packets` once framed, so a chunk is built without regrowing:
/// their payload-encoded size plus each framing's per-packet overhead
/// (part headers, or the script tag around a call).
fn framed_len_estimate(packets: &[Packet]) -> usize {
    packets.iter().map(|packet| encoded_len(packet) + 96).sum()
}

/// The state behind one streaming response body.
struct ResponseStream {
    /// The receiver slot; dropped (freeing the slot) when the body ends or
    /// the client goes away.
    guard: Option<ReceiverGuard>,
    framing: Framing,
    pending: Option<Bytes>,
    written: usize,
    limit: usize,
}

impl ResponseStream {
    async fn next_chunk(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        if let Some(chunk) = self.pending.take() {
            self.written += chunk.len();
            return Some((Ok(chunk), self));
        }
        let guard = self.guard.as_ref()?;
        let mut out = Vec::new();
        let finished = if self.written >= self.limit {
            true
        } else {
            match guard.next(self.limit - self.written).await {
                Delivery::Packets(mut packets) => {
                    out.reserve(framed_len_estimate(&packets));
                    let framed = self.framing.packets(&packets, &mut out);
                    let overflow = packets.split_off(framed);
                    let closing = packets.iter().any(|p| matches!(p, Packet::Close(_)));
                    guard.record_streamed(packets);
                    let overflowed = !overflow.is_empty();
                    if overflowed {
                        guard.session().requeue_front(overflow);
                    }
                    overflowed || closing || self.written + out.len() >= self.limit
                }
                Delivery::Released => {
                    // An upgrade probe: a noop tells the client this
                    // response ended on purpose.
                    let noop = [Packet::Noop];
                    self.framing.packets(&noop, &mut out);
                    guard.record_streamed(noop);
                    true
                }
                Delivery::Closed => true,
            }
        };
        if finished {
            self.framing.end(&mut out);
            // Free the receiver slot before the last bytes leave, so the
            // client's next GET never finds it taken.
            self.guard = None;
        }
        self.written += out.len();
        Some((Ok(Bytes::from(out)), self))
    }
}
