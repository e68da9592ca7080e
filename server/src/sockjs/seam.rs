//! The seam between the SockJS endpoint and the engine: the only file of
//! `sockjs/` that names `crate::engine` or `crate::session`.
//!
//! A SockJS session is an engine session, opened by [`Engine::open`] (so
//! the handshake hook, the session limits, rooms, broadcast, `sockets()`
//! and lifecycle events all see it), plus what SockJS adds:
//!
//! - the client's own session id, kept in [`Endpoint`]'s table;
//! - one receiving request at a time, where a second one is *answered*
//!   `c[2010,...]` and the session lives on (Engine.IO closes instead);
//! - `disconnect_delay`: a session with no receiving request for that long
//!   is gone, and a closed one keeps answering with its close frame for
//!   that long;
//! - heartbeats are `h` frames written by the receiver itself.
//!
//! ```text
//!  open ──(receiver attached / detached)──▶ open
//!   │ no receiver for disconnect_delay, or a receiver cut mid-response
//!   │      ──▶ closed (ConnectionLost), forgotten at once
//!   │ Socket::close / shutdown ──▶ closing ── close drained ──▶ closed,
//!   │      answering c[code,reason] until disconnect_delay without receiver
//! ```
//!
//! SHIMS (what the engine does not offer yet):
//! - the engine has no "busy, but stay open" receiver rule, so this file
//!   keeps its own `attached` flag and attach lock and never asks the
//!   engine for a second receiver;
//! - the engine's timers ping and wait for a pong; SockJS clients never
//!   pong, so the session's task here answers for them
//!   ([`SjSession::pong`], a stored pong before each ping) and does the
//!   SockJS liveness (`disconnect_delay`) itself;
//! - the engine moves a session to no transport but a WebSocket, so a
//!   SockJS session keeps the transport it opened on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use http::request::Parts;
use http::{HeaderMap, HeaderValue};
use tokio::sync::{watch, OnceCell};
use tokio::time::{sleep, timeout};

use super::{SockJsOptions, SockJsTransport};
use crate::close::{CloseReason, TransportError};
use crate::engine::{Engine, OpenRequest};
use crate::protocol::sockjs::INTERRUPTED;
use crate::protocol::{Encoded, Message, Packet};
use crate::rejection::HandshakeRejection;
use crate::session::{Delivery, Held, ReceiverGuard, Session};
use crate::{Handshake, Transport};

/// A session id's place in [`Endpoint::sessions`]: empty while the first
/// request for the id opens the session, so racing requests share it.
type Place = Arc<OnceCell<Arc<SjSession>>>;

/// One SockJS endpoint: the engine it belongs to, its options, and its
/// sessions by the id the client chose.
pub(crate) struct Endpoint {
    pub(crate) engine: Arc<Engine>,
    pub(crate) options: SockJsOptions,
    sessions: DashMap<String, Place>,
}

impl Endpoint {
    pub(crate) fn new(engine: Arc<Engine>, options: SockJsOptions) -> Self {
        Self {
            engine,
            options,
            sessions: DashMap::new(),
        }
    }

    pub(crate) fn max_payload(&self) -> usize {
        self.engine.config().max_payload
    }

    pub(crate) fn body_timeout(&self) -> Duration {
        self.engine.config().body_timeout
    }

    pub(crate) fn upgrade_timeout(&self) -> Duration {
        self.engine.config().upgrade_timeout
    }

    /// Sessions held by id now (opening, open, or closed and still
    /// answering with their close frame).
    pub(crate) fn held(&self) -> usize {
        self.sessions.len()
    }

