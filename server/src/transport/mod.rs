//! The four transports: IO adapters between HTTP and a session.
//!
//! Each one attaches to a [`Session`](crate::session::Session) as its
//! receiver, drains the outbound queue into its own framing, and hands the
//! packets it reads to the session. They take and return `http` types, so
//! they run without a router.

pub(crate) mod polling;
pub(crate) mod streaming;
pub(crate) mod websocket;

use axum::body::Body;
use http::{header, HeaderValue, Response};

use crate::error::RequestError;
use crate::session::AttachError;

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

impl From<AttachError> for RequestError {
    fn from(error: AttachError) -> Self {
        match error {
            AttachError::Overlap => {
                RequestError::BadRequest("another request is already receiving for this session")
            }
            AttachError::Closed => RequestError::UnknownSid,
            AttachError::WrongTransport => {
                RequestError::BadRequest("the session is on another transport")
            }
        }
    }
}
