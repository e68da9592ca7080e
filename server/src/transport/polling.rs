//! `transport=polling`: a long-poll GET carries packets down, a POST
//! carries a payload up and is answered `ok`. The POST path is shared by
//! the streaming transports, whose upstream is the same.

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::time::timeout;

use crate::close::{CloseReason, TransportError};
use crate::protocol::{encode_payload, payload_packets_with, Packet};
use crate::rejection::{BodyRejection, Rejection};
use crate::session::{Delivery, Held, Session, UnexpectedPacket};
use crate::Transport;

use super::compression::{self, Encoding};
use super::{rejection_for, text_response};

/// The handshake's answer: the open packet alone.
pub(crate) fn open_response(open: &Packet) -> Response<Body> {
    text_response(open.to_text())
}

/// A long-poll GET: waits for packets (the heartbeat guarantees one within
/// `ping_interval`) and answers with as many as fit in `max_payload`,
/// compressed with `encoding` when the payload reaches the threshold. In a
/// resume session its `ack` acknowledges, and what was written after it
/// (a response lost on the way) is sent again first.
pub(crate) async fn receive(
    session: Arc<Session>,
    ack: Option<u64>,
    encoding: Option<Encoding>,
) -> Result<Response<Body>, Rejection> {
    let receiver = session.attach(Transport::Polling).map_err(rejection_for)?;
    if let Some(ack) = ack.filter(|_| session.is_resume()) {
        session.ack_replay(ack).map_err(rejection_for)?;
    }
    let packets = match receiver.next(session.config().max_payload).await {
        Delivery::Packets(packets) => packets,
        Delivery::Released | Delivery::Empty => vec![Packet::Noop],
        Delivery::Closed => vec![Packet::Close(None)],
    };
    let body = match packets.as_slice() {
        // A broadcast alone: the body is its encoding, made once for
        // every socket.
        [Packet::Shared(message)] => message.payload_bytes(),
        _ => {
            let mut body = String::new();
            encode_payload(&packets, &mut body);
            Bytes::from(body)
        }
    };
    // The payload is built: from here on the response holds the bytes.
    receiver.delivered(Held::of(&packets));
    drop(receiver);
    let threshold = session.config().compression_threshold;
    match encoding.filter(|_| body.len() >= threshold) {
        Some(encoding) => {
            let mut response = text_response(compression::compress(encoding, &body));
            compression::mark(response.headers_mut(), encoding);
            Ok(response)
        }
        None => Ok(text_response(body)),
    }
}

/// A POST: reads the payload (bounded in size and time), hands each packet
/// to the session as it is decoded, answers `ok`. A client that breaks the
/// protocol loses its own session and nobody else's. In a resume session
/// `seq` numbers the body's first message: messages received already (a
/// POST sent again) are dropped.
pub(crate) async fn send(
    session: Arc<Session>,
    body: Body,
    seq: Option<u64>,
) -> Result<Response<Body>, Rejection> {
    let _post = session.begin_post().map_err(rejection_for)?;
    let config = session.config();
    let limit = config.max_payload;
    let fail = |reason: TransportError, rejection: BodyRejection| {
        session.close_now(CloseReason::TransportError(reason));
        Err(Rejection::from(rejection))
    };
    if announced_length(&body).is_some_and(|length| length > limit as u64) {
        return fail(TransportError::TooLarge, BodyRejection::TooLarge);
    }
    let bytes = match timeout(config.body_timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            return fail(TransportError::TooLarge, BodyRejection::TooLarge);
        }
        Ok(Err(_)) => return Err(BodyRejection::Unreadable.into()),
        Err(_) => return fail(TransportError::SlowClient, BodyRejection::TooSlow),
    };
    let resume = session.is_resume();
    let packets = match payload_packets_with(&bytes, limit, resume) {
        Ok(packets) => packets,
        Err(error) => return fail(TransportError::BadPacket, BodyRejection::Decode(error)),
    };
    let mut number = seq.filter(|_| resume);
    // Each packet is decoded only when the one before has been handed
    // over: what waits for the application is bounded by its inbound
    // budget, not by how many packets the body holds.
    let delivery = async {
        let inlet = session.inlet();
        for packet in packets {
            let packet = packet.map_err(BodyRejection::Decode)?;
            let this = match &packet {
                Packet::Message(_) => {
                    let this = number;
                    number = number.map(|n| n + 1);
                    this
                }
                _ => None,
            };
            session
                .handle_numbered(&inlet, packet, this)
                .await
                .map_err(|error| match error {
                    UnexpectedPacket::Type(_) => BodyRejection::UnexpectedPacket,
                    UnexpectedPacket::AckOutOfRange => BodyRejection::AckOutOfRange,
                    UnexpectedPacket::SeqOutOfRange => BodyRejection::SeqOutOfRange,
                })?;
        }
        Ok::<(), BodyRejection>(())
    };
    match timeout(config.body_timeout, delivery).await {
        Ok(Ok(())) => Ok(text_response("ok")),
        Ok(Err(rejection)) => fail(TransportError::BadPacket, rejection),
        Err(_) => fail(
            TransportError::ApplicationNotReading,
            BodyRejection::ApplicationNotReading,
        ),
    }
}

/// The body length the request announced (`Content-Length`), if any.
fn announced_length(body: &Body) -> Option<u64> {
    http_body::Body::size_hint(body).exact()
}
