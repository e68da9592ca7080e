//! The engine: opens, registers, runs and forgets sessions, and publishes
//! their lifecycle. It knows nothing of HTTP; the service above it parses
//! requests and maps rejections to responses, the session below it is the
//! state machine of one client.
//!
//! ```text
//!  service ── open(handshake) ──▶ engine: limits ─ hook ─ Session::open ─ register
//!                                    │          spawn: timers (heartbeat), on_connect(socket)
//!                                    │
//!  session suspended (resume sessions) ──▶ engine: Suspended event
//!  session ends (heartbeat::run returns) ──▶ engine: unregister ─ leave rooms ─ Closed event
//!                                                     (a resume session: tombstone)
//!
//!  service ── resume(sid, t, last) ──▶ engine: find ─ Session::resume ─ open packet + resumed
//!                                      (not found: tombstone says why; no hook, no on_connect)
//! ```

mod events;
mod registry;
mod tombstones;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::broadcast;
use tracing::Instrument;

use crate::adapter::{Adapter, LocalAdapter, LocalNode};
use crate::close::CloseReason;
use crate::handshake::RequestInfo;
use crate::protocol::{OpenData, Packet, ResumeOffer};
use crate::rejection::{HandshakeRejection, ResumeRejection};
use crate::session::{self, ReceiverGuard, Session, SessionParams};
use crate::{Accept, Config, Handshake, Refuse, Rooms, Socket, Transport};

pub use events::SessionEvent;
pub(crate) use registry::ClientKey;
use registry::{Full, Registry};
use tombstones::{Ended, Tombstones};

/// The application's connect handler.
pub(crate) type ConnectHandler = Arc<dyn Fn(Socket) -> BoxFuture<'static, ()> + Send + Sync>;
/// The application's handshake hook.
pub(crate) type HandshakeHook =
    Arc<dyn Fn(Handshake) -> BoxFuture<'static, Result<Accept, Refuse>> + Send + Sync>;
/// How the application tells clients apart behind a proxy.
pub(crate) type ClientKeyFn = Arc<dyn Fn(&http::request::Parts) -> Option<String> + Send + Sync>;

/// What the application gave the builder.
pub(crate) struct Handlers {
    pub(crate) on_connect: ConnectHandler,
    pub(crate) on_handshake: Option<HandshakeHook>,
    pub(crate) client_key: Option<ClientKeyFn>,
    /// The adapter the application chose; the in-memory one when `None`.
    pub(crate) adapter: Option<Arc<dyn Adapter>>,
}

/// A handshake the service has parsed, ready to open a session.
pub(crate) struct OpenRequest {
    pub(crate) handshake: Handshake,
    pub(crate) ext: bool,
    pub(crate) client: Option<ClientKey>,
    /// The client asked for a resume session (`resume=1`).
    pub(crate) resume: bool,
}

/// A resume handshake the service has parsed.
pub(crate) struct ResumeRequest {
    pub(crate) sid: String,
    pub(crate) transport: Transport,
    pub(crate) last: u64,
}

/// What the service answers a handshake with.
pub(crate) struct Opened {
    /// The receiver, attached before anyone else could see the session
    /// (every transport but polling, whose handshake answers at once).
    pub(crate) receiver: Option<ReceiverGuard>,
    /// The open packet.
    pub(crate) open: Packet,
}

/// One server's sessions and what happens to them.
pub(crate) struct Engine {
    config: Arc<Config>,
    registry: Registry,
    handlers: Handlers,
    rooms: Rooms,
    adapter: Arc<dyn Adapter>,
    events: broadcast::Sender<SessionEvent>,
    shutting_down: AtomicBool,
    tombstones: Tombstones,
}

impl Engine {
    pub(crate) fn new(config: Config, mut handlers: Handlers) -> Arc<Self> {
        let registry = Registry::new(config.max_sessions, config.max_sessions_per_client);
        let (events, _) = broadcast::channel(events::CAPACITY);
        let tombstones = Tombstones::new(config.resume_window, config.max_sessions);
        let chosen = handlers.adapter.take();
        let engine = Arc::new_cyclic(|weak| Self {
            tombstones,
            config: Arc::new(config),
            registry,
            adapter: match &chosen {
                Some(adapter) => adapter.clone(),
                None => Arc::new(LocalAdapter::new(LocalNode::new(weak.clone()))),
            },
            handlers,
            rooms: Rooms::new(),
            events,
            shutting_down: AtomicBool::new(false),
        });
        if let Some(adapter) = chosen {
            adapter.attach(LocalNode::new(Arc::downgrade(&engine)));
        }
        engine
    }

