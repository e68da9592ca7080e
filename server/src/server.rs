//! [`Polysock`], the server handle: mounts into axum, lists and counts
//! sockets, broadcasts, and shuts down gracefully.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::protocol::Message;
use crate::session::Registry;
use crate::socket::CloseReason;
use crate::{Accept, Builder, Config, Handshake, PolysockService, Refuse, Socket, SocketSender};

pub(crate) type ConnectHandler = Arc<dyn Fn(Socket) -> BoxFuture<'static, ()> + Send + Sync>;
pub(crate) type HandshakeHook =
    Arc<dyn Fn(Handshake) -> BoxFuture<'static, Result<Accept, Refuse>> + Send + Sync>;

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
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// polysock::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Polysock {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: Arc<Config>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) on_connect: ConnectHandler,
    pub(crate) on_handshake: Option<HandshakeHook>,
    pub(crate) shutting_down: AtomicBool,
}

impl Polysock {
    /// A builder with the default configuration.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn new(
        config: Config,
        on_connect: ConnectHandler,
        on_handshake: Option<HandshakeHook>,
    ) -> Self {
        let registry = Arc::new(Registry::new(config.max_sessions));
        Self {
            inner: Arc::new(Inner {
                config: Arc::new(config),
                registry,
                on_connect,
                on_handshake,
                shutting_down: AtomicBool::new(false),
            }),
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
        PolysockService::new(self.inner.clone())
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// How many sockets are open.
    pub fn socket_count(&self) -> usize {
        self.inner.registry.len()
    }

    /// Senders for every open socket.
    pub fn sockets(&self) -> Vec<SocketSender> {
        self.inner
            .registry
            .snapshot()
            .into_iter()
            .map(SocketSender::new)
            .collect()
    }

    /// The socket with this id, if open.
    pub fn socket(&self, id: &str) -> Option<SocketSender> {
        self.inner.registry.get(id).map(SocketSender::new)
    }

    /// Queues a message to every open socket without waiting. A socket whose
    /// queue is full cannot keep up; it is closed (1008) rather than
    /// skipped, so no client silently misses a message. Returns how many
    /// sockets the message was queued for.
    pub fn broadcast(&self, message: impl Into<Message>) -> usize {
        let message = message.into();
        let mut queued = 0;
        for session in self.inner.registry.snapshot() {
            match session.try_send(message.clone()) {
                Ok(()) => queued += 1,
                Err(crate::TrySendError::Full(_)) => {
                    session.close_gracefully(CloseReason::ServerClosed(crate::CloseFrame::new(
                        crate::CloseFrame::POLICY,
                        "too slow: outbound queue full",
                    )))
                }
                Err(crate::TrySendError::Closed(_) | crate::TrySendError::RecordSeparator(_)) => {}
            }
        }
        queued
    }

    /// Refuses new handshakes, closes every socket with 1001 "going away"
    /// and waits, at most `grace`, for all of them to finish. Returns
    /// whether every session was gone in time.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        let sessions = self.inner.registry.snapshot();
        for session in &sessions {
            session.close_gracefully(CloseReason::ServerShutdown);
        }
        let all_closed = async {
            for session in &sessions {
                session.closed().await;
            }
        };
        let finished = tokio::time::timeout(grace, all_closed).await.is_ok();
        if !finished {
            for session in &sessions {
                session.close_now(CloseReason::ServerShutdown);
            }
        }
        finished
    }
}

impl std::fmt::Debug for Polysock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Polysock")
            .field("config", &self.inner.config)
            .field("sockets", &self.socket_count())
            .finish()
    }
}
