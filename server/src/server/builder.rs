//! [`Builder`]: configuration and handlers, validated once at `build()`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::Polysock;
use crate::adapter::Adapter;
use crate::cluster::{Cluster, ClusterSettings, NodeDirectory};
use crate::config::{Config, ConfigError};
use crate::engine::{ClientKeyFn, ConnectHandler, Handlers, HandshakeHook};
use crate::{Accept, Handshake, OriginPolicy, Refuse, Socket, Transport, TransportSet};

/// Builds a [`Polysock`] server.
///
/// ```
/// use std::time::Duration;
/// use polysock::{Polysock, Transport};
///
/// let server = Polysock::builder()
///     .ping_interval(Duration::from_secs(20))
///     .max_payload(64 * 1024)
///     .protocols(["chat", "superchat"])
///     .disable(Transport::Htmlfile)
///     .on_connect(|mut socket| async move {
///         while let Some(message) = socket.recv().await {
///             let _ = socket.send(message).await;
///         }
///     })
///     .build()
///     .expect("valid configuration");
/// assert_eq!(server.config().max_payload, 64 * 1024);
/// ```
#[must_use]
pub struct Builder {
    config: Config,
    on_connect: Option<ConnectHandler>,
    on_handshake: Option<HandshakeHook>,
    client_key: Option<ClientKeyFn>,
    adapter: Option<Arc<dyn Adapter>>,
    per_client_set: bool,
    directory: Option<Arc<dyn NodeDirectory>>,
    cluster_secret: Option<String>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder with the default configuration.
    pub fn new() -> Self {
        Self {
            config: Config::default(),
            on_connect: None,
            on_handshake: None,
            client_key: None,
            adapter: None,
            per_client_set: false,
            directory: None,
            cluster_secret: None,
        }
    }

