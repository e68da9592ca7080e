//! Many nodes without sticky sessions: a request for a session that another
//! node holds is forwarded, node to node over HTTP, to that node.
//!
//! Every session id names its owner (`<node id>.<random>`, see [`sid`]), so
//! the node a load balancer picked knows at once, without asking anyone,
//! whether the session is its own. If it is not, it looks the owner up in a
//! [`NodeDirectory`] (node id -> advertised address: a [`StaticDirectory`],
//! or the Redis node registry with its local cache) and passes the request
//! on, streaming both ways:
//!
//! ```text
//! client ──▶ balancer ──▶ node b: sid "a.3f…" is a's
//!                           │ GET/POST  http://<a's address>/<same path and query>
//!                           │           + polysock-forwarded: b
//!                           │           + polysock-cluster-secret: <secret>
//!                           ▼
//!                         node a: the session's own node answers as if the
//!                           │     client had come to it; the answer streams
//!                           ▼     back through b as it is written
//! client ◀── balancer ◀── node b   (a WebSocket: the 101 comes back, and b
//!                                   splices the two connections)
//! ```
//!
//! A forwarded request is never forwarded again: it carries a marker header
//! with the cluster's shared secret, and a node handles such a request
//! itself whatever its sid says. A request carrying the marker without the
//! right secret is refused (403). An owner that is unknown, or cannot be
//! reached within the connect timeout, answers the client "Session ID
//! unknown" (400, code 1), as a node that never held the session would (a
//! resume handshake on a WebSocket: in-band, closed 4001, protocol-spec
//! 11.7).
//!
//! Bounds: the owner applies its own (body size, body time, pings) to the
//! forwarded request exactly as to a direct one, since the bytes reach it
//! as they arrive; the forwarding node adds a connect timeout, a bound on
//! the wait for the owner's response head, and an idle timeout on every
//! forwarded response body and spliced WebSocket (pings flow at least once
//! a ping interval on every transport, so silence longer than interval
//! plus timeout means the owner or the path is gone).

mod forward;
pub(crate) mod sid;
mod splice;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use http::uri::Authority;
use http::{HeaderName, Request, Response};

use crate::rejection::{ForwardRejection, Rejection};
use crate::transport::websocket;
use crate::Config;

pub(crate) use forward::Forwarder;

/// Marks a forwarded request; its value is the forwarding node's id.
pub(crate) const FORWARDED_HEADER: HeaderName = HeaderName::from_static("polysock-forwarded");
/// Carries the cluster's shared secret on a forwarded request.
pub(crate) const SECRET_HEADER: HeaderName = HeaderName::from_static("polysock-cluster-secret");

/// Where the nodes of a cluster can be reached: node id -> advertised
/// address (`host:port`, plain HTTP, the address the node's Polysock
/// endpoint is served on, mounted at the same path as on every node).
///
/// Called on every request for another node's session, on the request's
/// path: answer from memory (a Redis-backed registry keeps a local copy),
/// so that forwarding goes on while the backing store is away. `None` for a
/// node that is unknown or known dead: its sessions are then answered
/// "Session ID unknown" at once.
pub trait NodeDirectory: Send + Sync + 'static {
    /// The address of `node_id`, if it is alive as far as the directory knows.
    fn address(&self, node_id: &str) -> Option<Authority>;
}

impl<T: NodeDirectory> NodeDirectory for Arc<T> {
    fn address(&self, node_id: &str) -> Option<Authority> {
        (**self).address(node_id)
    }
}

/// A fixed directory, for tests and small setups where the nodes and their
/// addresses are known in advance.
///
/// ```
/// use polysock::StaticDirectory;
///
/// let directory = StaticDirectory::new()
///     .with("a", "10.0.0.1:3000".parse().unwrap())
///     .with("b", "10.0.0.2:3000".parse().unwrap());
/// # let _ = directory;
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticDirectory {
    nodes: HashMap<String, Authority>,
}

impl StaticDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a node.
    pub fn with(mut self, node_id: impl Into<String>, address: Authority) -> Self {
        self.nodes.insert(node_id.into(), address);
        self
    }
}

impl NodeDirectory for StaticDirectory {
    fn address(&self, node_id: &str) -> Option<Authority> {
        self.nodes.get(node_id).cloned()
    }
}

/// What the builder was given for the cluster; checked at `build()`.
pub(crate) struct ClusterSettings {
    pub(crate) directory: Arc<dyn NodeDirectory>,
    pub(crate) secret: String,
}

/// This node's part in a cluster: who it is, where the others are, and the
/// client that forwards to them.
pub(crate) struct Cluster {
    node_id: String,
    directory: Arc<dyn NodeDirectory>,
    secret: String,
    forwarder: Forwarder,
    forwarded: AtomicU64,
}

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    /// Handled here: our session, an id naming no node, a handshake, or a
    /// request a peer forwarded to us.
    Local,
    /// To the node that holds the session; whether it is a resume.
    Forward(&'a str, bool),
    /// Marked as forwarded without the cluster's secret.
    Refuse,
}