    /// Whether the server checks this request's `Origin`, and what it
    /// allows: `Err` when refused, `Ok(Some(origin))` to reflect.
    pub(crate) fn check_origin(
        &self,
        uri: &http::Uri,
        headers: &HeaderMap,
    ) -> Result<Option<HeaderValue>, ()> {
        match self.engine.config().origins.check(uri, headers) {
            Ok(_) => Ok(headers.get(http::header::ORIGIN).cloned()),
            Err(_) => Err(()),
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<SjSession>> {
        self.sessions.get(id).and_then(|place| place.get().cloned())
    }
}

/// Why a new session could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// The handshake hook refused.
    Refused,
    /// The session table is full, or this client has its share of it.
    Full,
    /// The server is shutting down.
    ShuttingDown,
}

/// A SockJS session: the engine session and what SockJS adds to it.
pub(crate) struct SjSession {
    engine: Arc<Session>,
    attached: watch::Sender<bool>,
    attach_lock: Mutex<()>,
    /// Held while one request hands its messages over, so two sends are
    /// delivered one after the other.
    inbound: tokio::sync::Mutex<()>,
}

/// What asking for the receiver slot got.
pub(crate) enum Attach {
    /// This request is now the session's receiver.
    Attached(Slot),
    /// Another request is receiving: answer `c[2010,...]`.
    Busy,
    /// The session is closed: answer its close frame.
    Closed(Close),
}

/// A close frame's code and reason.
pub(crate) type Close = (u16, String);

/// What a receiver is to write next.
pub(crate) enum Next {
    /// Messages (possibly none), and the close frame if the session closed
    /// right behind them.
    Frames(Vec<String>, Option<Close>),
    /// Nothing for `heartbeat_delay`: an `h` frame.
    Heartbeat,
    /// The session is over.
    Closed(Close),
}

/// The session for `key`, opened by this request if it is new: the engine
/// runs the handshake hook, registers the session, starts its timers and
/// the application's task. `attach` makes this request the receiver of a
/// new session before anyone else can see it. Racing first requests for
/// one id share one session. Returns the session, the slot (when `attach`
/// and the session is new) and whether it is new.
pub(crate) async fn open_held(
    endpoint: &Arc<Endpoint>,
    parts: &Parts,
    key: &str,
    transport: SockJsTransport,
    attach: bool,
) -> Result<(Arc<SjSession>, Option<Slot>, bool), OpenError> {
    let place = endpoint
        .sessions
        .entry(key.to_owned())
        .or_insert_with(|| Arc::new(OnceCell::new()))
        .clone();
    let mut opened = None;
    let result = place
        .get_or_try_init(|| async {
            let (session, slot) = open(endpoint, parts, Some(key), transport, attach).await?;
            opened = Some(slot);
            Ok(session)
        })
        .await;
    match result {
        Ok(session) => {
            let new = opened.is_some();
            Ok((session.clone(), opened.flatten(), new))
        }
        Err(error) => {
            endpoint.sessions.remove_if(key, |_, held| {
                Arc::ptr_eq(held, &place) && held.get().is_none()
            });
            Err(error)
        }
    }
}

/// Opens a session through the engine; without a `key` it is not held by
/// id and lives as long as its WebSocket.
pub(crate) async fn open(
    endpoint: &Arc<Endpoint>,
    parts: &Parts,
    key: Option<&str>,
    transport: SockJsTransport,
    attach: bool,
) -> Result<(Arc<SjSession>, Option<Slot>), OpenError> {
    let engine = &endpoint.engine;
    let handshake = Handshake {
        uri: parts.uri.clone(),
        headers: parts.headers.clone(),
        remote_addr: parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0),
        transport: Transport::SockJs(transport),
        protocols: Vec::new(),
    };
    let request = OpenRequest {
        handshake,
        ext: true,
        client: engine.client_key(parts),
        resume: false,
    };
    let opened = engine
        .open(request)
        .await
        .map_err(|rejection| match rejection {
            HandshakeRejection::Refused | HandshakeRejection::ProtocolNotOffered => {
                OpenError::Refused
            }
            HandshakeRejection::ShuttingDown => OpenError::ShuttingDown,
            _ => OpenError::Full,
        })?;
    // The engine attached the receiver (every transport but Engine.IO
    // polling gets one): keep it, or let it go for a polling request,
    // which answers `o` at once.
    let guard = opened.receiver;
    let session_handle = guard
        .as_ref()
        .map(|guard| guard.session().clone())
        .ok_or(OpenError::Full)?;
    let (attached, _) = watch::channel(false);
    let session = Arc::new(SjSession {
        engine: session_handle,
        attached,
        attach_lock: Mutex::new(()),
        inbound: tokio::sync::Mutex::new(()),
    });
    let slot = match (attach, guard) {
        (true, Some(guard)) => {
            session.attached.send_replace(true);
            Some(Slot {
                session: session.clone(),
                guard: Some(guard),
                completed: false,
            })
        }
        _ => None,
    };
    tokio::spawn(drive(
        endpoint.clone(),
        session.clone(),
        key.map(str::to_owned),
    ));
    Ok((session, slot))
}

