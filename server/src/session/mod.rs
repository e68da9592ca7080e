//! The session layer: one [`Session`] per client, whatever carries it.
//!
//! A session is a sans-IO state machine ([`machine`]) behind one lock,
//! wrapped in a thin tokio shell: the shell applies events and performs the
//! wake-ups the machine asks for (a transport waiting for packets, senders
//! waiting for room, tasks waiting for the close). Nothing outside this
//! module takes the lock.
//!
//! A session never sees HTTP. A transport attaches as the one receiver
//! ([`Session::attach`]) and drains the queue into its own framing through
//! its [`ReceiverGuard`], and hands every packet it reads to
//! [`Session::handle_packet`].
//!
//! Backpressure: an application message is admitted only while the session
//! holds fewer than `max_queued_packets` messages and `max_queued_bytes`
//! bytes of them (queued or being written); otherwise `send` waits.
//! Control packets (ping, pong, noop, close) never wait.

pub(crate) mod heartbeat;
mod inbound;
mod ledger;
mod machine;
mod queue;
mod receiver;
mod resume;
mod retention;

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::close::{CloseReason, SendError, TrySendError};
use crate::handshake::RequestInfo;
use crate::protocol::{CloseFrame, Message, Packet, SharedMessage};
use crate::{Config, Transport};

pub(crate) use inbound::{InboundReceiver, Inlet};
pub(crate) use machine::{Delivery, Phase, Refusal};
pub(crate) use queue::Held;
pub(crate) use receiver::ReceiverGuard;

use inbound::InboundSide;
use machine::{Event, Machine, Output, Settings, Wake};
use queue::Limits;

/// Why a shared message (a broadcast's) was not queued for one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SharedRefusal {
    /// The outbound queue is full.
    Full,
    /// The session is closing or closed.
    Closed,
    /// Text holding U+001E, which this session's transport cannot carry.
    RecordSeparator,
    /// Longer than `max_payload` bytes.
    TooLarge,
}

/// A packet a client may not send on an open session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UnexpectedPacket {
    /// A type a client never sends (open, ping).
    Type(Packet),
    /// An ack below an earlier one or above what was sent (the session is
    /// closed).
    AckOutOfRange,
    /// A message numbered past the next one (a POST's `seq` with a gap;
    /// the session is closed).
    SeqOutOfRange,
}

/// One client's session.
pub(crate) struct Session {
    id: Arc<str>,
    ext: bool,
    protocol: Option<String>,
    config: Arc<Config>,
    request: RequestInfo,
    machine: Mutex<Machine>,
    /// Woken when the receiver has something to do: packets queued, a
    /// release requested, the session closed.
    receiver_wake: Notify,
    /// Woken when room is made in the queue, or it closes.
    senders_wake: Notify,
    /// Woken when the phase moves towards Closed.
    phase_changed: Notify,
    pong: Notify,
    /// Woken when a resume session receives its first unacknowledged
    /// message: the timers start the 100 ms ack timer.
    ack_timer: Notify,
    inbound: InboundSide,
}

/// What the session's creator gets: the session and the receiving end of
/// its inbound channel (for the application's socket).
pub(crate) struct NewSession {
    pub(crate) session: Arc<Session>,
    pub(crate) inbound: InboundReceiver,
}

/// The parts a handshake decided.
pub(crate) struct SessionParams {
    pub(crate) transport: Transport,
    pub(crate) ext: bool,
    pub(crate) protocol: Option<String>,
    pub(crate) request: RequestInfo,
    /// Whether the session resumes after a loss (protocol-spec 11).
    pub(crate) resume: bool,
}

impl Session {
    pub(crate) fn open(config: Arc<Config>, params: SessionParams) -> NewSession {
        let settings = Settings {
            queue: Limits {
                messages: config.max_queued_packets,
                bytes: config.max_queued_bytes,
            },
            retention: retention::RetentionLimits {
                messages: config.resume_buffer_messages,
                bytes: config.resume_buffer_bytes,
            },
            ledger_bytes: ledger_bytes(&config),
            ext: params.ext,
            resume: params.resume,
        };
        let (inbound, receiver) = InboundSide::new(
            config.max_inbound_messages,
            u32::try_from(config.max_inbound_bytes).unwrap_or(u32::MAX),
        );
        let session = Arc::new(Self {
            id: crate::cluster::sid::new_session_id(config.node_id.as_deref()).into(),
            ext: params.ext,
            protocol: params.protocol,
            machine: Mutex::new(Machine::new(params.transport, settings)),
            config,
            request: params.request,
            receiver_wake: Notify::new(),
            senders_wake: Notify::new(),
            phase_changed: Notify::new(),
            pong: Notify::new(),
            ack_timer: Notify::new(),
            inbound,
        });
        NewSession {
            session,
            inbound: receiver,
        }
    }

