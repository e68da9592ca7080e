//! `transport=polling`: a long-poll GET carries packets down, a POST
//! carries a payload up and is answered `ok`.

use std::sync::Arc;

use axum::body::Body;
use http::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::time::timeout;

use crate::error::RequestError;
use crate::protocol::{decode_payload, encode_payload, DecodeError, Packet};
use crate::session::{Delivery, Phase, Session};
use crate::socket::{CloseReason, TransportError};
use crate::Transport;

use super::text_response;

/// The handshake's answer: the open packet alone.
pub(crate) fn open_response(open: &Packet) -> Response<Body> {
    text_response(open.to_text())
}

/// A long-poll GET: waits for packets (the heartbeat guarantees one within
/// `ping_interval`) and answers with as many as fit in `max_payload`.
pub(crate) async fn receive(session: Arc<Session>) -> Result<Response<Body>, RequestError> {
    let guard = session.attach_receiver(Transport::Polling)?;
    let packets = match guard.next(session.config().max_payload).await {
        Delivery::Packets(packets) => packets,
        Delivery::Released => vec![Packet::Noop],
        Delivery::Closed => vec![Packet::Close(None)],
    };
    drop(guard);
    let mut body = String::new();
    encode_payload(&packets, &mut body);
    Ok(text_response(body))
}

/// A POST: reads the payload (bounded in size and time), hands each packet
/// to the session, answers `ok`. A client that breaks the protocol loses
/// its own session and nobody else's.
pub(crate) async fn send(
    session: Arc<Session>,
    body: Body,
) -> Result<Response<Body>, RequestError> {
    if session.transport() == Transport::WebSocket {
        return Err(RequestError::BadRequest(
            "the session is on another transport",
        ));
    }
    if session.phase() == Phase::Closed {
        return Err(RequestError::UnknownSid);
    }
    let _post = session
        .begin_post()
        .ok_or(RequestError::BadRequest("overlapping POST requests"))?;
    let config = session.config();
    let limit = config.max_payload;
    if announced_length(&body).is_some_and(|length| length > limit as u64) {
        session.close_now(CloseReason::TransportError(TransportError::TooLarge));
        return Err(RequestError::PayloadTooLarge);
    }
    let bytes = match timeout(config.body_timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            session.close_now(CloseReason::TransportError(TransportError::TooLarge));
            return Err(RequestError::PayloadTooLarge);
        }
        Ok(Err(_)) => return Err(RequestError::BadRequest("request body could not be read")),
        Err(_) => {
            session.close_now(CloseReason::TransportError(TransportError::Stalled));
            return Err(RequestError::BodyTimeout);
        }
    };
    let packets = decode_payload(&bytes, limit).map_err(|error| {
        session.close_now(CloseReason::TransportError(TransportError::BadPacket));
        RequestError::BadRequest(decode_error_detail(&error))
    })?;
    let delivery = async {
        let inlet = session.inlet();
        for packet in packets {
            session.handle_packet(&inlet, packet).await?;
        }
        Ok::<(), crate::session::UnexpectedPacket>(())
    };
    match timeout(config.body_timeout, delivery).await {
        Ok(Ok(())) => Ok(text_response("ok")),
        Ok(Err(_unexpected)) => {
            session.close_now(CloseReason::TransportError(TransportError::BadPacket));
            Err(RequestError::BadRequest(
                "packet type not allowed from a client",
            ))
        }
        Err(_) => {
            session.close_now(CloseReason::TransportError(TransportError::Stalled));
            Err(RequestError::BodyTimeout)
        }
    }
}

/// The body length the request announced (`Content-Length`), if any.
fn announced_length(body: &Body) -> Option<u64> {
    http_body::Body::size_hint(body).exact()
}

/// The `detail` of the error answering a payload that did not decode.
pub(crate) fn decode_error_detail(error: &DecodeError) -> &'static str {
    match error {
        DecodeError::EmptyPayload => "empty payload",
        DecodeError::EmptyPacket => "empty packet in payload",
        DecodeError::UnknownPacketType(_) => "unknown packet type",
        DecodeError::InvalidBase64 => "invalid base64 in binary packet",
        DecodeError::InvalidUtf8 => "payload is not valid UTF-8",
        DecodeError::InvalidCloseBody => "invalid close packet body",
        DecodeError::TooLarge { .. } => "payload larger than maxPayload",
    }
}