    pub(crate) fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.adapter
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    /// The session with this id, if it is open here.
    pub(crate) fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.registry.get(id)
    }

    pub(crate) fn session_count(&self) -> usize {
        self.registry.len()
    }

    pub(crate) fn sessions(&self) -> Vec<Arc<Session>> {
        self.registry.snapshot()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    /// Who a request comes from, for the per-client cap.
    pub(crate) fn client_key(&self, parts: &http::request::Parts) -> Option<ClientKey> {
        if let Some(key) = self.handlers.client_key.as_ref().and_then(|f| f(parts)) {
            return Some(key.into());
        }
        parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip().to_string().into())
    }

    /// Opens a session: the limits, the application's hook, the session,
    /// its timers and the application's task.
    pub(crate) async fn open(
        self: &Arc<Self>,
        request: OpenRequest,
    ) -> Result<Opened, HandshakeRejection> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(HandshakeRejection::ShuttingDown);
        }
        let reservation = self
            .registry
            .reserve(request.client)
            .map_err(|full| match full {
                Full::Table => HandshakeRejection::TooManySessions,
                Full::Client => HandshakeRejection::TooManyForClient,
            })?;
        let handshake = request.handshake;
        let accept = match &self.handlers.on_handshake {
            Some(hook) => hook(handshake.clone()).await.map_err(|refusal| {
                tracing::debug!(
                    reason = refusal.reason(),
                    "handshake refused by the application"
                );
                HandshakeRejection::Refused
            })?,
            None => Accept::new(),
        };
        let protocol = match accept.protocol {
            Some(chosen) if handshake.protocols.contains(&chosen) => Some(chosen),
            Some(chosen) => {
                tracing::error!(
                    protocol = chosen,
                    "the handshake hook chose a subprotocol the client did not offer"
                );
                return Err(HandshakeRejection::ProtocolNotOffered);
            }
            None => self
                .config
                .select_protocol(handshake.protocols.iter().map(String::as_str)),
        };
        let transport = handshake.transport;
        let new = Session::open(
            self.config.clone(),
            SessionParams {
                transport,
                ext: request.ext,
                protocol,
                request: RequestInfo::detached(handshake, accept.extensions),
                resume: request.resume && request.ext && !self.config.resume_window.is_zero(),
            },
        );
        let session = new.session;
        let open = Packet::Open(self.open_data(&session, transport, None).to_json());
        let receiver = match transport {
            Transport::Polling => None,
            _ => Some(
                session
                    .attach(transport)
                    .map_err(|_| HandshakeRejection::ShuttingDown)?,
            ),
        };
        reservation.insert(session.clone());
        self.spawn_lifecycle(session.clone());
        let socket = Socket::new(
            session.clone(),
            new.inbound,
            self.rooms.clone(),
            self.adapter.clone(),
        );
        crate::metrics::opened(transport);
        tokio::spawn((self.handlers.on_connect)(socket));
        let _ = self.events.send(SessionEvent::Opened {
            id: session.id().to_owned(),
            transport,
        });
        Ok(Opened { receiver, open })
    }

    /// Resumes a session whose client lost its transport (protocol-spec
    /// 11): no hook, no `on_connect`, no place in the per-client cap.
    pub(crate) fn resume(&self, request: ResumeRequest) -> Result<Opened, ResumeRejection> {
        let Some(session) = self.registry.get(&request.sid) else {
            return Err(match self.tombstones.get(&request.sid) {
                Some(Ended::WindowOver) => ResumeRejection::Expired,
                Some(Ended::QueueFull) => ResumeRejection::QueueFull,
                Some(Ended::Overflowed) => ResumeRejection::Overflow,
                Some(Ended::Closed) => ResumeRejection::Closed,
                None => ResumeRejection::Unknown,
            });
        };
        if matches!(session.transport(), Transport::SockJs(_)) {
            return Err(ResumeRejection::Unknown);
        }
        if !session.is_resume() {
            return Err(ResumeRejection::NotEnabled);
        }
        let transport = request.transport;
        let (receiver, received) =
            session
                .resume(transport, request.last)
                .map_err(|refusal| match refusal {
                    crate::session::Refusal::ResumeOutOfRange => ResumeRejection::OutOfRange,
                    crate::session::Refusal::ResumeOverflow => ResumeRejection::Overflow,
                    crate::session::Refusal::NotResumable => ResumeRejection::NotEnabled,
                    _ => ResumeRejection::Closed,
                })?;
        tracing::debug!(sid = %session.id(), %transport, received, "session resumed");
        crate::metrics::resumed();
        let open = Packet::Open(
            self.open_data(&session, transport, Some(received))
                .to_json(),
        );
        let _ = self.events.send(SessionEvent::Resumed {
            id: session.id().to_owned(),
            transport,
        });
        Ok(Opened { receiver, open })
    }

    /// The session's one background task: its timers until it closes,
    /// then the engine forgets it.
    fn spawn_lifecycle(self: &Arc<Self>, session: Arc<Session>) {
        let engine = self.clone();
        let span = tracing::debug_span!("session", sid = %session.id());
        tokio::spawn(
            async move {
                tracing::debug!(transport = %session.transport(), "session opened");
                session::heartbeat::run(&session, || {
                    let _ = engine.events.send(SessionEvent::Suspended {
                        id: session.id().to_owned(),
                        transport: session.transport(),
                    });
                })
                .await;
                engine.forget(&session);
            }
            .instrument(span),
        );
    }

    /// A closed session leaves the table and every room, and the world is
    /// told.
    fn forget(&self, session: &Session) {
        self.registry.remove(session.id());
        let rooms = self.rooms.leave_all(session.id());
        let reason = session
            .close_reason()
            .unwrap_or(CloseReason::ServerShutdown);
        if session.is_resume() {
            self.tombstones
                .insert(session.shared_id(), Ended::of(&reason));
        }
        tracing::debug!(?reason, "session closed");
        crate::metrics::closed(&reason);
        let _ = self.events.send(SessionEvent::Closed {
            id: session.id().to_owned(),
            reason,
            rooms,
        });
    }

    fn open_data(&self, session: &Session, transport: Transport, resumed: Option<u64>) -> OpenData {
        let config = &self.config;
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
            resume: session.is_resume().then(|| ResumeOffer {
                window: config.resume_window.as_millis() as u64,
            }),
            resumed,
        }
    }

    /// Refuses new handshakes, closes every session with 1001 "going away"
    /// and waits, at most `grace`, for all of them to finish.
    pub(crate) async fn shutdown(&self, grace: Duration) -> bool {
        self.shutting_down.store(true, Ordering::SeqCst);
        let sessions = self.registry.snapshot();
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
