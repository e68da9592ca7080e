//! The four transports: IO adapters between HTTP and a session.
//!
//! Each one attaches to a [`Session`](crate::session::Session) as its
//! receiver, drains the outbound queue into its own framing, reports what
//! it handed to the network, and hands the packets it reads to the
//! session. They take and return `http` types, so they run without a
//! router; their refusals are typed [`Rejection`]s that the service turns
//! into responses.

pub(crate) mod compression;
pub(crate) mod polling;
pub(crate) mod streaming;
pub(crate) mod websocket;

use axum::body::Body;
use http::{header, HeaderValue, Response};

use crate::rejection::{AttachRejection, BodyRejection, Rejection, ResumeRejection};
use crate::session::Refusal;

/// `Cache-Control` for every transport response: never store, never
/// transform (a transforming proxy may buffer to recompress).
pub(crate) const NO_STORE: HeaderValue =
    HeaderValue::from_static("no-store, no-cache, no-transform");

const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=UTF-8");

/// A `200` text response (polling payloads, `ok`).
pub(crate) fn text_response(body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, TEXT_PLAIN);
    headers.insert(header::CACHE_CONTROL, NO_STORE);
    response
}

/// What a request is told when the session refuses it.
pub(crate) fn rejection_for(refusal: Refusal) -> Rejection {
    match refusal {
        Refusal::SecondReceiver => AttachRejection::SecondReceiver.into(),
        Refusal::WrongTransport(_) | Refusal::AlreadyUpgraded | Refusal::UpgradeInProgress => {
            AttachRejection::WrongTransport.into()
        }
        Refusal::PostInFlight => BodyRejection::Overlapping.into(),
        Refusal::BadAck => AttachRejection::BadAck.into(),
        Refusal::LedgerFull => AttachRejection::StreamNotAcknowledged.into(),
        Refusal::AckOutOfRange => AttachRejection::AckOutOfRange.into(),
        Refusal::SeqOutOfRange => BodyRejection::SeqOutOfRange.into(),
        Refusal::Suspended => AttachRejection::Suspended.into(),
        Refusal::NotResumable => ResumeRejection::NotEnabled.into(),
        Refusal::ResumeOutOfRange => ResumeRejection::OutOfRange.into(),
        Refusal::ResumeOverflow => ResumeRejection::Overflow.into(),
        // A session that is over is, to the client, a session unknown.
        Refusal::Closed(_)
        | Refusal::Full(_)
        | Refusal::SharedFull
        | Refusal::NotUpgrading
        | Refusal::NotClosing => AttachRejection::UnknownSid.into(),
    }
}
