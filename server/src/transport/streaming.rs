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

use std::sync::Arc;

use http::HeaderMap;

use crate::protocol::htmlfile;
use crate::protocol::multipart::MultipartFramer;
use crate::protocol::{encoded_len, Packet};
use crate::rejection::{AttachRejection, Rejection};
use crate::session::{Delivery, Held, ReceiverGuard, Session};
use crate::Transport;

use super::compression::{self, Encoding, StreamEncoder};
use super::{rejection_for, NO_STORE};

/// How one streaming response frames its packets.
enum Framing {
    Multipart(MultipartFramer),
    Htmlfile { callback: u32 },
}

impl Framing {
    fn new(transport: Transport, callback: Option<u32>) -> Self {
        match transport {
            Transport::Htmlfile => Self::Htmlfile {
                callback: callback.unwrap_or(htmlfile::DEFAULT_CALLBACK_ID),
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
                out.extend_from_slice(htmlfile::preamble(*callback).as_bytes())
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

/// Refuses an htmlfile GET that the browser says is not an iframe of a
/// same-origin page: a top-level navigation (`Sec-Fetch-Dest: document`,
/// as a link sent to a victim would be) or a request from another site.
/// The document calls into its parent, so only a same-origin page can use
/// it anyway; browsers that send no `Sec-Fetch-*` headers are let through
/// (the fixed callback and the CSP still hold for them).
pub(crate) fn check_htmlfile_fetch(headers: &HeaderMap) -> Result<(), AttachRejection> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let top_level =
        value("sec-fetch-dest").is_some_and(|dest| dest.eq_ignore_ascii_case("document"));
    let foreign = value("sec-fetch-site").is_some_and(|site| {
        site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site")
    });
    if top_level || foreign {
        return Err(AttachRejection::HtmlfileNotFramed);
    }
    Ok(())
}

/// Starts the streaming response of a new session: the open packet first.
pub(crate) fn open(
    receiver: ReceiverGuard,
    transport: Transport,
    callback: Option<u32>,
    open: Packet,
    encoding: Option<Encoding>,
) -> Response<Body> {
    // The open packet is recorded like any streamed packet, so a client
    // whose first response is cut gets it again.
    let first = vec![open];
    // An empty ledger has room for the open packet: nothing to refuse.
    let _ = receiver.streamed(first.clone());
    respond(receiver, transport, callback, first, encoding)
}

/// Starts a streaming response for an existing session: what the client
/// did not acknowledge (`ack=N`) is replayed first.
pub(crate) fn resume(
    session: Arc<Session>,
    transport: Transport,
    callback: Option<u32>,
    ack: Option<u64>,
    encoding: Option<Encoding>,
) -> Result<Response<Body>, Rejection> {
    let receiver = session.attach(transport).map_err(rejection_for)?;
    if session.is_resume() {
        // Numbered messages: the replay goes back into the queue, and the
        // stream ledger is not used.
        if let Some(ack) = ack {
            session.ack_replay(ack).map_err(rejection_for)?;
        }
        return Ok(respond(receiver, transport, callback, Vec::new(), encoding));
    }
    let replay = receiver.resume_stream(ack).map_err(rejection_for)?;
    Ok(respond(receiver, transport, callback, replay, encoding))
}

fn respond(
    receiver: ReceiverGuard,
    transport: Transport,
    callback: Option<u32>,
    first: Vec<Packet>,
    encoding: Option<Encoding>,
) -> Response<Body> {
    let framing = Framing::new(transport, callback);
    let content_type = framing.content_type();
    let mut preamble = Vec::with_capacity(4096);
    framing.preamble(&mut preamble);
    framing.packets(&first, &mut preamble);
    let config = receiver.session().config();
    let limit = config.response_limit;
    let mut encoder =
        encoding.map(|encoding| StreamEncoder::new(encoding, config.compression_threshold));
    let written = preamble.len();
    let pending = match encoder.as_mut() {
        Some(encoder) => encoder.chunk(&preamble),
        None => preamble,
    };
    let body = ResponseStream {
        receiver: Some(receiver),
        framing,
        pending: Some(Bytes::from(pending)),
        in_flight: Held::default(),
        written,
        limit,
        encoder,
    };
    let mut response = Response::new(Body::from_stream(stream::unfold(
        body,
        ResponseStream::next_chunk,
    )));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CACHE_CONTROL, NO_STORE);
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    if let Some(encoding) = encoding {
        compression::mark(headers, encoding);
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if transport == Transport::Htmlfile {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(htmlfile::CONTENT_SECURITY_POLICY),
        );
        headers.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
    }
    response
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
    receiver: Option<ReceiverGuard>,
    framing: Framing,
    pending: Option<Bytes>,
    /// Messages of the chunk last handed to hyper: delivered once hyper
    /// asks for the next chunk (it has written that one).
    in_flight: Held,
    /// Bytes framed so far (before any compression), against `limit`.
    written: usize,
    limit: usize,
    /// Compresses every chunk into one stream, when the client accepts it.
    encoder: Option<StreamEncoder>,
}

impl ResponseStream {
    async fn next_chunk(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        if let Some(chunk) = self.pending.take() {
            return Some((Ok(chunk), self));
        }
        let receiver = self.receiver.as_ref()?;
        receiver.delivered(std::mem::take(&mut self.in_flight));
        let mut out = Vec::new();
        let finished = if self.written >= self.limit {
            true
        } else {
            match receiver.next(self.limit - self.written).await {
                Delivery::Packets(mut packets) => {
                    out.reserve(framed_len_estimate(&packets));
                    let framed = self.framing.packets(&packets, &mut out);
                    let overflow = packets.split_off(framed);
                    let closing = packets.iter().any(|p| matches!(p, Packet::Close(_)));
                    let overflowed = !overflow.is_empty();
                    // Packets that did not fit (a multipart boundary
                    // collision) wait for the next response, still counted.
                    receiver.requeue(overflow);
                    self.in_flight = Held::of(&packets);
                    let recorded = receiver.streamed(packets).is_ok();
                    !recorded || overflowed || closing || self.written + out.len() >= self.limit
                }
                Delivery::Released => {
                    // An upgrade probe: a noop tells the client this
                    // response ended on purpose.
                    let noop = [Packet::Noop];
                    self.framing.packets(&noop, &mut out);
                    let _ = receiver.streamed(noop.to_vec());
                    true
                }
                Delivery::Closed | Delivery::Empty => true,
            }
        };
        if finished {
            self.framing.end(&mut out);
            // Free the receiver slot before the last bytes leave, so the
            // client's next GET never finds it taken. Its drop reports the
            // last chunk's packets delivered.
            self.receiver = None;
            self.in_flight = Held::default();
        }
        self.written += out.len();
        if let Some(encoder) = self.encoder.as_mut() {
            let mut encoded = encoder.chunk(&out);
            if finished {
                encoded.extend_from_slice(&encoder.finish());
            }
            out = encoded;
        }
        Some((Ok(Bytes::from(out)), self))
    }
}