impl SjSession {
    /// Takes the receiver slot, unless another request holds it or the
    /// session is over.
    pub(crate) fn attach(self: &Arc<Self>) -> Attach {
        let _serial = self.attach_lock.lock().unwrap_or_else(|p| p.into_inner());
        if *self.attached.borrow() {
            return Attach::Busy;
        }
        // The session keeps the transport it opened on: the engine has no
        // way to move a session to another non-WebSocket transport.
        match self.engine.attach(self.engine.transport()) {
            Ok(guard) => {
                self.attached.send_replace(true);
                Attach::Attached(Slot {
                    session: self.clone(),
                    guard: Some(guard),
                    completed: false,
                })
            }
            Err(_) => Attach::Closed(self.close_frame()),
        }
    }

    /// Stands in for the client's pong to an engine ping.
    fn pong(&self) {
        let inlet = self.engine.inlet();
        // A pong is handled at once, without waiting.
        let _ = futures_util::FutureExt::now_or_never(
            self.engine
                .handle_packet(&inlet, Packet::Pong(String::new())),
        );
    }

    /// Whether the session still takes messages.
    pub(crate) fn is_open(&self) -> bool {
        self.engine.phase().is_open()
    }

    /// Hands messages from the client to the application, in order, waiting
    /// (at most `wait`) while its inbound buffer is full. `false` when the
    /// application did not take them in time; the session is then closed.
    pub(crate) async fn deliver(&self, messages: Vec<Message>, wait: Duration) -> bool {
        let delivery = async {
            let _serial = self.inbound.lock().await;
            let inlet = self.engine.inlet();
            for message in messages {
                // A message is never an unexpected packet.
                let _ = self
                    .engine
                    .handle_packet(&inlet, Packet::Message(message))
                    .await;
            }
        };
        if timeout(wait, delivery).await.is_ok() {
            return true;
        }
        self.engine.close_now(CloseReason::TransportError(
            TransportError::ApplicationNotReading,
        ));
        false
    }

    /// Closes the session because the client broke the protocol or its
    /// connection went away.
    pub(crate) fn fail(&self, error: TransportError) {
        self.engine.close_now(CloseReason::TransportError(error));
    }

    /// Closes the session because the client closed its WebSocket.
    pub(crate) fn client_closed(&self, code: u16, reason: &str) {
        let frame = crate::CloseFrame::new(code, reason);
        let frame = if crate::CloseFrame::is_client_code(code) {
            frame
        } else {
            crate::CloseFrame::new(crate::CloseFrame::NO_STATUS, "")
        };
        self.engine.close_now(CloseReason::ClientClosed(frame));
    }

    /// The close frame this session answers with once closed.
    pub(crate) fn close_frame(&self) -> Close {
        match self.engine.close_reason() {
            Some(CloseReason::TransportError(TransportError::ConnectionLost)) | None => {
                (INTERRUPTED.0, INTERRUPTED.1.to_owned())
            }
            Some(reason) => {
                let frame = reason.frame();
                (frame.code, frame.reason)
            }
        }
    }
}

/// The receiver slot of one request. Dropped without [`Slot::complete`]
/// (the client went away mid-response), it closes the session, as
/// sockjs-node does.
pub(crate) struct Slot {
    session: Arc<SjSession>,
    guard: Option<ReceiverGuard>,
    completed: bool,
}