impl Cluster {
    pub(crate) fn new(config: &Config, node_id: String, settings: ClusterSettings) -> Self {
        Self {
            node_id,
            directory: settings.directory,
            secret: settings.secret,
            forwarder: Forwarder::new(config),
            forwarded: AtomicU64::new(0),
        }
    }

    /// Requests this node has forwarded to others so far.
    pub(crate) fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }

    fn route<'a>(&self, request: &'a Request<Body>) -> Route<'a> {
        let headers = request.headers();
        if headers.contains_key(&FORWARDED_HEADER) || headers.contains_key(&SECRET_HEADER) {
            let secret = headers.get(&SECRET_HEADER).map(|v| v.as_bytes());
            return match secret {
                Some(given) if same_secret(given, self.secret.as_bytes()) => Route::Local,
                _ => Route::Refuse,
            };
        }
        let Some(addressed) = sid::addressed_session(request.uri().query()) else {
            return Route::Local;
        };
        match sid::owner(addressed.sid()) {
            Some(node) if node != self.node_id => {
                Route::Forward(node, matches!(addressed, sid::Addressed::Resume(_)))
            }
            _ => Route::Local,
        }
    }

    /// The response for a request that is not for this node, or `Err` with
    /// the request back when this node handles it.
    pub(crate) async fn intercept(
        &self,
        config: &Config,
        mut request: Request<Body>,
    ) -> Result<Response<Body>, Request<Body>> {
        let (node, resume) = match self.route(&request) {
            Route::Local => return Err(request),
            Route::Refuse => return Ok(Rejection::from(ForwardRejection::NoSecret).into_response()),
            Route::Forward(node, resume) => (node.to_owned(), resume),
        };
        // A resume refused for want of its node says what the resume
        // contract says of a session that is not there.
        let (unknown, unreachable) = if resume {
            (
                ForwardRejection::ResumeUnknown,
                ForwardRejection::ResumeUnknown,
            )
        } else {
            (ForwardRejection::UnknownNode, ForwardRejection::Unreachable)
        };
        // A handshake that is not a valid one goes on unchecked: the owner
        // answers it as it answers every malformed handshake.
        let upgrade = websocket::is_upgrade_request(request.headers())
            .then(|| websocket::check_upgrade(&mut request).ok())
            .flatten();
        let Some(address) = self.directory.address(&node) else {
            tracing::debug!(node, "session of an unknown node");
            return Ok(forward::refuse(config, unknown, upgrade, resume));
        };
        self.forwarded.fetch_add(1, Ordering::Relaxed);
        crate::metrics::forwarded_request();
        let marks = forward::Marks {
            from: &self.node_id,
            secret: &self.secret,
            unreachable,
            resume,
        };
        Ok(self
            .forwarder
            .forward(config, &address, marks, request, upgrade)
            .await)
    }
}

/// Compares secrets in time independent of where they differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> Cluster {
        let settings = ClusterSettings {
            directory: Arc::new(StaticDirectory::new()),
            secret: "s3cret".into(),
        };
        Cluster::new(&Config::default(), "b".into(), settings)
    }

    fn request(query: &str, headers: &[(&HeaderName, &str)]) -> Request<Body> {
        let mut builder = Request::get(format!("/?{query}"));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn routes_by_the_owner_in_the_sid() {
        let c = cluster();
        let r = request("EIO=4&transport=polling&sid=a.123", &[]);
        assert_eq!(c.route(&r), Route::Forward("a", false));
        let r = request("EIO=4&transport=polling&sid=b.123", &[]);
        assert_eq!(c.route(&r), Route::Local);
        let r = request("EIO=4&transport=polling&sid=0123abcd", &[]);
        assert_eq!(c.route(&r), Route::Local);
        let r = request("EIO=4&transport=polling", &[]);
        assert_eq!(c.route(&r), Route::Local);
        let r = request("EIO=4&transport=websocket&ext=1&resume=a.9&last=0", &[]);
        assert_eq!(c.route(&r), Route::Forward("a", true));
        let r = request("EIO=4&transport=polling&ext=1&resume=1", &[]);
        assert_eq!(c.route(&r), Route::Local);
    }

    #[test]
    fn a_forwarded_request_stays_here_only_with_the_secret() {
        let c = cluster();
        let q = "EIO=4&transport=polling&sid=a.123";
        let ok = request(q, &[(&FORWARDED_HEADER, "c"), (&SECRET_HEADER, "s3cret")]);
        assert_eq!(c.route(&ok), Route::Local);
        for bad in [
            request(q, &[(&FORWARDED_HEADER, "c")]),
            request(q, &[(&FORWARDED_HEADER, "c"), (&SECRET_HEADER, "s3cre")]),
            request(q, &[(&SECRET_HEADER, "wrong!")]),
        ] {
            assert_eq!(c.route(&bad), Route::Refuse);
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"ab", b"abc"));
    }
}
