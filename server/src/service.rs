//! [`PolysockService`]: the tower service behind the endpoint. It reads the
//! request, picks the transport and hands over; the only module besides
//! [`server`](crate::server) that knows about routing.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};

use crate::client_script;
use crate::error::RequestError;
use crate::origin::{self, Verdict};
use crate::protocol::{OpenData, Packet};
use crate::query::Query;
use crate::server::Inner;
use crate::session::{Session, SessionParams};
use crate::socket::RequestInfo;
use crate::transport::streaming::Start;
use crate::transport::websocket::{self, PendingUpgrade};
use crate::transport::{polling, streaming};
use crate::{Accept, Handshake, Socket, Transport};

/// The Polysock endpoint as a tower service; see [`Polysock::service`](crate::Polysock::service).
#[derive(Clone)]
pub struct PolysockService {
    inner: Arc<Inner>,
}

impl PolysockService {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self { inner }
    }
}

impl tower_service::Service<Request<Body>> for PolysockService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move { Ok(route(inner, request).await) })
    }
}

async fn route(inner: Arc<Inner>, request: Request<Body>) -> Response<Body> {
    let path = request.uri().path();
    if path.ends_with(client_script::FILE_NAME) {
        return client_script::serve(request.headers());
    }
    if !(path.is_empty() || path == "/") {
        return not_found();
    }
    let verdict = match inner.config.origins.check(request.headers()) {
        Ok(verdict) => verdict,
        Err(error) => return error.into_response(),
    };
    let mut response = if request.method() == Method::OPTIONS {
        origin::preflight(request.headers())
    } else {
        handle(inner.clone(), request)
            .await
            .unwrap_or_else(RequestError::into_response)
    };
    if let Verdict::CrossOrigin(origin) = verdict {
        origin::add_cors_headers(&mut response, origin, inner.config.cors_credentials);
    }
    response
}