impl Slot {
    /// Waits for what to write next: at most `budget` bytes of messages
    /// (at least one message), a heartbeat after `heartbeat` of quiet, or
    /// the end of the session.
    pub(crate) async fn next(&self, budget: usize, heartbeat: Duration) -> Next {
        let Some(guard) = &self.guard else {
            return Next::Closed(self.session.close_frame());
        };
        let quiet = sleep(heartbeat);
        tokio::pin!(quiet);
        loop {
            let delivery = tokio::select! {
                delivery = guard.next(budget) => delivery,
                _ = &mut quiet => return Next::Heartbeat,
            };
            let packets = match delivery {
                Delivery::Packets(packets) => packets,
                // Only an Engine.IO upgrade releases a receiver.
                Delivery::Released => return Next::Heartbeat,
                Delivery::Closed => return Next::Closed(self.session.close_frame()),
                Delivery::Empty => continue,
            };
            // Framed and written by the caller before the next call: as
            // good as handed to the network for the queue's account.
            guard.delivered(Held::of(&packets));
            let mut messages = Vec::with_capacity(packets.len());
            let mut close = None;
            for packet in packets {
                match packet {
                    Packet::Message(Message::Text(text)) => messages.push(text),
                    // SockJS carries text only.
                    Packet::Message(Message::Binary(bytes)) => {
                        messages.push(String::from_utf8_lossy(&bytes).into_owned())
                    }
                    Packet::Shared(message) => messages.push(match message.encoded() {
                        Encoded::Text(_) => message.as_text().unwrap_or("").to_owned(),
                        Encoded::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                    }),
                    Packet::Close(_) => close = Some(self.session.close_frame()),
                    // Engine pings are answered by the session's own task
                    // (see `drive`); nothing to frame.
                    _ => {}
                }
            }
            if !messages.is_empty() || close.is_some() {
                return Next::Frames(messages, close);
            }
        }
    }

    /// The response ended as it should: the session stays as it is.
    pub(crate) fn complete(mut self) {
        self.completed = true;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Free the engine's slot before telling anyone it is free.
        self.guard = None;
        if !self.completed {
            self.session.fail(TransportError::ConnectionLost);
        }
        self.session.attached.send_replace(false);
    }
}

/// A session's one task, in place of the engine's ping driver.
async fn drive(endpoint: Arc<Endpoint>, session: Arc<SjSession>, key: Option<String>) {
    let delay = endpoint.options.disconnect_delay;
    let engine = session.engine.clone();
    let mut attached = session.attached.subscribe();
    // Open: end the session after `delay` with no receiver. Meanwhile
    // answer the engine's pings for the client, which has no pong: a
    // stored pong is there before each ping is sent.
    let config = endpoint.engine.config();
    let tick = (config.ping_interval.min(config.ping_timeout) / 2).max(Duration::from_millis(1));
    let keepalive = async {
        loop {
            session.pong();
            sleep(tick).await;
        }
    };
    let receivers = async {
        loop {
            tokio::select! {
                _ = attached.wait_for(|on| !*on) => {}
                _ = engine.ending() => return,
            }
            let reattached = tokio::select! {
                found = timeout(delay, attached.wait_for(|on| *on)) => found.is_ok(),
                _ = engine.ending() => return,
            };
            if !reattached {
                engine.close_now(CloseReason::TransportError(TransportError::ConnectionLost));
                return;
            }
        }
    };
    tokio::select! {
        () = keepalive => {}
        () = receivers => {}
    }
    // The engine's own task finishes the session and forgets it.
    let Some(key) = key else { return };
    // Closed: answer with the close frame until `delay` passes with no
    // receiver; a session cut off (ConnectionLost) is forgotten at once.
    let lost = matches!(
        engine.close_reason(),
        Some(CloseReason::TransportError(TransportError::ConnectionLost))
    );
    if !lost {
        loop {
            let _ = attached.wait_for(|on| !*on).await;
            if timeout(delay, attached.wait_for(|on| *on)).await.is_err() {
                break;
            }
        }
    }
    endpoint.sessions.remove_if(&key, |_, held| {
        held.get().is_some_and(|held| Arc::ptr_eq(held, &session))
    });
}
