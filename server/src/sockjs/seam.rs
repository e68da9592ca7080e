//! The seam between the SockJS endpoint and the session layer: the only
//! file of `sockjs/` that names `crate::session`.
//!
//! A SockJS session is an engine [`Session`] (in the server's registry, so
//! rooms, broadcast and `sockets()` see it) plus what SockJS adds:
//!
//! - the client's own session id, kept in [`Endpoint::sessions`];
//! - one receiving request at a time, where a second one is *answered*
//!   `c[2010,...]` and the session lives on (Engine.IO closes instead);
//! - `disconnect_delay` instead of ping/pong: a session with no receiving
//!   request for that long is gone, and a closed one keeps answering with
//!   its close frame for that long;
//! - heartbeats are written by the receiver itself (`h` frames), so the
//!   engine's ping driver is not started.
//!
//! ```text
//!  open ──(receiver attached / detached)──▶ open
//!   │ no receiver for disconnect_delay, or a receiver cut mid-response
//!   │      ──▶ closed (ConnectionLost), forgotten at once
//!   │ Socket::close / shutdown ──▶ closing ── close drained ──▶ closed,
//!   │      answering c[code,reason] until disconnect_delay without receiver
//! ```
//!
//! SHIM (for the engine rework): the session layer has no notion of "busy,
//! but stay open" nor of a receiver-less timeout, so this file keeps its
//! own `attached` flag and attach lock, sets `State::transport` itself
//! (SockJS lets any receiving transport serve a session) and runs its own
//! driver in place of `session::spawn_driver`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use bytes::Bytes;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Uri};
use tokio::sync::watch;
use tokio::time::{sleep, timeout};

use super::{SockJsOptions, SockJsTransport};
use crate::protocol::sockjs::INTERRUPTED;
use crate::protocol::{Message, Packet};
use crate::server::Inner;
use crate::session::{Delivery, Phase, ReceiverGuard, Session, SessionParams};
use crate::socket::{CloseReason, RequestInfo, TransportError};
use crate::{Accept, Handshake, Socket, Transport};

/// One SockJS endpoint: the server it belongs to, its options, and its
/// sessions by the id the client chose.
pub(crate) struct Endpoint {
    pub(crate) inner: Arc<Inner>,
    pub(crate) options: SockJsOptions,
    pub(crate) sessions: DashMap<String, Arc<SjSession>>,
}

impl Endpoint {
    pub(crate) fn new(inner: Arc<Inner>, options: SockJsOptions) -> Self {
        Self {
            inner,
            options,
            sessions: DashMap::new(),
        }
    }

    pub(crate) fn max_payload(&self) -> usize {
        self.inner.config.max_payload
    }

    pub(crate) fn body_timeout(&self) -> Duration {
        self.inner.config.body_timeout
    }

