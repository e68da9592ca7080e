//! The HTTP side of SockJS answers: headers every transport shares (CORS,
//! caching, the `JSESSIONID` cookie), preflights, and the one place SockJS
//! errors become responses.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};

use crate::protocol::sockjs::http_date;

/// `Cache-Control` of everything that must never be cached.
pub(crate) const NO_CACHE: HeaderValue =
    HeaderValue::from_static("no-store, no-cache, no-transform, must-revalidate, max-age=0");
/// `Cache-Control` of what may be cached for a year.
const CACHE_YEAR: HeaderValue = HeaderValue::from_static("public, max-age=31536000");
const YEAR: Duration = Duration::from_secs(31_536_000);

pub(crate) const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=UTF-8");
pub(crate) const JAVASCRIPT: HeaderValue =
    HeaderValue::from_static("application/javascript; charset=UTF-8");
pub(crate) const JSON: HeaderValue = HeaderValue::from_static("application/json; charset=UTF-8");
pub(crate) const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=UTF-8");
pub(crate) const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");

/// Why a SockJS request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SockJsError {
    /// No such URL, or no such session for a send (404).
    NotFound,
    /// The URL exists but not for this method (405, with `Allow`).
    MethodNotAllowed(&'static str),
    /// The body was empty (500 "Payload expected.", as sockjs-node).
    PayloadExpected,
    /// The body was not a JSON array of strings (500).
    BrokenJson,
    /// No `c` query parameter on a JSONP or htmlfile request (500).
    CallbackRequired,
    /// A `c` parameter outside `[A-Za-z0-9_.-]` (500).
    InvalidCallback,
    /// A body over `max_payload` (413); the session is closed.
    PayloadTooLarge,
    /// A body too slow to arrive, or an application too slow to take it.
    BodyTimeout,
    /// A WebSocket request that is not a valid handshake (400).
    BadWebSocket(&'static str),
    /// The origin is not allowed, or the handshake hook refused (403).
    Forbidden,
    /// Too many sessions, or shutting down (503).
    Unavailable,
}

impl SockJsError {
    fn parts(self) -> (StatusCode, &'static str) {
        match self {
            Self::NotFound => (StatusCode::NOT_FOUND, "Not found.\n"),
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, ""),
            Self::PayloadExpected => (StatusCode::INTERNAL_SERVER_ERROR, "Payload expected."),
            Self::BrokenJson => (StatusCode::INTERNAL_SERVER_ERROR, "Broken JSON encoding."),
            Self::CallbackRequired => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "\"callback\" parameter required",
            ),
            Self::InvalidCallback => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "invalid \"callback\" parameter",
            ),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Payload too large."),
            Self::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, "Request body too slow."),
            Self::BadWebSocket(detail) => (StatusCode::BAD_REQUEST, detail),
            Self::Forbidden => (StatusCode::FORBIDDEN, "Forbidden."),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Unavailable."),
        }
    }

    /// The error response: plain text, never cached; 405 has no body and
    /// no content type, only `Allow`.
    pub(crate) fn into_response(self) -> Response<Body> {
        let (status, text) = self.parts();
        tracing::debug!(%status, text, "sockjs request refused");
        let mut response = Response::new(Body::from(text));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        if let Self::MethodNotAllowed(allow) = self {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        } else {
            headers.insert(header::CONTENT_TYPE, TEXT_PLAIN);
        }
        headers.insert(header::CACHE_CONTROL, NO_CACHE);
        response
    }
}

/// A `200` response with `body`, of `content_type`, never cached.
pub(crate) fn uncached(content_type: HeaderValue, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CACHE_CONTROL, NO_CACHE);
    response
}

/// Marks `response` cacheable for a year.
pub(crate) fn cache_for_a_year(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, CACHE_YEAR);
    let expires = SystemTime::now()
        .checked_add(YEAR)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    if let Ok(value) = HeaderValue::from_str(&http_date(expires)) {
        headers.insert(header::EXPIRES, value);
    }
}

/// The CORS headers of an answer: the allowed `Origin` reflected with
/// credentials (sockjs-client's XHRs carry cookies), or `*` without one.
pub(crate) fn add_cors(headers: &mut HeaderMap, origin: Option<HeaderValue>) {
    match origin {
        Some(origin) => {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            headers.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        None => {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
    }
}

/// The answer to a preflight: cacheable for a year, the methods of the
/// URL, and the requested headers echoed when there were some.
pub(crate) fn preflight(request: &HeaderMap, methods: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    cache_for_a_year(headers);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("31536000"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    let requested = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|value| !value.is_empty() && value.len() <= 1024)
        .cloned();
    if let Some(value) = requested {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
    }
    response
}

/// The `JSESSIONID` cookie for sticky load balancing: the client's own
/// value when it is a plain token, else `dummy`, as sockjs-node sends.
pub(crate) fn add_jsessionid(request: &HeaderMap, headers: &mut HeaderMap) {
    let existing = request
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix("JSESSIONID="))
        .find(|value| {
            !value.is_empty()
                && value.len() <= 128
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    let cookie = format!("JSESSIONID={}; path=/", existing.unwrap_or("dummy"));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsessionid_echoes_only_plain_tokens() {
        let cookie = |value: &str| {
            let mut request = HeaderMap::new();
            request.insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
            let mut out = HeaderMap::new();
            add_jsessionid(&request, &mut out);
            out[header::SET_COOKIE].to_str().unwrap().to_owned()
        };
        assert_eq!(
            cookie("a=b; JSESSIONID=abcdef"),
            "JSESSIONID=abcdef; path=/"
        );
        assert_eq!(
            cookie("JSESSIONID=x,Domain=evil"),
            "JSESSIONID=dummy; path=/"
        );
        assert_eq!(cookie("other=1"), "JSESSIONID=dummy; path=/");
    }

    #[test]
    fn errors_as_sockjs_node_answers() {
        let response = SockJsError::MethodNotAllowed("GET").into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET");
        assert!(response.headers().get(header::CONTENT_TYPE).is_none());
        let response = SockJsError::BrokenJson.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