    /// The machine, even if a thread panicked while holding the lock: every
    /// event is applied whole before the lock is released.
    fn machine(&self) -> MutexGuard<'_, Machine> {
        self.machine
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies one event and performs the wake-ups it asks for, after the
    /// lock is released.
    fn apply(&self, event: Event) -> Result<Output, Refusal> {
        let outcome = self.machine().apply(event);
        self.wake(outcome.wake);
        outcome.result
    }

    fn wake(&self, wake: Wake) {
        if wake.stop_inbound {
            self.inbound.stop();
        }
        if wake.receiver {
            self.receiver_wake.notify_waiters();
        }
        if wake.senders {
            self.senders_wake.notify_waiters();
        }
        if wake.phase {
            self.phase_changed.notify_waiters();
        }
    }

    // ----- what the session is ---------------------------------------------

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn shared_id(&self) -> Arc<str> {
        self.id.clone()
    }

    pub(crate) fn ext(&self) -> bool {
        self.ext
    }

    /// Whether this is a resume session (protocol-spec 11).
    pub(crate) fn is_resume(&self) -> bool {
        self.machine().is_resume()
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
        self.machine().transport()
    }

    pub(crate) fn phase(&self) -> Phase {
        self.machine().phase()
    }

    pub(crate) fn close_reason(&self) -> Option<CloseReason> {
        self.machine().close_reason().cloned()
    }

    /// Bytes this session holds in its queues: outbound messages (queued
    /// or being written), the stream ledger, the copies a resume session
    /// keeps of written messages, and inbound messages waiting for the
    /// application.
    pub(crate) fn buffered_bytes(&self) -> usize {
        let machine = self.machine();
        machine.held().bytes
            + machine.ledger_bytes()
            + machine.retained_bytes()
            + self.inbound.bytes_waiting()
    }

    /// Bytes of the copies a resume session keeps of written messages.
    pub(crate) fn retained_bytes(&self) -> usize {
        self.machine().retained_bytes()
    }

    pub(crate) fn has_returned(&self) -> bool {
        self.machine().has_returned()
    }

    pub(crate) fn queue_is_full(&self) -> bool {
        self.machine().queue_is_full()
    }

    pub(crate) fn delivered_count(&self) -> usize {
        self.machine().delivered_count()
    }

    // ----- outbound -------------------------------------------------------

    /// Queues an application message, waiting for room in the queue.
    pub(crate) async fn send(&self, mut message: Message) -> Result<(), SendError> {
        if !is_encodable(&message) && !self.carries_any_text() {
            return Err(SendError::RecordSeparator);
        }
        if message_len(&message) > self.config.max_payload {
            return Err(SendError::TooLarge);
        }
        loop {
            let room = self.senders_wake.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.apply(Event::Admit(message)) {
                Ok(_) => return Ok(()),
                Err(Refusal::Full(back)) => message = back,
                Err(_) => return Err(SendError::Closed),
            }
            room.await;
        }
    }

    /// Queues an application message if there is room now.
    pub(crate) fn try_send(&self, message: Message) -> Result<(), TrySendError> {
        if !is_encodable(&message) && !self.carries_any_text() {
            return Err(TrySendError::RecordSeparator(message));
        }
        if message_len(&message) > self.config.max_payload {
            return Err(TrySendError::TooLarge(message));
        }
        match self.apply(Event::Admit(message)) {
            Ok(_) => Ok(()),
            Err(Refusal::Full(message)) => Err(TrySendError::Full(message)),
            Err(Refusal::Closed(Some(message))) => Err(TrySendError::Closed(message)),
            Err(_) => unreachable_refusal(),
        }
    }

    /// Queues a message encoded once for many sockets if there is room
    /// now: the same checks and the same bound as [`try_send`](Self::try_send),
    /// with no copy of the message (one reference count).
    pub(crate) fn try_send_shared(&self, message: &SharedMessage) -> Result<(), SharedRefusal> {
        if message.holds_separator() && !self.carries_any_text() {
            return Err(SharedRefusal::RecordSeparator);
        }
        if message.len() > self.config.max_payload {
            return Err(SharedRefusal::TooLarge);
        }
        match self.apply(Event::AdmitShared(message.clone())) {
            Ok(_) => Ok(()),
            Err(Refusal::SharedFull) => Err(SharedRefusal::Full),
            Err(_) => Err(SharedRefusal::Closed),
        }
    }

    /// SockJS sessions (issue 17) frame text as JSON, so U+001E travels.
    fn carries_any_text(&self) -> bool {
        matches!(self.transport(), Transport::SockJs(_))
    }

