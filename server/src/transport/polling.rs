//! `transport=polling`: a long-poll GET carries packets down, a POST
//! carries a payload up and is answered `ok`. The POST path is shared by
//! the streaming transports, whose upstream is the same.

use std::sync::Arc;

use axum::body::Body;
use http::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::time::timeout;

use crate::close::{CloseReason, TransportError};
use crate::protocol::{encode_payload, payload_packets, Packet};
use crate::rejection::{BodyRejection, Rejection};
use crate::session::{Delivery, Held, Session};
use crate::Transport;

use super::compression::{self, Encoding};
use super::{rejection_for, text_response};

/// The handshake's answer: the open packet alone.
pub(crate) fn open_response(open: &Packet) -> Response<Body> {
    text_response(open.to_text())
}

/// A long-poll GET: waits for packets (the heartbeat guarantees one within
/// `ping_interval`) and answers with as many as fit in `max_payload`,
/// compressed with `encoding` when the payload reaches the threshold.
pub(crate) async fn receive(
    session: Arc<Session>,
    encoding: Option<Encoding>,
) -> Result<Response<Body>, Rejection> {
    let receiver = session.attach(Transport::Polling).map_err(rejection_for)?;
    let packets = match receiver.next(session.config().max_payload).await {
        Delivery::Packets(packets) => packets,
        Delivery::Released | Delivery::Empty => vec![Packet::Noop],
        Delivery::Closed => vec![Packet::Close(None)],
    };
    let mut body = String::new();
    encode_payload(&packets, &mut body);
    // The payload is built: from here on the response holds the bytes.
    receiver.delivered(Held::of(&packets));
    drop(receiver);
    let threshold = session.config().compression_threshold;
    match encoding.filter(|_| body.len() >= threshold) {
        Some(encoding) => {
            let mut response = text_response(compression::compress(encoding, body.as_bytes()));
            compression::mark(response.headers_mut(), encoding);
            Ok(response)
        }
        None => Ok(text_response(body)),
    }
}

/// A POST: reads the payload (bounded in size and time), hands each packet
/// to the session as it is decoded, answers `ok`. A client that breaks the
/// protocol loses its own session and nobody else's.
pub(crate) async fn send(session: Arc<Session>, body: Body) -> Result<Response<Body>, Rejection> {
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
    let packets = match payload_packets(&bytes, limit) {
        Ok(packets) => packets,
        Err(error) => return fail(TransportError::BadPacket, BodyRejection::Decode(error)),
    };
    // Each packet is decoded only when the one before has been handed
    // over: what waits for the application is bounded by its inbound
    // budget, not by how many packets the body holds.
    let delivery = async {
        let inlet = session.inlet();
        for packet in packets {
            let packet = packet.map_err(BodyRejection::Decode)?;
            session
                .handle_packet(&inlet, packet)
                .await
                .map_err(|_| BodyRejection::UnexpectedPacket)?;
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
