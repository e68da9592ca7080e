//! [`PolysockService`]: the tower service behind the endpoint. It parses
//! the request, routes it to a transport or to the engine's handshake, and
//! maps every [`Rejection`] to its response; nothing else. The session
//! lifecycle lives in the [`engine`](crate::engine).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::ConnectInfo;
use futures_util::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};

use crate::client_script;
use crate::cluster::Cluster;
use crate::engine::{Engine, OpenRequest, Opened, ResumeRequest};
use crate::origin::{self, Verdict};
use crate::query::{Query, ResumeParam};
use crate::rejection::{
    AttachRejection, HandshakeRejection, QueryRejection, Rejection, UpgradeRejection,
};
use crate::transport::compression;
use crate::transport::websocket::{self, PendingUpgrade};
use crate::transport::{polling, streaming};
use crate::{Handshake, Transport};

/// The Polysock endpoint as a tower service; see [`Polysock::service`](crate::Polysock::service).
#[derive(Clone)]
pub struct PolysockService {
    engine: Arc<Engine>,
    cluster: Option<Arc<Cluster>>,
}

impl PolysockService {
    pub(crate) fn new(engine: Arc<Engine>, cluster: Option<Arc<Cluster>>) -> Self {
        Self { engine, cluster }
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
        let engine = self.engine.clone();
        let cluster = self.cluster.clone();
        Box::pin(async move {
            // Another node's session: that node answers (cluster/).
            let request = match &cluster {
                Some(cluster) => match cluster.intercept(engine.config(), request).await {
                    Ok(forwarded) => return Ok(forwarded),
                    Err(local) => local,
                },
                None => request,
            };
            Ok(route(engine, request).await)
        })
    }
}

async fn route(engine: Arc<Engine>, request: Request<Body>) -> Response<Body> {
    let path = request.uri().path();
    if let Some(script) = client_script::for_path(path) {
        return client_script::serve(script, request.headers());
    }
    if !(path.is_empty() || path == "/") {
        return not_found();
    }
    let verdict = match engine
        .config()
        .origins
        .check(request.uri(), request.headers())
    {
        Ok(verdict) => verdict,
        Err(rejection) => return rejection.into_response(),
    };
    let cors_credentials = engine.config().cors_credentials;
    let mut response = if request.method() == Method::OPTIONS {
        origin::preflight(request.headers())
    } else {
        handle(engine, request)
            .await
            .unwrap_or_else(Rejection::into_response)
    };
    if let Verdict::CrossOrigin(origin) = verdict {
        origin::add_cors_headers(&mut response, origin, cors_credentials);
    }
    response
}

