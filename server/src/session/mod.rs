//! The session layer: one [`Session`] per client, whatever carries it.
//!
//! A session owns the outbound queue, the inbound channel to the
//! application's [`Socket`](crate::Socket), the heartbeat and the close
//! reason. It never sees HTTP: a transport attaches as the one receiver
//! ([`Session::attach_receiver`]) and drains the queue into its own framing,
//! and hands every packet it reads to [`Session::handle_packet`].
//!
//! Outbound application messages take a permit of a semaphore sized
//! `max_queued_packets`; the receiver gives permits back as it drains, so a
//! slow client makes `send` wait instead of growing memory. Control packets
//! (ping, pong, noop, close) never wait.

mod driver;
pub(crate) use driver::spawn as spawn_driver;
mod receiver;
mod registry;
mod state;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::sync::{mpsc, Notify, Semaphore, TryAcquireError};

use crate::protocol::{CloseFrame, Message, Packet};
use crate::socket::{CloseReason, RequestInfo, SendError, TrySendError};
use crate::{Config, Transport};

pub(crate) use receiver::{Delivery, ReceiverGuard};
pub(crate) use registry::Registry;
pub(crate) use state::{BadAck, Phase, State};

/// Why a transport could not attach to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttachError {
    /// Another receiver is attached: the session has been closed.
    Overlap,
    /// The session is closing or closed.
    Closed,
    /// The session has moved to a transport this request is not on.
    WrongTransport,
}

/// A packet a client may not send on an open session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnexpectedPacket(pub(crate) Packet);

/// One client's session.
pub(crate) struct Session {
    id: Arc<str>,
    ext: bool,
    protocol: Option<String>,
    config: Arc<Config>,
    request: RequestInfo,
    state: Mutex<State>,
    /// Permits for queued application messages (backpressure).
    permits: Semaphore,
    /// Woken when the receiver has something to do: packets queued, a
    /// release requested, the session closed.
    receiver_wake: Notify,
    /// Woken when the phase moves towards Closed.
    phase_changed: Notify,
    pong: Notify,
    inbound: Mutex<Option<mpsc::Sender<Message>>>,
    close_reason: OnceLock<CloseReason>,
    /// A POST is being handled; a second one at once is a protocol error.
    post_in_flight: AtomicBool,
}

/// What the session's creator gets: the session and the receiving end of
/// its inbound channel (for the application's socket).
pub(crate) struct NewSession {
    pub(crate) session: Arc<Session>,
    pub(crate) inbound: mpsc::Receiver<Message>,
}

/// The parts a handshake decided.
pub(crate) struct SessionParams {
    pub(crate) transport: Transport,
    pub(crate) ext: bool,
    pub(crate) protocol: Option<String>,
    pub(crate) request: RequestInfo,
}

impl Session {
    pub(crate) fn open(config: Arc<Config>, params: SessionParams) -> NewSession {
        let (tx, rx) = mpsc::channel(config.max_inbound_messages);
        let session = Arc::new(Self {
            id: uuid::Uuid::new_v4().simple().to_string().into(),
            ext: params.ext,
            protocol: params.protocol,
            permits: Semaphore::new(config.max_queued_packets),
            config,
            request: params.request,
            state: Mutex::new(State::new(params.transport)),
            receiver_wake: Notify::new(),
            phase_changed: Notify::new(),
            pong: Notify::new(),
            inbound: Mutex::new(Some(tx)),
            close_reason: OnceLock::new(),
            post_in_flight: AtomicBool::new(false),
        });
        NewSession {
            session,
            inbound: rx,
        }
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn shared_id(&self) -> Arc<str> {
        self.id.clone()
    }

    pub(crate) fn ext(&self) -> bool {
        self.ext
    }

    pub(crate) fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn request(&self) -> &RequestInfo {
        &self.request
    }

    pub(crate) fn transport(&self) -> Transport {
        self.lock().transport
    }

    pub(crate) fn phase(&self) -> Phase {
        self.lock().phase
    }

    pub(crate) fn close_reason(&self) -> Option<&CloseReason> {
        self.close_reason.get()
    }

    /// The state, even if a thread panicked while holding the lock: every
    /// change to it is a single assignment, so it is never half-made.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ----- outbound -------------------------------------------------------

    /// Queues an application message, waiting for room in the queue.
    pub(crate) async fn send(&self, message: Message) -> Result<(), SendError> {
        if !is_encodable(&message) && !self.carries_any_text() {
            return Err(SendError::RecordSeparator);
        }
        // The queue has room nearly always: take a permit without building
        // the acquire future unless there is none.
        let permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(TryAcquireError::NoPermits) => self
                .permits
                .acquire()
                .await
                .map_err(|_| SendError::Closed)?,
            Err(TryAcquireError::Closed) => return Err(SendError::Closed),
        };
        permit.forget();
        self.enqueue_message(message).map_err(|_| SendError::Closed)
    }

