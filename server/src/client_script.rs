//! Serves the bundled browser client, with an ETag so browsers revalidate it
//! cheaply (`304 Not Modified`): `<mount>/polysock.js`, the script a page
//! loads (the socket and the websocket transport), and
//! `<mount>/polysock-http.js`, the HTTP transports, which that script loads
//! from the mount of its first socket that needs one (a browser with a
//! working WebSocket never fetches it; protocol-spec/client-api.md).

use axum::body::Body;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};

/// The path suffix the client is served under.
pub(crate) const FILE_NAME: &str = "/polysock.js";

/// The path suffix of the client's HTTP transports.
pub(crate) const HTTP_FILE_NAME: &str = "/polysock-http.js";

/// The minified client, embedded at build time: what `<mount>/polysock.js` serves.
pub const CLIENT_SCRIPT: &str = include_str!(concat!(env!("OUT_DIR"), "/polysock.js"));

/// The minified client's HTTP transports (polling, xhr-streaming, htmlfile),
/// embedded at build time: what `<mount>/polysock-http.js` serves. It works
/// only with the [`CLIENT_SCRIPT`] of the same build.
pub const CLIENT_HTTP_SCRIPT: &str = include_str!(concat!(env!("OUT_DIR"), "/polysock-http.js"));

const ETAG: &str = include_str!(concat!(env!("OUT_DIR"), "/polysock.js.etag"));
const HTTP_ETAG: &str = include_str!(concat!(env!("OUT_DIR"), "/polysock-http.js.etag"));

/// The script a request path names, if it names one.
pub(crate) fn for_path(path: &str) -> Option<(&'static str, &'static str)> {
    if path.ends_with(FILE_NAME) {
        Some((CLIENT_SCRIPT, ETAG))
    } else if path.ends_with(HTTP_FILE_NAME) {
        Some((CLIENT_HTTP_SCRIPT, HTTP_ETAG))
    } else {
        None
    }
}

pub(crate) fn serve(
    (script, etag): (&'static str, &'static str),
    request_headers: &HeaderMap,
) -> Response<Body> {
    if script.is_empty() {
        let mut response = Response::new(Body::from(
            "the client was not built (server/assets/ lacks it: run `node client-js/build.js`)",
        ));
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        return response;
    }
    let fresh = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*");
    let mut response = if fresh {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(Body::from(script));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/javascript; charset=utf-8"),
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, HeaderValue::from_static(etag));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
