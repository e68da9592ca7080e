//! The forwarder: passes one request on to the node that holds its
//! session, over a pooled keep-alive HTTP/1.1 client, and streams the
//! answer back as it comes (a long-poll, a streaming response, a WebSocket
//! spliced after its 101).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::OriginalUri;
use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{header, HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::time::{timeout, Instant, Sleep};

use super::{splice, FORWARDED_HEADER, SECRET_HEADER};
use crate::rejection::{ForwardRejection, Rejection};
use crate::transport::websocket::{self, PendingUpgrade};
use crate::Config;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a pooled connection to a peer may stay idle before it is closed.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// Headers that describe one hop, not the request: never passed on
/// (RFC 9110 section 7.6.1), except the upgrade pair of a WebSocket
/// handshake, set again on purpose.
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// Who forwards, for the marker headers, and what the client is told when
/// the owner cannot be reached.
pub(crate) struct Marks<'a> {
    pub(crate) from: &'a str,
    pub(crate) secret: &'a str,
    pub(crate) unreachable: ForwardRejection,
    /// A resume handshake: a WebSocket's refusal goes in-band.
    pub(crate) resume: bool,
}

/// The answer to a request whose owner cannot be asked: a resume handshake
/// is refused as its owner would refuse it (in-band on a WebSocket), and
/// everything else gets the HTTP error.
pub(crate) fn refuse(
    config: &Config,
    rejection: ForwardRejection,
    upgrade: Option<PendingUpgrade>,
    resume: bool,
) -> Response<Body> {
    let rejection = Rejection::from(rejection);
    if resume {
        websocket::refuse_resume(upgrade, rejection, config)
    } else {
        rejection.into_response()
    }
}

/// The client to the other nodes, and the bounds of a forwarded exchange.
pub(crate) struct Forwarder {
    client: Client<HttpConnector, Body>,
}

/// The bounds of one forwarded exchange, from the node's own config (every
/// node of a cluster runs the same).
struct Bounds {
    /// For the owner's response head: a long-poll is answered within a
    /// ping interval, a POST within twice the body timeout (body, then
    /// delivery), a WebSocket handshake at once; plus the connect.
    head: Duration,
    /// Silence after which a forwarded body or WebSocket is cut: pings
    /// flow at least every ping interval.
    idle: Duration,
    upgrade: Duration,
}

impl Bounds {
    fn of(config: &Config) -> Self {
        let heartbeat = config.ping_interval + config.ping_timeout;
        let head = heartbeat
            .max(config.body_timeout * 2)
            .max(config.upgrade_timeout)
            + config.forward_connect_timeout;
        Self {
            head,
            idle: heartbeat,
            upgrade: config.upgrade_timeout,
        }
    }
}

impl Forwarder {
    pub(crate) fn new(config: &Config) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.forward_connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self { client }
    }

    /// Forwards `request` to `address`; whatever fails on the way is
    /// answered as the protocol answers a session it does not know.
    /// `upgrade`: the client's WebSocket handshake, checked, if it is one.
    pub(crate) async fn forward(
        &self,
        config: &Config,
        address: &Authority,
        marks: Marks<'_>,
        request: Request<Body>,
        upgrade: Option<PendingUpgrade>,
    ) -> Response<Body> {
        let bounds = Bounds::of(config);
        let unreachable = |upgrade| refuse(config, marks.unreachable, upgrade, marks.resume);
        let outgoing = match outgoing(address, &marks, request, upgrade.is_some()) {
            Ok(outgoing) => outgoing,
            Err(rejection) => return rejection.into_response(),
        };
        let mut response = match timeout(bounds.head, self.client.request(outgoing)).await {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                tracing::debug!(%address, %error, "forwarding failed");
                return unreachable(upgrade);
            }
            Err(_) => {
                tracing::debug!(%address, "no answer from the session's node in time");
                return unreachable(upgrade);
            }
        };
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            let Some(client_side) = upgrade.map(PendingUpgrade::into_on_upgrade) else {
                return unreachable(None);
            };
            let node_side = hyper::upgrade::on(&mut response);
            tokio::spawn(async move {
                let both = async { tokio::try_join!(client_side, node_side) };
                match timeout(bounds.upgrade, both).await {
                    Ok(Ok((client, node))) => {
                        splice::splice(TokioIo::new(client), TokioIo::new(node), bounds.idle).await;
                    }
                    Ok(Err(error)) => tracing::debug!(%error, "forwarded upgrade failed"),
                    Err(_) => tracing::debug!("forwarded upgrade timed out"),
                }
            });
            let (mut parts, _) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            parts
                .headers
                .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            return Response::from_parts(parts, Body::empty());
        }
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        parts.headers.remove(header::UPGRADE);
        Response::from_parts(parts, Body::new(IdleBody::new(body, bounds.idle)))
    }
}