    /// Time between server pings (default 25 s).
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.config.ping_interval = interval;
        self
    }

    /// Time to wait for a pong before closing the session (default 20 s).
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.config.ping_timeout = timeout;
        self
    }

    /// Largest POST payload and WebSocket message in bytes (default 1,000,000).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.config.max_payload = bytes;
        self
    }

    /// Outbound messages queued per session before `send` waits (default 1,024).
    pub fn max_queued_packets(mut self, packets: usize) -> Self {
        self.config.max_queued_packets = packets;
        self
    }

    /// Inbound messages buffered per session before the transport stops
    /// reading (default 256).
    pub fn max_inbound_messages(mut self, messages: usize) -> Self {
        self.config.max_inbound_messages = messages;
        self
    }

    /// Sessions open at once; further handshakes get 503 (default 100,000).
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.config.max_sessions = sessions;
        self
    }

    /// Time allowed for a WebSocket upgrade (default 10 s).
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.config.upgrade_timeout = timeout;
        self
    }

    /// Time allowed for a POST body to arrive (default 10 s).
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.config.body_timeout = timeout;
        self
    }

    /// Bytes after which a streaming response ends (default 128 KiB).
    pub fn response_limit(mut self, bytes: usize) -> Self {
        self.config.response_limit = bytes;
        self
    }

    /// Compress polling and streaming responses when the client accepts
    /// gzip or deflate (default on).
    pub fn compression(mut self, enabled: bool) -> Self {
        self.config.compression = enabled;
        self
    }

    /// Bytes from which a response (or a chunk of a stream) is compressed
    /// (default 1 KiB).
    pub fn compression_threshold(mut self, bytes: usize) -> Self {
        self.config.compression_threshold = bytes;
        self
    }

    /// Exactly these transports (default all four).
    pub fn transports(mut self, transports: impl IntoIterator<Item = Transport>) -> Self {
        self.config.transports = transports.into_iter().collect::<TransportSet>();
        self
    }

    /// Switches one transport off.
    pub fn disable(mut self, transport: Transport) -> Self {
        self.config.transports = self.config.transports.without(transport);
        self
    }

    /// Subprotocols the server speaks, in its order of preference. A client
    /// gets the first one it asked for that is in this list.
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Bytes of outbound messages a session may hold before `send` waits
    /// (default 32 KiB); see [`Config::max_queued_bytes`].
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.config.max_queued_bytes = bytes;
        self
    }

    /// Bytes of inbound messages buffered for the application before the
    /// transport waits (default 32 KiB).
    pub fn max_inbound_bytes(mut self, bytes: usize) -> Self {
        self.config.max_inbound_bytes = bytes;
        self
    }

    /// How long a full outbound queue may go with nothing delivered before
    /// the session is closed with 1008 "send queue full" (default 30 s).
    pub fn send_queue_grace(mut self, grace: Duration) -> Self {
        self.config.send_queue_grace = grace;
        self
    }

    /// How long a resume session whose transport was lost stays suspended,
    /// waiting for its client to resume (default 60 s; see
    /// [`Config::resume_window`](crate::Config::resume_window) for why).
    /// `Duration::ZERO` turns resume off; at most one hour.
    pub fn resume_window(mut self, window: Duration) -> Self {
        self.config.resume_window = window;
        self
    }

    /// What a resume session keeps of its written messages until the client
    /// acknowledges them: at most `messages` copies and `bytes` bytes
    /// (defaults 4,096 and 1 MiB; see
    /// [`Config::resume_buffer_messages`](crate::Config::resume_buffer_messages)).
    /// Both must be greater than zero.
    pub fn resume_buffer(mut self, messages: usize, bytes: usize) -> Self {
        self.config.resume_buffer_messages = messages;
        self.config.resume_buffer_bytes = bytes;
        self
    }

    /// How long a polling session may wait for its client's second request
    /// before it is closed as abandoned (default 10 s).
    pub fn first_request_timeout(mut self, timeout: Duration) -> Self {
        self.config.first_request_timeout = timeout;
        self
    }

    /// Sessions one client may hold at once (default: a tenth of
    /// `max_sessions`). Clients are told apart by their address, or by
    /// [`client_key`](Self::client_key).
    pub fn max_sessions_per_client(mut self, sessions: usize) -> Self {
        self.config.max_sessions_per_client = sessions;
        self.per_client_set = true;
        self
    }

    /// How to tell clients apart for
    /// [`max_sessions_per_client`](Self::max_sessions_per_client) behind a
    /// proxy, where every request comes from the proxy's address: return a
    /// key for the request (for example the first address of a
    /// `X-Forwarded-For` header your proxy sets), or `None` to fall back to
    /// the peer address.
    pub fn client_key<F>(mut self, key: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Option<String> + Send + Sync + 'static,
    {
        self.client_key = Some(Arc::new(key));
        self
    }

    /// Origins allowed besides the server's own (`https://app.example`).
    /// Requests from other origins get 403 on every transport.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.origins = OriginPolicy::List(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Allows every origin. Convenient in development; in production list
    /// the origins instead.
    pub fn allow_any_origin(mut self) -> Self {
        self.config.origins = OriginPolicy::Any;
        self
    }

    /// Lets cross-origin pages send cookies (`withCredentials`); requires a
    /// list of origins, not [`allow_any_origin`](Self::allow_any_origin).
    pub fn cors_credentials(mut self, allow: bool) -> Self {
        self.config.cors_credentials = allow;
        self
    }

    /// This node's id in a cluster: 1 to 24 of `A-Z a-z 0-9 _ -`. Session
    /// ids become `<id>.<32 hex digits>` (without it they are the 32 digits
    /// alone), so that every node can tell which node holds a session.
    pub fn node_id(mut self, id: impl Into<String>) -> Self {
        self.config.node_id = Some(id.into());
        self
    }

    /// Where the other nodes are: with it, a request for a session another
    /// node holds (its id names that node) is forwarded there, so that a
    /// load balancer needs no sticky sessions. Needs
    /// [`node_id`](Self::node_id) and [`cluster_secret`](Self::cluster_secret).
    pub fn node_directory(mut self, directory: impl NodeDirectory) -> Self {
        self.directory = Some(Arc::new(directory));
        self
    }

    /// The secret every node of the cluster shares (visible ASCII): it goes
    /// with every forwarded request, and a request marked as forwarded
    /// without it is refused, so that no client can pass for a node.
    pub fn cluster_secret(mut self, secret: impl Into<String>) -> Self {
        self.cluster_secret = Some(secret.into());
        self
    }

    /// Time to connect to another node when forwarding (default 2 s).
    pub fn forward_connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.forward_connect_timeout = timeout;
        self
    }

    /// The handler run once per new socket, in its own task.
    pub fn on_connect<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_connect = Some(Arc::new(move |socket| handler(socket).boxed()));
        self
    }

    /// A hook that sees every handshake first and may refuse it (the client
    /// gets 403) or attach values to the socket.
    pub fn on_handshake<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Handshake) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Accept, Refuse>> + Send + 'static,
    {
        self.on_handshake = Some(Arc::new(move |handshake| -> BoxFuture<'static, _> {
            hook(handshake).boxed()
        }));
        self
    }

    /// The adapter for rooms, broadcast and sockets by id (default: the
    /// in-memory [`LocalAdapter`](crate::LocalAdapter), this node alone).
    /// A cluster adapter such as `polysock-redis` is attached to the server
    /// in [`build`](Self::build), which must then run inside a Tokio
    /// runtime.
    pub fn adapter(mut self, adapter: impl Adapter) -> Self {
        self.adapter = Some(Arc::new(adapter));
        self
    }

    /// Checks the configuration and builds the server.
    pub fn build(mut self) -> Result<Polysock, ConfigError> {
        if !self.per_client_set {
            self.config.max_sessions_per_client = (self.config.max_sessions / 10).max(1);
        }
        self.config.validate()?;
        let on_connect = self.on_connect.ok_or(ConfigError::MissingConnectHandler)?;
        let cluster = cluster(&self.config, self.directory, self.cluster_secret)?;
        Ok(Polysock::new(
            self.config,
            Handlers {
                on_connect,
                on_handshake: self.on_handshake,
                client_key: self.client_key,
                adapter: self.adapter,
            },
            cluster,
        ))
    }
}

/// The cluster part, when a directory was given: it needs the node id and
/// a usable secret.
fn cluster(
    config: &Config,
    directory: Option<Arc<dyn NodeDirectory>>,
    secret: Option<String>,
) -> Result<Option<Arc<Cluster>>, ConfigError> {
    let Some(directory) = directory else {
        return Ok(None);
    };
    let node_id = config
        .node_id
        .clone()
        .ok_or(ConfigError::IncompleteCluster(
            "a node directory needs a node_id",
        ))?;
    let secret = secret.ok_or(ConfigError::IncompleteCluster(
        "a node directory needs a cluster_secret",
    ))?;
    if secret.is_empty() || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::IncompleteCluster(
            "the cluster_secret must be visible ASCII, not empty",
        ));
    }
    let settings = ClusterSettings { directory, secret };
    Ok(Some(Arc::new(Cluster::new(config, node_id, settings))))
}