    /// Queues a control packet; never waits, never counts against the bound.
    pub(crate) fn push_control(&self, packet: Packet) {
        let _ = self.apply(Event::Control(packet));
    }

    // ----- inbound --------------------------------------------------------

    /// Marks a POST as being handled. A second one at once is refused and
    /// closes the session (overlapping POSTs could reorder).
    pub(crate) fn begin_post(self: &Arc<Self>) -> Result<PostGuard, Refusal> {
        self.apply(Event::BeginPost)?;
        Ok(PostGuard(self.clone()))
    }

    /// The way in to the application's socket, for one transport loop or
    /// one POST to hold while it hands over packets.
    pub(crate) fn inlet(&self) -> Inlet {
        self.inbound.inlet()
    }

    /// Acts on one packet a client sent on an open session.
    pub(crate) async fn handle_packet(
        &self,
        inlet: &Inlet,
        packet: Packet,
    ) -> Result<(), UnexpectedPacket> {
        self.handle_from(inlet, packet, None, None).await
    }

    /// [`handle_packet`](Self::handle_packet) for a packet whose message
    /// number the request gave (a POST's `seq`): in a resume session a
    /// message already received is dropped, one past the next is a gap.
    pub(crate) async fn handle_numbered(
        &self,
        inlet: &Inlet,
        packet: Packet,
        number: Option<u64>,
    ) -> Result<(), UnexpectedPacket> {
        self.handle_from(inlet, packet, number, None).await
    }

    /// Acts on a packet; `from`: the receiver whose connection read it (see
    /// [`ReceiverGuard::handle_packet`]).
    pub(crate) async fn handle_from(
        &self,
        inlet: &Inlet,
        packet: Packet,
        number: Option<u64>,
        from: Option<machine::ReceiverId>,
    ) -> Result<(), UnexpectedPacket> {
        match packet {
            // Nothing is delivered once the session is closing, even to an
            // inlet taken before: the inlet knows.
            Packet::Message(message) => {
                let event = Event::Incoming {
                    number,
                    bytes: message_len(&message),
                    from,
                };
                match self.apply(event) {
                    Ok(Output::Incoming {
                        deliver,
                        start_ack_timer,
                    }) => {
                        if start_ack_timer {
                            self.ack_timer.notify_one();
                        }
                        if deliver {
                            inlet.deliver(message).await;
                        }
                    }
                    Err(Refusal::SeqOutOfRange) => return Err(UnexpectedPacket::SeqOutOfRange),
                    _ => {}
                }
            }
            Packet::Ack(n) => {
                if let Err(Refusal::AckOutOfRange | Refusal::NotResumable) =
                    self.apply(Event::Ack(n))
                {
                    return Err(UnexpectedPacket::AckOutOfRange);
                }
            }
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
            // A shared message is made by the server, never decoded.
            other @ (Packet::Open(_) | Packet::Ping(_) | Packet::Shared(_)) => {
                return Err(UnexpectedPacket::Type(other))
            }
        }
        Ok(())
    }

    // ----- receivers ------------------------------------------------------

    /// Attaches a receiver for `transport`. A second receiver while one is
    /// attached closes the session, as Engine.IO requires.
    pub(crate) fn attach(self: &Arc<Self>, transport: Transport) -> Result<ReceiverGuard, Refusal> {
        match self.apply(Event::Attach(transport))? {
            Output::Receiver(id) => Ok(ReceiverGuard::new(self.clone(), id)),
            _ => unreachable_refusal(),
        }
    }

    /// Attaches the upgraded WebSocket as the receiver, asking the previous
    /// receiver (already released by the probe) to finish.
    pub(crate) fn take_over(self: &Arc<Self>) -> Result<ReceiverGuard, Refusal> {
        match self.apply(Event::TakeOver)? {
            Output::Receiver(id) => Ok(ReceiverGuard::new(self.clone(), id)),
            _ => unreachable_refusal(),
        }
    }

    // ----- upgrade --------------------------------------------------------

    /// A WebSocket with this session's id wants to upgrade it. Only one may
    /// try, and only while the session is open on another transport.
    pub(crate) fn claim_websocket(&self) -> Result<(), Refusal> {
        self.apply(Event::ClaimWebSocket).map(drop)
    }

    /// The probe was answered: end the pending receive so the client can
    /// pause its old transport.
    pub(crate) fn probe_answered(&self) -> Result<(), Refusal> {
        self.apply(Event::ProbeAnswered).map(drop)
    }

    /// The upgrade packet arrived: the WebSocket becomes the transport.
    pub(crate) fn complete_upgrade(&self) -> Result<(), Refusal> {
        self.apply(Event::CompleteUpgrade).map(drop)
    }