/// The request as it goes to the owner: same method, path, query, headers
/// (the client's `Host` and `Origin` included, so the owner's origin check
/// sees what the client sent), body streamed as it arrives; one hop's
/// headers replaced, and the marker and secret added.
fn outgoing(
    address: &Authority,
    marks: &Marks<'_>,
    request: Request<Body>,
    upgrade: bool,
) -> Result<Request<Body>, Rejection> {
    let (mut parts, body) = request.into_parts();
    // Nested in a router, the service sees its path with the mount point
    // stripped; the owner serves the same mount point.
    let original = parts
        .extensions
        .remove::<OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |OriginalUri(uri)| uri);
    let path_and_query = original
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let uri = Uri::builder()
        .scheme(Scheme::HTTP)
        .authority(address.clone())
        .path_and_query(path_and_query)
        .build()
        .map_err(|_| ForwardRejection::Unreachable)?;
    let mut headers = std::mem::take(&mut parts.headers);
    strip_hop_by_hop(&mut headers);
    headers.remove(header::UPGRADE);
    if !headers.contains_key(header::HOST) {
        // HTTP/2 carries the host in the URI, not in a header.
        if let Some(host) = original
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            headers.insert(header::HOST, host);
        }
    }
    let (from, secret) = (
        HeaderValue::from_str(marks.from),
        HeaderValue::from_str(marks.secret),
    );
    let (Ok(from), Ok(secret)) = (from, secret) else {
        return Err(ForwardRejection::Unreachable.into());
    };
    headers.insert(FORWARDED_HEADER, from);
    headers.insert(SECRET_HEADER, secret);
    let body = if upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        Body::empty()
    } else {
        body
    };
    let mut outgoing = Request::new(body);
    *outgoing.method_mut() = parts.method;
    *outgoing.uri_mut() = uri;
    *outgoing.headers_mut() = headers;
    Ok(outgoing)
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

/// The owner's response body, passed through frame by frame as it comes
/// (nothing is gathered), and cut when nothing came for `idle`.
struct IdleBody {
    inner: Incoming,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
}

impl IdleBody {
    fn new(inner: Incoming, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl http_body::Body for IdleBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = Instant::now() + this.idle;
                this.timer.as_mut().reset(deadline);
                Poll::Ready(frame.map(|frame| frame.map_err(BoxError::from)))
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(
                    "the session's node sent nothing for too long".into(),
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_keeps_path_host_and_gets_the_marks() {
        let mut request = Request::post("/?EIO=4&transport=polling&sid=a.1")
            .header(header::HOST, "public.example")
            .header(header::ORIGIN, "https://public.example")
            .header(header::CONNECTION, "keep-alive")
            .header(header::TRANSFER_ENCODING, "chunked")
            .header(SECRET_HEADER, "forged")
            .body(Body::empty())
            .unwrap();
        request.extensions_mut().insert(OriginalUri(
            "/engine.io/?EIO=4&transport=polling&sid=a.1"
                .parse()
                .unwrap(),
        ));
        let marks = Marks {
            from: "b",
            secret: "s3cret",
            unreachable: ForwardRejection::Unreachable,
            resume: false,
        };
        let address: Authority = "10.0.0.1:3000".parse().unwrap();
        let out = outgoing(&address, &marks, request, false).unwrap();
        assert_eq!(
            out.uri(),
            "http://10.0.0.1:3000/engine.io/?EIO=4&transport=polling&sid=a.1"
        );
        let h = out.headers();
        assert_eq!(h[header::HOST], "public.example");
        assert_eq!(h[header::ORIGIN], "https://public.example");
        assert_eq!(h[FORWARDED_HEADER], "b");
        assert_eq!(h[SECRET_HEADER], "s3cret");
        assert!(!h.contains_key(header::CONNECTION));
        assert!(!h.contains_key(header::TRANSFER_ENCODING));
    }

    #[test]
    fn bounds_cover_every_wait_of_the_direct_path() {
        let config = Config::default();
        let bounds = Bounds::of(&config);
        assert_eq!(bounds.idle, config.ping_interval + config.ping_timeout);
        assert!(bounds.head > config.body_timeout * 2);
        assert!(bounds.head > config.ping_interval + config.ping_timeout);
    }
}
