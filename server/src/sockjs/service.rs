//! [`SockJsService`]: routes a request under the SockJS prefix to the
//! greeting, `/info`, the iframe page, a WebSocket, a receiving transport
//! or a send URL, and answers the two send URLs itself.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use futures_util::future::BoxFuture;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::time::timeout;

use super::http::{self as h, SockJsError};
use super::seam::Endpoint;
use super::{receive, websocket, SockJsTransport};
use crate::close::TransportError;
use crate::protocol::sockjs::{
    iframe_etag, iframe_page, info_body, is_valid_callback, jsonp_send_messages, parse_messages,
    query_value, route, BodyError, Route, SessionTransport, Wrap, GREETING,
};
use crate::protocol::Message;

/// A SockJS endpoint as a tower service; see [`SockJs::service`](crate::SockJs::service).
#[derive(Clone)]
pub struct SockJsService {
    endpoint: Arc<Endpoint>,
    iframe: Arc<(String, HeaderValue)>,
    prefix: Option<Arc<str>>,
}

impl SockJsService {
    pub(crate) fn new(endpoint: Arc<Endpoint>) -> Self {
        let page = iframe_page(&endpoint.options.sockjs_url);
        let etag =
            HeaderValue::from_str(&iframe_etag(&page)).unwrap_or(HeaderValue::from_static("\"0\""));
        Self {
            endpoint,
            iframe: Arc::new((page, etag)),
            prefix: None,
        }
    }

    /// The service for mounting with `Router::route_service` at `prefix`
    /// and `prefix/{*rest}`: it strips `prefix` itself and sees the rest
    /// of the path exactly as sent. (`nest_service` strips it too, but
    /// also turns `prefix//` into `prefix/`, which the protocol wants
    /// answered 404.)
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.prefix = Some(prefix.trim_end_matches('/').into());
        self
    }
}

impl std::fmt::Debug for SockJsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SockJsService").finish_non_exhaustive()
    }
}

impl tower_service::Service<Request<Body>> for SockJsService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let service = self.clone();
        Box::pin(async move {
            Ok(service
                .handle(request)
                .await
                .unwrap_or_else(SockJsError::into_response))
        })
    }
}

impl SockJsService {
    async fn handle(&self, request: Request<Body>) -> Result<Response<Body>, SockJsError> {
        let full = request.uri().path();
        let path = match &self.prefix {
            Some(prefix) => full
                .strip_prefix(&**prefix)
                .ok_or(SockJsError::NotFound)?
                .to_owned(),
            None => full.to_owned(),
        };
        let method = request.method().clone();
        let endpoint = &self.endpoint;
        let (session, transport) = match route(&path) {
            Route::Greeting => {
                return match method {
                    Method::GET | Method::HEAD => Ok(greeting()),
                    _ => Err(SockJsError::MethodNotAllowed("GET")),
                }
            }
            Route::Info => return self.info(&request),
            Route::Iframe => return self.iframe(&request),
            Route::RawWebSocket if endpoint.options.websocket => {
                check_origin(endpoint, &request)?;
                return websocket::raw(endpoint, request).await;
            }
            Route::Session {
                session, transport, ..
            } => (session.to_owned(), transport),
            Route::RawWebSocket | Route::NotFound => return Err(SockJsError::NotFound),
        };
        if transport == SessionTransport::WebSocket {
            if !endpoint.options.websocket {
                return Err(SockJsError::NotFound);
            }
            check_origin(endpoint, &request)?;
            return websocket::sockjs(endpoint, request).await;
        }
        let origin = check_origin(endpoint, &request)?;
        let request_headers = request.headers().clone();
        // Errors too carry the CORS headers, so a cross-origin client can
        // read their status.
        let mut response = self
            .session_request(request, &session, transport, &method)
            .await
            .unwrap_or_else(SockJsError::into_response);
        let headers = response.headers_mut();
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        h::add_cors(headers, origin);
        if endpoint.options.jsessionid {
            h::add_jsessionid(&request_headers, headers);
        }
        Ok(response)
    }