    /// Queues an application message if there is room now.
    pub(crate) fn try_send(&self, message: Message) -> Result<(), TrySendError> {
        if !is_encodable(&message) && !self.carries_any_text() {
            return Err(TrySendError::RecordSeparator(message));
        }
        match self.permits.try_acquire() {
            Ok(permit) => permit.forget(),
            Err(TryAcquireError::NoPermits) => return Err(TrySendError::Full(message)),
            Err(TryAcquireError::Closed) => return Err(TrySendError::Closed(message)),
        }
        self.enqueue_message(message).map_err(TrySendError::Closed)
    }

    /// SockJS sessions (issue 17) frame text as JSON, so U+001E travels.
    fn carries_any_text(&self) -> bool {
        matches!(self.transport(), Transport::SockJs(_))
    }

    fn enqueue_message(&self, message: Message) -> Result<(), Message> {
        let state = self.lock();
        if !state.phase.is_open() {
            drop(state);
            self.permits.add_permits(1);
            return Err(message);
        }
        self.push(state, Packet::Message(message));
        Ok(())
    }

    /// Queues `packet`, waking the receiver only when the queue goes from
    /// empty to not: a receiver waits only after finding it empty, so a
    /// push behind others has nobody new to wake.
    fn push(&self, mut state: MutexGuard<'_, State>, packet: Packet) {
        let was_empty = state.queue.is_empty();
        state.queue.push_back(packet);
        drop(state);
        if was_empty {
            self.receiver_wake.notify_waiters();
        }
    }

    /// Queues a control packet; never waits, never counts against the bound.
    pub(crate) fn push_control(&self, packet: Packet) {
        let state = self.lock();
        if state.phase == Phase::Closed {
            return;
        }
        self.push(state, packet);
    }

    // ----- inbound --------------------------------------------------------

    /// Marks a POST as being handled; `None` if one already is, in which
    /// case the session is closed (overlapping POSTs could reorder).
    pub(crate) fn begin_post(self: &Arc<Self>) -> Option<PostGuard> {
        if self.post_in_flight.swap(true, Ordering::AcqRel) {
            self.close_now(CloseReason::TransportError(
                crate::socket::TransportError::Overlap,
            ));
            return None;
        }
        Some(PostGuard(self.clone()))
    }

