//! Serves the bundled browser client at `<mount>/polysock.js`, with an ETag
//! so browsers revalidate it cheaply (`304 Not Modified`).

use axum::body::Body;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};

/// The path suffix the client is served under.
pub(crate) const FILE_NAME: &str = "/polysock.js";

/// The minified client, embedded at build time.
pub const CLIENT_SCRIPT: &str = include_str!(concat!(env!("OUT_DIR"), "/polysock.js"));

const ETAG: &str = include_str!(concat!(env!("OUT_DIR"), "/polysock.js.etag"));

pub(crate) fn serve(request_headers: &HeaderMap) -> Response<Body> {
    if CLIENT_SCRIPT.is_empty() {
        let mut response = Response::new(Body::from(
            "the client was not built (server/assets/polysock.min.js is missing)",
        ));
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        return response;
    }
    let etag = HeaderValue::from_static(ETAG);
    let fresh = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == ETAG || tag.trim() == "*");
    let mut response = if fresh {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(Body::from(CLIENT_SCRIPT));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/javascript; charset=utf-8"),
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