    async fn session_request(
        &self,
        request: Request<Body>,
        session: &str,
        transport: SessionTransport,
        method: &Method,
    ) -> Result<Response<Body>, SockJsError> {
        use SessionTransport as T;
        let endpoint = &self.endpoint;
        let allowed = match transport {
            T::Xhr | T::XhrStreaming | T::XhrSend => "OPTIONS, POST",
            T::JsonpSend => "POST",
            _ => "GET",
        };
        let expected = if allowed.ends_with("POST") {
            Method::POST
        } else {
            Method::GET
        };
        if method == Method::OPTIONS && allowed.starts_with("OPTIONS") {
            return Ok(h::preflight(request.headers(), allowed));
        }
        if method != expected {
            return Err(SockJsError::MethodNotAllowed(allowed));
        }
        let callback = match transport {
            T::Htmlfile | T::Jsonp => {
                let callback = query_value(request.uri().query(), "c")
                    .filter(|c| !c.is_empty())
                    .ok_or(SockJsError::CallbackRequired)?;
                if !is_valid_callback(&callback) {
                    return Err(SockJsError::InvalidCallback);
                }
                callback
            }
            _ => String::new(),
        };
        let (parts, body) = request.into_parts();
        match transport {
            T::XhrSend | T::JsonpSend => self.send(parts, body, session, transport).await,
            T::Xhr => {
                receive::poll(
                    endpoint,
                    parts,
                    session,
                    Wrap::Xhr,
                    SockJsTransport::XhrPolling,
                )
                .await
            }
            T::Jsonp => {
                receive::poll(
                    endpoint,
                    parts,
                    session,
                    Wrap::Jsonp(callback),
                    SockJsTransport::JsonpPolling,
                )
                .await
            }
            T::XhrStreaming => {
                receive::stream(endpoint, parts, session, transport, &callback).await
            }
            T::EventSource => receive::stream(endpoint, parts, session, transport, &callback).await,
            T::Htmlfile => receive::stream(endpoint, parts, session, transport, &callback).await,
            T::WebSocket => Err(SockJsError::NotFound),
        }
    }

    /// `xhr_send` and `jsonp_send`: the messages of the body, in order, to
    /// the session. Bad JSON is refused and the session stays open, as
    /// sockjs-node does; an oversized body closes it.
    async fn send(
        &self,
        parts: http::request::Parts,
        body: Body,
        id: &str,
        transport: SessionTransport,
    ) -> Result<Response<Body>, SockJsError> {
        let endpoint = &self.endpoint;
        let session = endpoint
            .get(id)
            .filter(|s| s.is_open())
            .ok_or(SockJsError::NotFound)?;
        let limit = endpoint.max_payload();
        let collected = timeout(endpoint.body_timeout(), Limited::new(body, limit).collect()).await;
        let bytes = match collected {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(error)) if error.is::<LengthLimitError>() => {
                session.fail(TransportError::TooLarge);
                return Err(SockJsError::PayloadTooLarge);
            }
            Ok(Err(_)) => return Err(SockJsError::BrokenJson),
            Err(_) => return Err(SockJsError::BodyTimeout),
        };
        let parsed = if transport == SessionTransport::JsonpSend {
            let form = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            jsonp_send_messages(&bytes, form)
        } else {
            std::str::from_utf8(&bytes)
                .map_err(|_| BodyError::BrokenJson)
                .and_then(parse_messages)
        };
        let messages = parsed.map_err(|error| match error {
            BodyError::PayloadExpected => SockJsError::PayloadExpected,
            BodyError::BrokenJson => SockJsError::BrokenJson,
        })?;
        let messages = messages.into_iter().map(Message::Text).collect();
        if !session.deliver(messages, endpoint.body_timeout()).await {
            return Err(SockJsError::BodyTimeout);
        }
        Ok(if transport == SessionTransport::JsonpSend {
            h::uncached(h::TEXT_PLAIN, "ok")
        } else {
            let mut response = h::uncached(h::TEXT_PLAIN, Body::empty());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        })
    }

    fn info(&self, request: &Request<Body>) -> Result<Response<Body>, SockJsError> {
        let endpoint = &self.endpoint;
        let origin = check_origin(endpoint, request)?;
        let mut response = match *request.method() {
            Method::OPTIONS => h::preflight(request.headers(), "OPTIONS, GET"),
            Method::GET => {
                let entropy = uuid::Uuid::new_v4().as_u128() as u32;
                let body = info_body(
                    endpoint.options.websocket,
                    endpoint.options.jsessionid,
                    entropy,
                );
                h::uncached(h::JSON, body)
            }
            _ => return Err(SockJsError::MethodNotAllowed("OPTIONS, GET")),
        };
        h::add_cors(response.headers_mut(), origin);
        Ok(response)
    }

    fn iframe(&self, request: &Request<Body>) -> Result<Response<Body>, SockJsError> {
        if request.method() != Method::GET {
            return Err(SockJsError::MethodNotAllowed("GET"));
        }
        let (page, etag) = &*self.iframe;
        let fresh = request
            .headers()
            .get(header::IF_NONE_MATCH)
            .is_some_and(|tag| tag == etag);
        let mut response = if fresh {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            response
        } else {
            let mut response = Response::new(Body::from(page.clone()));
            response.headers_mut().insert(header::CONTENT_TYPE, h::HTML);
            response
        };
        let headers = response.headers_mut();
        h::cache_for_a_year(headers);
        headers.insert(header::ETAG, etag.clone());
        Ok(response)
    }
}

fn greeting() -> Response<Body> {
    let mut response = Response::new(Body::from(GREETING));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, h::TEXT_PLAIN);
    response
}

/// The server's origin policy: `Err` (403) when refused, else the origin
/// to reflect in CORS headers, if the request named one.
fn check_origin(
    endpoint: &Endpoint,
    request: &Request<Body>,
) -> Result<Option<HeaderValue>, SockJsError> {
    endpoint
        .check_origin(request.uri(), request.headers())
        .map_err(|()| SockJsError::Forbidden)
}