    /// The way in to the application's socket, for one transport loop or
    /// one POST to hold while it hands over packets: taken once, not per
    /// message.
    pub(crate) fn inlet(&self) -> Inlet {
        Inlet(
            self.inbound
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }

    /// Acts on one packet a client sent on an open session.
    pub(crate) async fn handle_packet(
        &self,
        inlet: &Inlet,
        packet: Packet,
    ) -> Result<(), UnexpectedPacket> {
        match packet {
            Packet::Message(message) => self.deliver(inlet, message).await,
            Packet::Pong(_) => self.pong.notify_one(),
            Packet::Close(frame) => {
                let frame = frame
                    .filter(|frame| CloseFrame::is_client_code(frame.code))
                    .unwrap_or_else(|| CloseFrame::new(CloseFrame::NO_STATUS, ""));
                self.close_now(CloseReason::ClientClosed(frame));
            }
            // A repeated upgrade or a noop changes nothing.
            Packet::Noop | Packet::Upgrade => {}
            // Only servers open and ping; a client ping is the probe, which
            // the WebSocket transport answers before the session sees it.
            other @ (Packet::Open(_) | Packet::Ping(_)) => return Err(UnexpectedPacket(other)),
        }
        Ok(())
    }

    async fn deliver(&self, inlet: &Inlet, message: Message) {
        // Nothing is delivered once the session is closing, even to an
        // inlet taken before.
        if self.close_reason.get().is_some() {
            return;
        }
        let Some(sender) = &inlet.0 else { return };
        // An error means the application dropped its socket: nobody
        // listens any more, and the message has nowhere to go.
        if let Err(mpsc::error::TrySendError::Full(message)) = sender.try_send(message) {
            let _ = sender.send(message).await;
        }
    }

    // ----- receivers ------------------------------------------------------

    /// Attaches a receiver for `transport`. A second receiver while one is
    /// attached closes the session, as Engine.IO requires.
    pub(crate) fn attach_receiver(
        self: &Arc<Self>,
        transport: Transport,
    ) -> Result<ReceiverGuard, AttachError> {
        self.attach(transport, false)
    }

    /// Attaches the upgraded WebSocket as the receiver, asking the previous
    /// receiver (already released by the probe) to finish.
    pub(crate) fn take_over_receiver(self: &Arc<Self>) -> Result<ReceiverGuard, AttachError> {
        self.attach(Transport::WebSocket, true)
    }

    fn attach(
        self: &Arc<Self>,
        transport: Transport,
        take_over: bool,
    ) -> Result<ReceiverGuard, AttachError> {
        let mut state = self.lock();
        if state.phase == Phase::Closed {
            return Err(AttachError::Closed);
        }
        if state.transport != transport {
            return Err(AttachError::WrongTransport);
        }
        match state.receiver {
            Some(previous) if take_over => state.release_requested = Some(previous),
            Some(_) => {
                drop(state);
                self.close_now(CloseReason::TransportError(
                    crate::socket::TransportError::Overlap,
                ));
                return Err(AttachError::Overlap);
            }
            None => {}
        }
        let id = state.next_receiver_id;
        state.next_receiver_id += 1;
        state.receiver = Some(id);
        state.transport = transport;
        drop(state);
        self.receiver_wake.notify_waiters();
        Ok(ReceiverGuard::new(self.clone(), id))
    }

    /// Puts packets a receiver took but could not write back at the front.
    pub(crate) fn requeue_front(&self, packets: Vec<Packet>) {
        let mut state = self.lock();
        for packet in packets.into_iter().rev() {
            state.queue.push_front(packet);
        }
    }

    pub(crate) fn receiver_notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.receiver_wake.notified()
    }

    pub(crate) fn return_permits(&self, messages: usize) {
        if messages > 0 {
            self.permits.add_permits(messages);
        }
    }

    // ----- upgrade --------------------------------------------------------

    /// A WebSocket with this session's id wants to upgrade it. Only one may
    /// try, and only while the session is open on another transport.
    pub(crate) fn begin_websocket_attach(&self) -> Result<(), AttachError> {
        let mut state = self.lock();
        if state.phase != Phase::Open {
            return Err(AttachError::Closed);
        }
        if state.websocket_attached {
            return Err(AttachError::WrongTransport);
        }
        state.websocket_attached = true;
        Ok(())
    }

    /// The probe was answered: end the pending receive so the client can
    /// pause its old transport.
    pub(crate) fn probe_answered(&self) {
        let mut state = self.lock();
        if state.phase == Phase::Open {
            state.phase = Phase::Upgrading;
        }
        state.release_requested = state.receiver;
        drop(state);
        self.receiver_wake.notify_waiters();
    }

    /// The upgrade packet arrived: the WebSocket becomes the transport.
    /// Any receiver still attached is asked to finish.
    pub(crate) fn complete_upgrade(&self) -> Result<(), AttachError> {
        let mut state = self.lock();
        if state.phase != Phase::Upgrading {
            return Err(AttachError::Closed);
        }
        state.phase = Phase::Open;
        state.transport = Transport::WebSocket;
        // The client sends the upgrade packet only after reading its last
        // stream to the end: nothing streamed needs keeping.
        state.stream = state::StreamLedger::default();
        state.release_requested = state.receiver;
        drop(state);
        self.receiver_wake.notify_waiters();
        Ok(())
    }