fn not_found() -> Response<Body> {
    let mut response = Response::new(Body::from("not found"));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

async fn handle(
    engine: Arc<Engine>,
    mut request: Request<Body>,
) -> Result<Response<Body>, Rejection> {
    let query = Query::parse(request.uri().query())?;
    if query.eio.as_deref() != Some("4") {
        return Err(QueryRejection::UnsupportedVersion.into());
    }
    let transport = query
        .transport
        .as_deref()
        .and_then(Transport::from_name)
        .filter(|t| engine.config().transports.contains(*t))
        .ok_or(QueryRejection::UnknownTransport)?;
    let upgrade = match transport {
        Transport::WebSocket => Some(websocket::check_upgrade(&mut request)?),
        _ if websocket::is_upgrade_request(request.headers()) => {
            return Err(UpgradeRejection::WrongTransport.into());
        }
        _ => None,
    };
    if transport == Transport::Htmlfile {
        streaming::check_htmlfile_fetch(request.headers())?;
    }
    let encoding = compression::for_request(engine.config(), request.headers());
    let Some(sid) = query.sid.as_deref() else {
        if request.method() != Method::GET {
            return Err(HandshakeRejection::BadMethod.into());
        }
        let answer = Answer { upgrade, encoding };
        if let Some(ResumeParam::Session(_)) = &query.resume {
            return resume(&engine, transport, query, answer);
        }
        // Boxed, as is the POST below: a request's future is sized by its
        // largest path, and what waits longest is a parked long-poll GET,
        // which should not carry the handshake's or the POST's state.
        return Box::pin(handshake(&engine, request, transport, query, answer)).await;
    };
    let session = engine.session(sid).ok_or(AttachRejection::UnknownSid)?;
    // A SockJS session (issue 17) shares the engine but not the wire: to
    // Engine.IO requests its id is unknown.
    if matches!(session.transport(), Transport::SockJs(_)) {
        return Err(AttachRejection::UnknownSid.into());
    }
    match (transport, request.method().clone(), upgrade) {
        (Transport::WebSocket, _, Some(upgrade)) => Ok(websocket::upgrade(upgrade, session)),
        (Transport::Polling, Method::GET, _) => {
            polling::receive(session, query.ack, encoding).await
        }
        (t, Method::GET, _) if t.is_streaming() => {
            if !session.ext() {
                return Err(AttachRejection::StreamingNeedsExt.into());
            }
            streaming::resume(session, t, query.callback, query.ack, encoding)
        }
        (_, Method::POST, _) => {
            Box::pin(polling::send(session, request.into_body(), query.seq)).await
        }
        _ => Err(AttachRejection::MethodNotAllowed.into()),
    }
}

/// How a handshake is answered besides its transport: the WebSocket
/// handshake to complete, the encoding a streamed answer may use.
struct Answer {
    upgrade: Option<PendingUpgrade>,
    encoding: Option<compression::Encoding>,
}

/// A resume handshake (`resume=<sid>&last=<n>`, protocol-spec 11): the
/// engine resumes the session, and it is answered as a handshake of the
/// transport the client came back on (open packet with `resumed`, then
/// the replay on a WebSocket or stream).
fn resume(
    engine: &Arc<Engine>,
    transport: Transport,
    query: Query,
    Answer { upgrade, encoding }: Answer,
) -> Result<Response<Body>, Rejection> {
    if transport.is_streaming() && !query.ext {
        return Err(QueryRejection::UnknownTransport.into());
    }
    let opened = match resume_session(engine, transport, &query) {
        Ok(opened) => opened,
        Err(rejection) => {
            return Ok(websocket::refuse_resume(
                upgrade,
                rejection,
                engine.config(),
            ))
        }
    };
    Ok(match (opened.receiver, upgrade) {
        (Some(receiver), Some(upgrade)) => websocket::open(upgrade, receiver, opened.open),
        (Some(receiver), None) => {
            streaming::open(receiver, transport, query.callback, opened.open, encoding)
        }
        (None, _) => polling::open_response(&opened.open),
    })
}

/// The engine's half of a resume handshake: the query's sid and count.
fn resume_session(
    engine: &Engine,
    transport: Transport,
    query: &Query,
) -> Result<Opened, Rejection> {
    let Some(ResumeParam::Session(sid)) = &query.resume else {
        return Err(QueryRejection::MalformedResume.into());
    };
    let last = query.last.ok_or(QueryRejection::MalformedLast)?;
    Ok(engine.resume(ResumeRequest {
        sid: sid.clone(),
        transport,
        last,
    })?)
}

/// Hands a handshake to the engine and answers it on the transport the
/// client came on, with the open packet.
async fn handshake(
    engine: &Arc<Engine>,
    request: Request<Body>,
    transport: Transport,
    query: Query,
    Answer { upgrade, encoding }: Answer,
) -> Result<Response<Body>, Rejection> {
    if transport.is_streaming() && !query.ext {
        // To a client that did not ask for the extensions, they do not exist.
        return Err(QueryRejection::UnknownTransport.into());
    }
    let (parts, _body) = request.into_parts();
    let client = engine.client_key(&parts);
    let mut protocols = if query.ext {
        query.protocols
    } else {
        Vec::new()
    };
    if let Some(header_protocols) = upgrade.as_ref().and_then(|u| u.header_protocols.clone()) {
        protocols.extend(header_protocols);
    }
    let remote_addr = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let handshake = Handshake {
        uri: parts.uri,
        headers: parts.headers,
        remote_addr,
        transport,
        protocols,
    };
    let opened = engine
        .open(OpenRequest {
            handshake,
            ext: query.ext,
            client,
            resume: query.resume == Some(ResumeParam::Request),
        })
        .await?;
    match (opened.receiver, upgrade) {
        (Some(receiver), Some(upgrade)) => Ok(websocket::open(upgrade, receiver, opened.open)),
        (Some(receiver), None) => Ok(streaming::open(
            receiver,
            transport,
            query.callback,
            opened.open,
            encoding,
        )),
        (None, _) => Ok(polling::open_response(&opened.open)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long-poll GET is parked for up to a ping interval, and its
    /// request's future is sized by the largest path `route` can take:
    /// the handshake and the POST are boxed so an idle polling session
    /// does not carry them (issue 16). 3,056 bytes before, 1,496 after (a
    /// debug build); the bound leaves room for compiler versions.
    #[tokio::test]
    async fn a_parked_request_future_stays_small() {
        let polysock = crate::Polysock::builder()
            .on_connect(|_socket| async {})
            .build()
            .unwrap();
        let engine = polysock.service().engine.clone();
        let request = Request::get("/?EIO=4&transport=polling&sid=x")
            .body(Body::empty())
            .unwrap();
        let future = route(engine, request);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 1800, "the request future is {size} bytes");
    }
}