    /// The upgrading WebSocket went away before the upgrade packet.
    pub(crate) fn abandon_upgrade(&self) {
        let _ = self.apply(Event::AbandonUpgrade);
    }

    // ----- closing --------------------------------------------------------

    /// Closes the session from the server side: the close packet (with code
    /// and reason for extension clients) is queued behind what is already
    /// there, and the session ends once it is delivered.
    pub(crate) fn close_gracefully(&self, reason: CloseReason) {
        let _ = self.apply(Event::Close {
            reason,
            graceful: true,
        });
    }

    /// Closes the session at once: the client closed it, vanished or broke
    /// the protocol. What was queued is dropped; a receiver still attached
    /// is answered with a close packet (a noop when the client closed).
    pub(crate) fn close_now(&self, reason: CloseReason) {
        let _ = self.apply(Event::Close {
            reason,
            graceful: false,
        });
    }

    /// Ends a session that was closing.
    pub(crate) fn finish(&self) {
        let _ = self.apply(Event::Finish);
    }

    /// Waits until the session is closing or closed.
    pub(crate) async fn ending(&self) {
        self.wait_until(|machine| machine.phase().is_ending()).await
    }

    /// Waits until the session is closed.
    pub(crate) async fn closed(&self) {
        self.wait_until(|machine| machine.phase() == Phase::Closed)
            .await
    }

    /// Waits until a closing session has handed over everything queued
    /// (the close packet last), or closed outright.
    pub(crate) async fn drained(&self) {
        self.wait_until(Machine::is_drained).await
    }

    async fn wait_until(&self, done: impl Fn(&Machine) -> bool) {
        loop {
            let notified = self.phase_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(&self.machine()) {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn pong_notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.pong.notified()
    }
}

/// What the stream ledger may keep: two streaming responses' worth (a
/// client may lose one response and the next one too before it
/// acknowledges), where a response is `response_limit` bytes plus the
/// packet that crossed it, at most `max_payload` bytes of binary in base64.
pub(crate) fn ledger_bytes(config: &Config) -> usize {
    let largest_packet = config.max_payload.saturating_mul(4) / 3 + 16;
    config
        .response_limit
        .saturating_add(largest_packet)
        .saturating_mul(2)
}

/// A session opened directly, without HTTP, for the session's own tests.
#[cfg(test)]
pub(crate) fn test_session(config: Config, transport: Transport) -> Arc<Session> {
    open_test_session(config, transport, false)
}

/// [`test_session`], a resume session.
#[cfg(test)]
pub(crate) fn test_resume_session(config: Config, transport: Transport) -> Arc<Session> {
    open_test_session(config, transport, true)
}

#[cfg(test)]
fn open_test_session(config: Config, transport: Transport, resume: bool) -> Arc<Session> {
    let request = RequestInfo {
        uri: http::Uri::from_static("/"),
        headers: http::HeaderMap::new(),
        remote_addr: None,
        extensions: http::Extensions::new(),
    };
    let new = Session::open(
        Arc::new(config),
        SessionParams {
            transport,
            ext: true,
            protocol: None,
            request,
            resume,
        },
    );
    // The application's end: dropped, as by a handler that never reads.
    drop(new.inbound);
    new.session
}

/// A refusal the machine never gives for this event.
#[cold]
fn unreachable_refusal() -> ! {
    unreachable!("the state machine gave a refusal this event cannot have")
}

/// Whether every transport can carry `message`: text may not hold U+001E,
/// the polling payload's record separator.
fn is_encodable(message: &Message) -> bool {
    match message {
        Message::Text(text) => memchr::memchr(0x1e, text.as_bytes()).is_none(),
        Message::Binary(_) => true,
    }
}

/// A message's length in bytes, as `max_payload` counts it.
fn message_len(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
    }
}

/// A POST being handled; clears the in-flight mark when dropped.
pub(crate) struct PostGuard(Arc<Session>);

impl Drop for PostGuard {
    fn drop(&mut self) {
        let _ = self.0.apply(Event::EndPost);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_no_transport_can_carry_are_refused_with_the_reason() {
        let config = Config {
            max_payload: 1000,
            ..Config::default()
        };
        let session = test_session(config, Transport::Polling);
        assert_eq!(
            session.send(Message::Text("x".repeat(1001))).await,
            Err(SendError::TooLarge)
        );
        assert!(matches!(
            session.try_send(Message::Binary(vec![0; 1001].into())),
            Err(TrySendError::TooLarge(_))
        ));
        let error = session
            .send(Message::Text("a\u{1e}b".into()))
            .await
            .unwrap_err();
        assert_eq!(error, SendError::RecordSeparator);
        assert!(error.to_string().contains("U+001E"), "{error}");
        session.send(Message::Text("x".repeat(1000))).await.unwrap();
    }
}