    /// Whether the server checks this request's `Origin`, and what it
    /// allows: `Err` when refused, `Ok(Some(origin))` to reflect.
    pub(crate) fn check_origin(&self, headers: &HeaderMap) -> Result<Option<HeaderValue>, ()> {
        match self.inner.config.origins.check(headers) {
            Ok(_) => Ok(headers.get(http::header::ORIGIN).cloned()),
            Err(_) => Err(()),
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<SjSession>> {
        self.sessions.get(id).map(|entry| entry.value().clone())
    }
}

/// Why a new session could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// The handshake hook refused.
    Refused,
    /// The session table is full.
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

/// Hands the application a socket for a new session: the hook, the
/// session, its driver and the connect handler. `attach` makes the new
/// request the receiver before anyone else can see the session. With a
/// `key`, the session is held by that id (HTTP transports); without, it
/// lives as long as its WebSocket. Returns the session, the slot (when
/// `attach` and the session is new) and whether it is new: `false` when
/// another request opened the same id first.
pub(crate) async fn open(
    endpoint: &Arc<Endpoint>,
    parts: &Parts,
    key: Option<&str>,
    transport: SockJsTransport,
    attach: bool,
) -> Result<(Arc<SjSession>, Option<Slot>, bool), OpenError> {
    let inner = &endpoint.inner;
    if inner.shutting_down.load(Ordering::SeqCst) {
        return Err(OpenError::ShuttingDown);
    }
    let remote_addr = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let handshake = Handshake {
        uri: parts.uri.clone(),
        headers: parts.headers.clone(),
        remote_addr,
        transport: Transport::SockJs(transport),
        protocols: Vec::new(),
    };
    let accept = match &inner.on_handshake {
        Some(hook) => hook(handshake).await.map_err(|_| OpenError::Refused)?,
        None => Accept::new(),
    };
    // From here on nothing waits: the id is claimed and the session made
    // in one step, so two requests racing for a new id share one session.
    let vacant = match key {
        Some(key) => match endpoint.sessions.entry(key.to_owned()) {
            // Another request opened it meanwhile: the caller attaches
            // as to any existing session.
            Entry::Occupied(existing) => return Ok((existing.get().clone(), None, false)),
            Entry::Vacant(vacant) => Some(vacant),
        },
        None => None,
    };
    let reservation = inner.registry.reserve().map_err(|_| OpenError::Full)?;
    let new = Session::open(
        inner.config.clone(),
        SessionParams {
            transport: Transport::SockJs(transport),
            ext: true,
            protocol: accept.protocol,
            request: RequestInfo {
                uri: detached_uri(&parts.uri),
                headers: detached_headers(&parts.headers),
                remote_addr,
                extensions: accept.extensions,
            },
        },
    );
    let (attached, _) = watch::channel(false);
    let session = Arc::new(SjSession {
        engine: new.session,
        attached,
        attach_lock: Mutex::new(()),
        inbound: tokio::sync::Mutex::new(()),
    });
    let slot = if attach {
        match session.attach() {
            Attach::Attached(slot) => Some(slot),
            _ => None,
        }
    } else {
        None
    };
    reservation.insert(session.engine.clone());
    if let Some(vacant) = vacant {
        vacant.insert(session.clone());
    }
    tokio::spawn(drive(
        endpoint.clone(),
        session.clone(),
        key.map(str::to_owned),
    ));
    let socket = Socket::new(session.engine.clone(), new.inbound);
    tokio::spawn((inner.on_connect)(socket));
    Ok((session, slot, true))
}

impl SjSession {
    /// Takes the receiver slot, unless another request holds it or the
    /// session is over.
    pub(crate) fn attach(self: &Arc<Self>) -> Attach {
        let _serial = self.attach_lock.lock().unwrap_or_else(|p| p.into_inner());
        if *self.attached.borrow() {
            return Attach::Busy;
        }
        let transport = {
            let state = self.engine.lock();
            if state.phase == Phase::Closed {
                drop(state);
                return Attach::Closed(self.close_frame());
            }
            state.transport
        };
        match self.engine.attach_receiver(transport) {
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

    /// Records the transport now receiving for the session.
    pub(crate) fn set_transport(&self, transport: SockJsTransport) {
        let mut state = self.engine.lock();
        if state.phase != Phase::Closed {
            state.transport = Transport::SockJs(transport);
        }
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
        self.engine
            .close_now(CloseReason::TransportError(TransportError::Stalled));
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
            };
            let mut messages = Vec::with_capacity(packets.len());
            let mut close = None;
            for packet in packets {
                match packet {
                    Packet::Message(Message::Text(text)) => messages.push(text),
                    // SockJS carries text only.
                    Packet::Message(Message::Binary(bytes)) => {
                        messages.push(String::from_utf8_lossy(&bytes).into_owned())
                    }
                    Packet::Close(_) => close = Some(self.session.close_frame()),
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
    // Open: end the session after `delay` with no receiver.
    loop {
        tokio::select! {
            _ = attached.wait_for(|on| !*on) => {}
            _ = engine.ending() => break,
        }
        let reattached = tokio::select! {
            found = timeout(delay, attached.wait_for(|on| *on)) => found.is_ok(),
            _ = engine.ending() => break,
        };
        if !reattached {
            engine.close_now(CloseReason::TransportError(TransportError::ConnectionLost));
            break;
        }
    }
    // Closing: give a receiver the time to take the close frame.
    if engine.phase() == Phase::Closing {
        let grace = delay.max(endpoint.options.heartbeat_delay);
        let _ = timeout(grace, drained(&engine)).await;
    }
    engine.finish();
    endpoint.inner.registry.remove(engine.id());
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
    endpoint
        .sessions
        .remove_if(&key, |_, held| Arc::ptr_eq(held, &session));
}

/// Waits until a receiver has taken everything queued.
async fn drained(engine: &Session) {
    loop {
        let notified = engine.phase_notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let state = engine.lock();
            if state.queue.is_empty() || state.phase == Phase::Closed {
                return;
            }
        }
        notified.await;
    }
}

/// A copy of `uri` in its own allocation, so a session does not keep the
/// connection's read buffer alive (as the Engine.IO handshake does).
fn detached_uri(uri: &Uri) -> Uri {
    Uri::from_maybe_shared(Bytes::from(uri.to_string())).unwrap_or_else(|_| uri.clone())
}

/// A copy of `headers` whose values own their bytes.
fn detached_headers(headers: &HeaderMap) -> HeaderMap {
    let mut owned = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let mut copy = HeaderValue::from_maybe_shared(Bytes::copy_from_slice(value.as_bytes()))
            .unwrap_or_else(|_| value.clone());
        copy.set_sensitive(value.is_sensitive());
        owned.append(name.clone(), copy);
    }
    owned
}
