//! [`Polysock`], the server handle: mounts into axum, lists and counts
//! sockets, broadcasts, and shuts down gracefully.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::adapter::{Adapter, LocalNode, Target};
use crate::cluster::Cluster;
use crate::engine::{Engine, Handlers, SessionEvent};
use crate::protocol::Message;
use crate::{Config, PolysockService, Rooms, SocketSender};

mod builder;
pub use builder::Builder;

/// A Polysock server. Cheap to clone; every clone is the same server.
///
/// ```no_run
/// use axum::Router;
/// use polysock::Polysock;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let realtime = Polysock::builder()
///     .on_connect(|mut socket| async move {
///         while let Some(message) = socket.recv().await {
///             let _ = socket.send(message).await;
///         }
///     })
///     .build()?;
/// let app = Router::new().nest_service("/engine.io", realtime.service());
/// let listener = polysock::bind("127.0.0.1:3000".parse()?)?;
/// polysock::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Polysock {
    pub(crate) engine: Arc<Engine>,
    cluster: Option<Arc<Cluster>>,
}

impl Polysock {
    /// A builder with the default configuration.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn new(config: Config, handlers: Handlers, cluster: Option<Arc<Cluster>>) -> Self {
        Self {
            engine: Engine::new(config, handlers),
            cluster,
        }
    }

    /// The endpoint as a tower service. Mount it with
    /// `Router::nest_service("/engine.io", server.service())`: it answers at
    /// the mount point with and without the trailing slash that stock
    /// clients add, and serves the bundled client at `<mount>/polysock.js`.
    ///
    /// (`Router::nest` with a router would not do: axum 0.8 routes
    /// `<mount>/` to no nested route.)
    pub fn service(&self) -> PolysockService {
        PolysockService::new(self.engine.clone(), self.cluster.clone())
    }

    /// Requests this node has forwarded to the nodes holding their sessions
    /// (0 without a [`node_directory`](crate::Builder::node_directory)).
    pub fn forwarded_requests(&self) -> u64 {
        self.cluster
            .as_ref()
            .map_or(0, |cluster| cluster.forwarded())
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        self.engine.config()
    }

    /// How many sockets are open.
    pub fn socket_count(&self) -> usize {
        self.engine.session_count()
    }

    /// Senders for every open socket.
    pub fn sockets(&self) -> Vec<SocketSender> {
        self.engine
            .sessions()
            .into_iter()
            .map(SocketSender::new)
            .collect()
    }

    /// The socket with this id, if open.
    pub fn socket(&self, id: &str) -> Option<SocketSender> {
        self.engine.session(id).map(SocketSender::new)
    }

    /// The server's rooms: named groups of its sockets. Sockets leave them
    /// on their own when they close.
    pub fn rooms(&self) -> &Rooms {
        self.engine.rooms()
    }

    /// Subscribes to the server's session lifecycle events (opened,
    /// closed). See [`SessionEvent`] for what a slow subscriber misses.
    pub fn events(&self) -> broadcast::Receiver<SessionEvent> {
        self.engine.subscribe()
    }

    /// Queues a message to every open socket without waiting. A socket whose
    /// queue is full cannot keep up; it is closed (1008) rather than
    /// skipped, so no client silently misses a message. Returns how many
    /// sockets the message was queued for.
    ///
    /// This node's sockets only; [`adapter`](Self::adapter) reaches every
    /// node of a cluster.
    pub fn broadcast(&self, message: impl Into<Message>) -> usize {
        self.local().broadcast(&Target::all(), &message.into())
    }

    /// The server's adapter: rooms, broadcast and sockets by id on every
    /// node of the cluster (on this node alone with the default
    /// [`LocalAdapter`](crate::LocalAdapter)). Choose one with
    /// [`Builder::adapter`].
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        self.engine.adapter()
    }

    /// This node's own sockets, as an adapter sees them.
    pub fn local(&self) -> LocalNode {
        LocalNode::new(Arc::downgrade(&self.engine))
    }

    /// Refuses new handshakes, closes every socket with 1001 "going away"
    /// and waits, at most `grace`, for all of them to finish. Returns
    /// whether every session was gone in time.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.engine.shutdown(grace).await
    }
}

impl std::fmt::Debug for Polysock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Polysock")
            .field("config", self.engine.config())
            .field("sockets", &self.socket_count())
            .finish()
    }
}