    /// The upgrading WebSocket went away before the upgrade packet.
    pub(crate) fn abandon_upgrade(&self) {
        let mut state = self.lock();
        if state.transport != Transport::WebSocket {
            state.websocket_attached = false;
            if state.phase == Phase::Upgrading {
                state.phase = Phase::Open;
            }
        }
    }

    // ----- closing --------------------------------------------------------

    /// Closes the session from the server side: the close packet (with code
    /// and reason for extension clients) is queued behind what is already
    /// there, and the session ends once it is delivered.
    pub(crate) fn close_gracefully(&self, reason: CloseReason) {
        let body = self.close_body(&reason);
        let mut state = self.lock();
        if state.phase.is_ending() {
            return;
        }
        let _ = self.close_reason.set(reason);
        state.phase = Phase::Closing;
        state.queue.push_back(Packet::Close(body));
        drop(state);
        self.stop_inbound();
        self.receiver_wake.notify_waiters();
        self.phase_changed.notify_waiters();
    }

    /// Closes the session at once: the client closed it, vanished or broke
    /// the protocol. What was queued is dropped; a receiver still attached
    /// answers with a close packet.
    pub(crate) fn close_now(&self, reason: CloseReason) {
        let mut state = self.lock();
        if state.phase == Phase::Closed {
            return;
        }
        let _ = self.close_reason.set(reason);
        if state.phase != Phase::Closing {
            let body = self
                .close_reason
                .get()
                .and_then(|reason| self.close_body(reason));
            state.queue.clear();
            state.queue.push_back(Packet::Close(body));
        }
        state.phase = Phase::Closed;
        drop(state);
        self.finished();
    }

    /// The close packet's body: code and reason for extension sessions,
    /// when the code is one that may travel.
    fn close_body(&self, reason: &CloseReason) -> Option<CloseFrame> {
        let frame = reason.frame();
        (self.ext && CloseFrame::is_sendable(frame.code)).then_some(frame)
    }

    /// Ends a session that was closing; its queue is left for a receiver
    /// still attached to take.
    pub(crate) fn finish(&self) {
        let mut state = self.lock();
        if state.phase == Phase::Closed {
            return;
        }
        state.phase = Phase::Closed;
        drop(state);
        self.finished();
    }

    fn finished(&self) {
        self.stop_inbound();
        self.permits.close();
        self.receiver_wake.notify_waiters();
        self.phase_changed.notify_waiters();
    }

    fn stop_inbound(&self) {
        self.inbound
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }

    /// Waits until the session is closing or closed.
    pub(crate) async fn ending(&self) {
        self.wait_phase(Phase::is_ending).await
    }

    /// Waits until the session is closed.
    pub(crate) async fn closed(&self) {
        self.wait_phase(|phase| phase == Phase::Closed).await
    }

    async fn wait_phase(&self, done: impl Fn(Phase) -> bool) {
        loop {
            let notified = self.phase_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(self.phase()) {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn phase_notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.phase_changed.notified()
    }

    pub(crate) fn notify_phase(&self) {
        self.phase_changed.notify_waiters();
    }

    pub(crate) fn pong_notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.pong.notified()
    }
}

/// Whether every transport can carry `message`: text may not hold U+001E,
/// the polling payload's record separator.
fn is_encodable(message: &Message) -> bool {
    match message {
        Message::Text(text) => memchr::memchr(0x1e, text.as_bytes()).is_none(),
        Message::Binary(_) => true,
    }
}

/// A hold on the application's inbound channel (see [`Session::inlet`]).
/// The socket's `recv` ends once the session and every inlet let go.
pub(crate) struct Inlet(Option<mpsc::Sender<Message>>);

/// A POST being handled; clears the in-flight mark when dropped.
pub(crate) struct PostGuard(Arc<Session>);

impl Drop for PostGuard {
    fn drop(&mut self) {
        self.0.post_in_flight.store(false, Ordering::Release);
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("ext", &self.ext)
            .finish_non_exhaustive()
    }
}
