//! The one place where request errors become HTTP responses.
//!
//! Engine.IO answers a bad request with a JSON body
//! `{"code":N,"message":"..."}`; Polysock adds a `detail` string saying
//! which rule the request broke. Stock clients read only the status.

use axum::body::Body;
use http::{header, Response, StatusCode};
use serde::Serialize;

/// Why a request to the Engine.IO endpoint was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestError {
    /// Code 0: `transport` missing, unknown or switched off.
    UnknownTransport,
    /// Code 1: no open session has this `sid`.
    UnknownSid,
    /// Code 2: a handshake that is not a GET.
    BadHandshakeMethod,
    /// Code 3: anything else the client got wrong.
    BadRequest(&'static str),
    /// Code 4: the application's handshake hook refused.
    Forbidden,
    /// Code 5: `EIO` missing or not 4.
    UnsupportedVersion,
    /// A POST body over `max_payload` (413).
    PayloadTooLarge,
    /// A POST body that did not arrive within the body timeout (408).
    BodyTimeout,
    /// The session table is full (503).
    TooManySessions,
    /// The server is shutting down (503).
    ShuttingDown,
    /// Code 4: the request's `Origin` is not allowed (403).
    OriginRefused,
}

#[derive(Serialize)]
struct ErrorBody {
    code: u8,
    message: &'static str,
    detail: &'static str,
}

impl RequestError {
    fn parts(self) -> (StatusCode, u8, &'static str, &'static str) {
        use RequestError::*;
        const BAD: &str = "Bad request";
        match self {
            UnknownTransport => (
                StatusCode::BAD_REQUEST,
                0,
                "Transport unknown",
                "unknown or disabled transport",
            ),
            UnknownSid => (
                StatusCode::BAD_REQUEST,
                1,
                "Session ID unknown",
                "no open session has this sid",
            ),
            BadHandshakeMethod => (
                StatusCode::BAD_REQUEST,
                2,
                "Bad handshake method",
                "a handshake must be a GET",
            ),
            BadRequest(detail) => (StatusCode::BAD_REQUEST, 3, BAD, detail),
            Forbidden => (
                StatusCode::FORBIDDEN,
                4,
                "Forbidden",
                "the handshake was refused",
            ),
            UnsupportedVersion => (
                StatusCode::BAD_REQUEST,
                5,
                "Unsupported protocol version",
                "EIO must be 4",
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                3,
                BAD,
                "payload larger than maxPayload",
            ),
            BodyTimeout => (StatusCode::REQUEST_TIMEOUT, 3, BAD, "request body too slow"),
            TooManySessions => (StatusCode::SERVICE_UNAVAILABLE, 3, BAD, "too many sessions"),
            OriginRefused => (StatusCode::FORBIDDEN, 4, "Forbidden", "origin not allowed"),
            ShuttingDown => (
                StatusCode::SERVICE_UNAVAILABLE,
                3,
                BAD,
                "server shutting down",
            ),
        }
    }

    /// The HTTP status this error is answered with.
    #[cfg(test)]
    pub(crate) fn status(self) -> StatusCode {
        self.parts().0
    }

    /// The error response.
    pub(crate) fn into_response(self) -> Response<Body> {
        let (status, code, message, detail) = self.parts();
        let body = serde_json::to_string(&ErrorBody {
            code,
            message,
            detail,
        })
        .unwrap_or_default();
        tracing::debug!(%status, code, detail, "request refused");
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "no-store")
            .body(Body::from(body))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_engine_io() {
        assert_eq!(RequestError::UnknownTransport.parts().1, 0);
        assert_eq!(RequestError::UnknownSid.parts().1, 1);
        assert_eq!(RequestError::BadHandshakeMethod.parts().1, 2);
        assert_eq!(RequestError::BadRequest("x").parts().1, 3);
        assert_eq!(RequestError::Forbidden.status(), StatusCode::FORBIDDEN);
        assert_eq!(RequestError::UnsupportedVersion.parts().1, 5);
        assert_eq!(
            RequestError::PayloadTooLarge.status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