fn not_found() -> Response<Body> {
    let mut response = Response::new(Body::from("not found"));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

async fn handle(
    inner: Arc<Inner>,
    mut request: Request<Body>,
) -> Result<Response<Body>, RequestError> {
    let query = Query::parse(request.uri().query())?;
    if query.eio.as_deref() != Some("4") {
        return Err(RequestError::UnsupportedVersion);
    }
    let transport = query
        .transport
        .as_deref()
        .and_then(Transport::from_name)
        .filter(|t| inner.config.transports.contains(*t))
        .ok_or(RequestError::UnknownTransport)?;
    let upgrade = match transport {
        Transport::WebSocket => Some(websocket::check_upgrade(&mut request)?),
        _ if websocket::is_upgrade_request(request.headers()) => {
            return Err(RequestError::BadRequest(
                "WebSocket handshake on a non-websocket transport",
            ));
        }
        _ => None,
    };
    let Some(sid) = query.sid.as_deref() else {
        if request.method() != Method::GET {
            return Err(RequestError::BadHandshakeMethod);
        }
        return handshake(&inner, request, transport, query, upgrade).await;
    };
    let session = inner.registry.get(sid).ok_or(RequestError::UnknownSid)?;
    // A SockJS session (issue 17) shares the registry but not the wire: to
    // Engine.IO requests its id is unknown.
    if matches!(session.transport(), Transport::SockJs(_)) {
        return Err(RequestError::UnknownSid);
    }
    match (transport, request.method().clone(), upgrade) {
        (Transport::WebSocket, _, Some(upgrade)) => websocket::upgrade(upgrade, session),
        (Transport::Polling, Method::GET, _) => polling::receive(session).await,
        (t, Method::GET, _) if t.is_streaming() => {
            if !session.ext() {
                return Err(RequestError::BadRequest(
                    "streaming needs a session opened with ext=1",
                ));
            }
            let guard = session.attach_receiver(t)?;
            streaming::respond(guard, t, query.callback, Start::Resume(query.ack))
        }
        (_, Method::POST, _) => polling::send(session, request.into_body()).await,
        _ => Err(RequestError::BadRequest(
            "method not allowed for this transport",
        )),
    }
}

/// Opens a new session: the hook, the session, the application's task, and
/// the open packet on the transport the client came on.
async fn handshake(
    inner: &Arc<Inner>,
    request: Request<Body>,
    transport: Transport,
    query: Query,
    upgrade: Option<PendingUpgrade>,
) -> Result<Response<Body>, RequestError> {
    if inner.shutting_down.load(Ordering::SeqCst) {
        return Err(RequestError::ShuttingDown);
    }
    if transport.is_streaming() && !query.ext {
        // To a client that did not ask for the extensions, they do not exist.
        return Err(RequestError::UnknownTransport);
    }
    let reservation = inner
        .registry
        .reserve()
        .map_err(|_| RequestError::TooManySessions)?;
    let (parts, _body) = request.into_parts();
    let remote_addr = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let mut requested = if query.ext {
        query.protocols
    } else {
        Vec::new()
    };
    if let Some(header_protocols) = upgrade.as_ref().and_then(|u| u.header_protocols.clone()) {
        requested.extend(header_protocols);
    }
    let handshake = Handshake {
        uri: parts.uri,
        headers: parts.headers,
        remote_addr,
        transport,
        protocols: requested,
    };
    let accept = match &inner.on_handshake {
        Some(hook) => hook(handshake.clone()).await.map_err(|refusal| {
            tracing::debug!(
                reason = refusal.reason(),
                "handshake refused by the application"
            );
            RequestError::Forbidden
        })?,
        None => Accept::new(),
    };
    let protocol = accept.protocol.or_else(|| {
        inner
            .config
            .select_protocol(handshake.protocols.iter().map(String::as_str))
    });
    let new = Session::open(
        inner.config.clone(),
        SessionParams {
            transport,
            ext: query.ext,
            protocol,
            request: RequestInfo {
                uri: detached_uri(handshake.uri),
                headers: detached_headers(handshake.headers),
                remote_addr,
                extensions: accept.extensions,
            },
        },
    );
    let session = new.session;
    let open = Packet::Open(open_data(inner, &session, transport).to_json());
    // Attach the receiver before anyone else can see the session.
    let guard = match transport {
        Transport::Polling => None,
        _ => Some(session.attach_receiver(transport)?),
    };
    reservation.insert(session.clone());
    crate::session::spawn_driver(session.clone(), inner.registry.clone());
    let socket = Socket::new(session.clone(), new.inbound);
    tokio::spawn((inner.on_connect)(socket));
    match (guard, upgrade) {
        (Some(guard), Some(upgrade)) => Ok(websocket::open(upgrade, guard, open)),
        (Some(guard), None) => {
            streaming::respond(guard, transport, query.callback, Start::Open(open))
        }
        (None, _) => Ok(polling::open_response(&open)),
    }
}

/// A copy of `uri` in its own allocation. hyper parses the URI and header
/// values as slices of the connection's read buffer (8 KiB or more), so
/// keeping them for a session's life would keep that whole buffer alive
/// for every idle socket.
fn detached_uri(uri: Uri) -> Uri {
    Uri::from_maybe_shared(Bytes::from(uri.to_string())).unwrap_or(uri)
}

/// A copy of `headers` whose values own their bytes (see [`detached_uri`]).
fn detached_headers(headers: HeaderMap) -> HeaderMap {
    let mut owned = HeaderMap::with_capacity(headers.len());
    for (name, value) in &headers {
        let mut copy = HeaderValue::from_maybe_shared(Bytes::copy_from_slice(value.as_bytes()))
            .unwrap_or_else(|_| value.clone());
        copy.set_sensitive(value.is_sensitive());
        owned.append(name.clone(), copy);
    }
    owned
}

fn open_data(inner: &Inner, session: &Session, transport: Transport) -> OpenData {
    let config = &inner.config;
    let websocket_on = config.transports.contains(Transport::WebSocket);
    let upgrades = if transport != Transport::WebSocket && websocket_on {
        vec![Transport::WebSocket.as_str()]
    } else {
        vec![]
    };
    OpenData {
        sid: session.id().to_owned(),
        upgrades,
        ping_interval: config.ping_interval.as_millis() as u64,
        ping_timeout: config.ping_timeout.as_millis() as u64,
        max_payload: config.max_payload,
        ext: session.ext().then_some(1),
        protocol: session
            .ext()
            .then(|| session.protocol().unwrap_or_default().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `inner` points into `outer`'s bytes.
    fn shares(outer: &Bytes, inner: &[u8]) -> bool {
        let range = outer.as_ptr_range();
        range.contains(&inner.as_ptr())
    }

    #[test]
    fn session_request_info_does_not_pin_the_read_buffer() {
        let buffer =
            Bytes::from(b"/engine.io/?EIO=4&transport=websocket token=abc; theme=dark".to_vec());
        let uri = Uri::from_maybe_shared(buffer.slice(..37)).unwrap();
        let mut headers = HeaderMap::new();
        let mut cookie = HeaderValue::from_maybe_shared(buffer.slice(38..)).unwrap();
        cookie.set_sensitive(true);
        headers.insert(http::header::COOKIE, cookie);
        assert!(shares(&buffer, headers[http::header::COOKIE].as_bytes()));

        let headers = detached_headers(headers);
        let uri = detached_uri(uri);
        let cookie = &headers[http::header::COOKIE];
        assert_eq!(cookie, "token=abc; theme=dark");
        assert!(cookie.is_sensitive());
        assert!(!shares(&buffer, cookie.as_bytes()));
        assert_eq!(uri, "/engine.io/?EIO=4&transport=websocket");
        assert!(!shares(&buffer, uri.path().as_bytes()));
    }
}
