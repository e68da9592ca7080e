//! A session's state machine, sans IO: every change to a session is one
//! [`Event`] applied to its [`Machine`], which answers with an [`Outcome`]
//! saying what happened and whom to wake. No tokio, no locks, no clocks:
//! the shell in [`super`] owns the lock and performs the wake-ups.
//!
//! ```text
//!                 ClaimWebSocket          ProbeAnswered           CompleteUpgrade
//!   Open ─────────────────────▶ Open ─────────────────▶ Upgrading ─────────────▶ Open
//!   (any transport)        (websocket claimed)   │  ▲          (transport = websocket)
//!                                                │  └ AbandonUpgrade: back to Open,
//!                                                │    websocket unclaimed
//!   Open | Upgrading ── Close(graceful) ──▶ Closing ── Finish (close packet
//!                                             │        taken, or grace over) ──▶ Closed
//!   Open | Upgrading | Closing ── Close(now) ─┴─────────────────────────────▶ Closed
//!
//!   resume sessions only (protocol-spec 11):
//!   Open | Upgrading ── Suspend (transport lost) ──▶ Suspended
//!   Suspended ── Resume{t, last} | Attach / BeginPost on its transport ──▶ Open
//!   Suspended ── WindowOver | Close (graceful or not) ──▶ Closed
//! ```
//!
//! Resume sessions number their messages ([`Numbering`]): a copy of what
//! the client has not acknowledged stays in the session's retention
//! ([`super::retention`]), under its own bound, until it does; the
//! message itself leaves the queue's account once it is written.
//!
//! Beside the phase, the machine owns the transport carrying the session,
//! the one attached receiver and a pending request that it end its
//! response (release), the outbound queue with its one account
//! ([`OutQueue`]), the stream ledger for cut streaming responses, the close
//! reason, and the one-POST-at-a-time rule.

use crate::close::{CloseReason, TransportError};
use crate::protocol::{CloseFrame, Message, Packet, SharedMessage};
use crate::Transport;

use super::ledger::{BadAck, LedgerFull, StreamLedger};
use super::queue::{Held, Limits, OutQueue};
use super::retention::RetentionLimits;

#[path = "machine_resume.rs"]
mod resume;
use resume::Numbering;

/// Identifies one attached receiver (one GET, stream or WebSocket).
pub(crate) type ReceiverId = u64;

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Carrying packets on its transport.
    Open,
    /// A WebSocket has answered the probe; waiting for the upgrade packet.
    Upgrading,
    /// A resume session whose transport was lost: no receiver, no pings,
    /// messages queue; waiting for its client to resume within the window.
    Suspended,
    /// The server closed it; the close packet is waiting to be delivered.
    Closing,
    /// Over. No packet goes in or out any more.
    Closed,
}

impl Phase {
    /// Whether the session still accepts application messages (a
    /// suspended one does: the application never sees a suspension).
    pub(crate) fn is_open(self) -> bool {
        matches!(self, Self::Open | Self::Upgrading | Self::Suspended)
    }

    /// Whether a transport carries the session now.
    pub(crate) fn is_carried(self) -> bool {
        matches!(self, Self::Open | Self::Upgrading)
    }

    /// Whether the session is closing or closed.
    pub(crate) fn is_ending(self) -> bool {
        !self.is_open()
    }
}

/// Everything that can happen to a session.
#[derive(Debug)]
pub(crate) enum Event {
    /// The application sends a message.
    Admit(Message),
    /// A broadcast queues its message, encoded once for every socket.
    AdmitShared(SharedMessage),
    /// The server queues a control packet (ping, ...).
    Control(Packet),
    /// A request for `transport` wants to be the receiver.
    Attach(Transport),
    /// The upgraded WebSocket becomes the receiver, ending the previous one.
    TakeOver,
    /// A receiver went away (its request ended or was dropped).
    Detach(ReceiverId),
    /// A receiver asks for packets that fit in `budget` bytes.
    Take {
        receiver: ReceiverId,
        budget: usize,
    },
    /// A receiver could not write these; they go back to the front.
    Requeue(Vec<Packet>),
    /// A receiver handed packets holding these messages to the network.
    Delivered(Held),
    /// Packets were written to a streaming response (kept until acked).
    Streamed(Vec<Packet>),
    /// A streaming GET came back acknowledging `ack` packets.
    ResumeStream(Option<u64>),
    /// A POST starts / ends.
    BeginPost,
    EndPost,
    /// A WebSocket with this session's id asks to upgrade it.
    ClaimWebSocket,
    /// That WebSocket answered the probe: end the old transport's response.
    ProbeAnswered,
    /// The upgrade packet arrived.
    CompleteUpgrade,
    /// The upgrading WebSocket failed or went away.
    AbandonUpgrade,
    /// Close: `graceful` delivers what is queued first (server closes);
    /// otherwise at once (client close, failures).
    Close {
        reason: CloseReason,
        graceful: bool,
    },
    /// A closing session's close packet was taken, or its grace ran out.
    Finish,
    /// The client acknowledged its messages up to this number (`7<n>`).
    Ack(u64),
    /// A GET's `ack=n` in a resume session: acknowledges, then puts back
    /// at the front what was written with a higher number (it was lost).
    AckReplay(u64),
    /// The transport was lost without a close (receiver: the one that lost
    /// it; `None`: the session's own timers). A resume session suspends;
    /// any other closes with `reason`.
    Suspend {
        receiver: Option<ReceiverId>,
        reason: CloseReason,
    },
    /// A resume handshake: the client has received `last` messages and
    /// comes back on `transport`.
    Resume {
        transport: Transport,
        last: u64,
    },
    /// The resume window of a suspended session ran out.
    WindowOver,
    /// One message from the client arrives; `number` is the one a POST's
    /// `seq` gives it (none: the next one). `from`: the receiver whose
    /// connection carried it (a WebSocket), if any: once another receiver
    /// has taken over, what the old connection still reads is dropped (the
    /// client sends it again after the resume).
    Incoming {
        number: Option<u64>,
        bytes: usize,
        from: Option<ReceiverId>,
    },
    /// The first unacknowledged client message came 100 ms ago.
    AckDue,
}

/// What a receiver gets when it asks for packets.
#[derive(Debug, PartialEq)]
pub(crate) enum Delivery {
    /// Packets to write, in order (at least one).
    Packets(Vec<Packet>),
    /// Nothing yet: wait for a wake-up and ask again.
    Empty,
    /// The receiver was asked to end its response (upgrade, takeover).
    Released,
    /// The session is over and everything queued has been taken.
    Closed,
}

/// Whom the shell must wake after an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Wake {
    /// The receiver has something to do (packets, release, close).
    pub(crate) receiver: bool,
    /// Room was made in the queue (or it closed): senders may retry.
    pub(crate) senders: bool,
    /// The phase moved towards Closed.
    pub(crate) phase: bool,
    /// No more messages may reach the application: drop the inlet.
    pub(crate) stop_inbound: bool,
}

/// What an event produced, when it produces something.
#[derive(Debug, PartialEq)]
pub(crate) enum Output {
    Done,
    Receiver(ReceiverId),
    Delivery(Delivery),
    Replay(Vec<Packet>),
    /// A resume handshake succeeded: the new receiver (every transport
    /// but polling) and the client messages received so far.
    Resumed {
        receiver: Option<ReceiverId>,
        received: u64,
    },
    /// What to do with an incoming client message.
    Incoming {
        /// Hand it to the application (false: a duplicate, drop it).
        deliver: bool,
        /// It is the first unacknowledged one: start the 100 ms ack timer.
        start_ack_timer: bool,
    },
}

/// Why an event was refused. The state is unchanged, except where a
/// refusal is itself a close (noted on the variant).
#[derive(Debug, PartialEq)]
pub(crate) enum Refusal {
    /// The session is closing or closed (the message, if one was sent).
    Closed(Option<Message>),
    /// The queue is full.
    Full(Message),
    /// The queue is full (for a shared message, which nobody needs back).
    SharedFull,
    /// Another receiver is attached. The session is closed by it, as
    /// Engine.IO requires of a second pending GET.
    SecondReceiver,
    /// The session is carried by another transport now.
    WrongTransport(Transport),
    /// A WebSocket is already upgrading this session.
    UpgradeInProgress,
    /// The session already runs on a WebSocket.
    AlreadyUpgraded,
    /// A probe or upgrade packet with no upgrade under way.
    NotUpgrading,
    /// A second POST while one is handled. The session is closed by it.
    PostInFlight,
    /// Finish on a session that is not closing.
    NotClosing,
    /// `ack` names packets never sent or already forgotten. Closes.
    BadAck,
    /// The client left more unacknowledged than the ledger keeps. Closes.
    LedgerFull,
    /// The session is suspended: only a resume (or its own transport's
    /// requests) brings it back.
    Suspended,
    /// A resume handshake for a session that did not negotiate resume.
    NotResumable,
    /// A resume sessions's ack (packet or GET `ack`) below an earlier one
    /// or above what was sent. Closes.
    AckOutOfRange,
    /// A resume handshake's `last` below the acknowledged or above what was
    /// sent. Closes, with [`CloseReason::ResumeRejected`].
    ResumeOutOfRange,
    /// A resume handshake or a GET's `ack` needs a message whose copy the
    /// retention bound dropped. Closes, with [`CloseReason::ResumeOverflow`].
    ResumeOverflow,
    /// A POST's `seq` leaves a gap after the messages received. Closes.
    SeqOutOfRange,
}

/// The outcome of one event.
#[derive(Debug, PartialEq)]
pub(crate) struct Outcome {
    pub(crate) wake: Wake,
    pub(crate) result: Result<Output, Refusal>,
}

impl Outcome {
    fn done() -> Self {
        Self::ok(Output::Done)
    }

    fn ok(output: Output) -> Self {
        Self {
            wake: Wake::default(),
            result: Ok(output),
        }
    }

    fn refused(refusal: Refusal) -> Self {
        Self {
            wake: Wake::default(),
            result: Err(refusal),
        }
    }

    fn waking(mut self, wake: Wake) -> Self {
        self.wake.receiver |= wake.receiver;
        self.wake.senders |= wake.senders;
        self.wake.phase |= wake.phase;
        self.wake.stop_inbound |= wake.stop_inbound;
        self
    }
}

const WAKE_RECEIVER: Wake = Wake {
    receiver: true,
    senders: false,
    phase: false,
    stop_inbound: false,
};

const WAKE_SENDERS: Wake = Wake {
    receiver: false,
    senders: true,
    phase: false,
    stop_inbound: false,
};

const WAKE_ALL: Wake = Wake {
    receiver: true,
    senders: true,
    phase: true,
    stop_inbound: true,
};

/// The settings the machine needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) queue: Limits,
    /// What a resume session keeps of its written messages.
    pub(crate) retention: RetentionLimits,
    /// Bytes the stream ledger may keep unacknowledged.
    pub(crate) ledger_bytes: usize,
    /// Whether the client speaks the extensions (close code and reason).
    pub(crate) ext: bool,
    /// Whether this is a resume session (numbered, acknowledged messages).
    pub(crate) resume: bool,
}

/// A session's state; private fields, one way in ([`Machine::apply`]).
#[derive(Debug)]
pub(crate) struct Machine {
    phase: Phase,
    transport: Transport,
    /// A WebSocket is attached or attaching (the session opened on one, or
    /// one claimed it for an upgrade).
    websocket_claimed: bool,
    queue: OutQueue,
    receiver: Option<ReceiverId>,
    release_requested: Option<ReceiverId>,
    next_receiver: ReceiverId,
    ledger: StreamLedger,
    close_reason: Option<CloseReason>,
    post_in_flight: bool,
    /// Whether any request came after the handshake's own.
    returned: bool,
    ext: bool,
    /// Message numbers and retention (resume sessions only; boxed, so a
    /// stock session pays one pointer for it).
    numbering: Option<Box<Numbering>>,
}

impl Machine {
    pub(crate) fn new(transport: Transport, settings: Settings) -> Self {
        Self {
            phase: Phase::Open,
            transport,
            websocket_claimed: transport == Transport::WebSocket,
            queue: OutQueue::new(settings.queue),
            receiver: None,
            release_requested: None,
            next_receiver: 0,
            ledger: StreamLedger::new(settings.ledger_bytes),
            close_reason: None,
            post_in_flight: false,
            // Only a polling handshake needs a second request to carry
            // anything; the other transports hold their connection open.
            returned: transport != Transport::Polling,
            ext: settings.ext,
            numbering: settings
                .resume
                .then(|| Box::new(Numbering::new(settings.retention))),
        }
    }

    /// Whether this is a resume session.
    pub(crate) fn is_resume(&self) -> bool {
        self.numbering.is_some()
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    pub(crate) fn transport(&self) -> Transport {
        self.transport
    }

    pub(crate) fn close_reason(&self) -> Option<&CloseReason> {
        self.close_reason.as_ref()
    }

    pub(crate) fn held(&self) -> Held {
        self.queue.held()
    }

    pub(crate) fn queue_is_full(&self) -> bool {
        self.queue.is_full()
    }

    pub(crate) fn delivered_count(&self) -> usize {
        self.queue.delivered_count()
    }

    pub(crate) fn ledger_bytes(&self) -> usize {
        self.ledger.bytes()
    }

    /// Bytes of written messages a resume session keeps for a replay.
    pub(crate) fn retained_bytes(&self) -> usize {
        self.numbering.as_ref().map_or(0, |n| n.retained_bytes())
    }

    /// Whether a request came after the handshake.
    pub(crate) fn has_returned(&self) -> bool {
        self.returned
    }

    /// Whether a closing session has nothing left to deliver.
    pub(crate) fn is_drained(&self) -> bool {
        self.phase == Phase::Closed || self.queue.is_empty()
    }

    /// Applies one event.
    pub(crate) fn apply(&mut self, event: Event) -> Outcome {
        match event {
            Event::Admit(message) => self.admit(message),
            Event::AdmitShared(message) => self.admit_shared(&message),
            Event::Control(packet) => {
                if self.phase == Phase::Closed {
                    return Outcome::refused(Refusal::Closed(None));
                }
                self.push(|queue| queue.push_control(packet))
            }
            Event::Attach(transport) => self.attach(transport, false),
            Event::TakeOver => self.attach(Transport::WebSocket, true),
            Event::Detach(id) => {
                if self.receiver == Some(id) {
                    self.receiver = None;
                }
                if self.release_requested == Some(id) {
                    self.release_requested = None;
                }
                Outcome::done()
            }
            Event::Take { receiver, budget } => self.take(receiver, budget),
            Event::Requeue(packets) => {
                let Some(numbering) = &mut self.numbering else {
                    self.queue.requeue_front(packets);
                    return Outcome::done();
                };
                // The messages are retained already: they leave the queue.
                let (control, retained) = numbering.unwritten(packets);
                self.queue.requeue_front(control);
                if retained == Held::default() {
                    return Outcome::done();
                }
                self.queue.delivered(retained);
                Outcome::done().waking(WAKE_SENDERS)
            }
            // Written: the message leaves the queue's account (a resume
            // session keeps its copy in retention).
            Event::Delivered(held) => {
                self.queue.delivered(held);
                Outcome::done().waking(WAKE_SENDERS)
            }
            Event::Streamed(_) if self.is_resume() => Outcome::done(),
            Event::Streamed(packets) => match self.ledger.record(packets) {
                Ok(()) => Outcome::done(),
                Err(LedgerFull) => self.refuse_and_close(Refusal::LedgerFull),
            },
            Event::ResumeStream(ack) => match self.ledger.resume(ack) {
                Ok(replay) => Outcome::ok(Output::Replay(replay)),
                Err(BadAck) => self.refuse_and_close(Refusal::BadAck),
            },
            Event::BeginPost => {
                if self.phase == Phase::Closed {
                    return Outcome::refused(Refusal::Closed(None));
                }
                if self.transport == Transport::WebSocket {
                    return Outcome::refused(Refusal::WrongTransport(self.transport));
                }
                // A POST on a suspended session's own transport brings it back.
                let unsuspended = self.unsuspend();
                // In a resume session an overlapping POST is one the browser
                // sent again after a cut the server has not noticed yet:
                // `seq` drops whatever the first one delivered, and a cut
                // body delivers nothing.
                if self.post_in_flight && self.numbering.is_none() {
                    return self.refuse_and_close(Refusal::PostInFlight);
                }
                self.post_in_flight = true;
                self.returned = true;
                Outcome::done().waking(unsuspended)
            }
            Event::EndPost => {
                self.post_in_flight = false;
                Outcome::done()
            }
            Event::ClaimWebSocket => self.claim_websocket(),
            Event::ProbeAnswered => self.probe_answered(),
            Event::CompleteUpgrade => self.complete_upgrade(),
            Event::AbandonUpgrade => {
                if self.transport != Transport::WebSocket {
                    self.websocket_claimed = false;
                    if self.phase == Phase::Upgrading {
                        self.phase = Phase::Open;
                    }
                }
                Outcome::done()
            }
            Event::Close { reason, graceful } => self.close(reason, graceful),
            Event::Finish => match self.phase {
                Phase::Closing => {
                    self.phase = Phase::Closed;
                    Outcome::done().waking(WAKE_ALL)
                }
                Phase::Closed => Outcome::refused(Refusal::Closed(None)),
                Phase::Open | Phase::Upgrading | Phase::Suspended => {
                    Outcome::refused(Refusal::NotClosing)
                }
            },
            Event::Ack(n) => self.ack(n, false),
            Event::AckReplay(n) => self.ack(n, true),
            Event::Suspend { receiver, reason } => self.suspend(receiver, reason),
            Event::Resume { transport, last } => self.resume(transport, last),
            Event::WindowOver => {
                if self.phase != Phase::Suspended {
                    return Outcome::done();
                }
                self.close(CloseReason::ResumeWindowOver, false)
            }
            Event::Incoming {
                number,
                bytes,
                from,
            } => self.incoming(number, bytes, from),
            Event::AckDue => match self.numbering.as_mut().map(|n| n.ack_due()) {
                Some(true) => Outcome::done().waking(WAKE_RECEIVER),
                _ => Outcome::done(),
            },
        }
    }

    fn admit(&mut self, message: Message) -> Outcome {
        if !self.phase.is_open() {
            return Outcome::refused(Refusal::Closed(Some(message)));
        }
        let was_empty = self.queue.is_empty();
        match self.queue.admit(message) {
            // A receiver waits only after finding the queue empty, so a push
            // behind others has nobody new to wake.
            Ok(()) if was_empty => Outcome::done().waking(WAKE_RECEIVER),
            Ok(()) => Outcome::done(),
            Err(message) => Outcome::refused(Refusal::Full(message)),
        }
    }

    fn admit_shared(&mut self, message: &SharedMessage) -> Outcome {
        if !self.phase.is_open() {
            return Outcome::refused(Refusal::Closed(None));
        }
        let was_empty = self.queue.is_empty();
        match self.queue.admit_shared(message) {
            true if was_empty => Outcome::done().waking(WAKE_RECEIVER),
            true => Outcome::done(),
            false => Outcome::refused(Refusal::SharedFull),
        }
    }

    fn push(&mut self, push: impl FnOnce(&mut OutQueue)) -> Outcome {
        let was_empty = self.queue.is_empty();
        push(&mut self.queue);
        if was_empty {
            Outcome::done().waking(WAKE_RECEIVER)
        } else {
            Outcome::done()
        }
    }

    fn attach(&mut self, transport: Transport, take_over: bool) -> Outcome {
        if self.phase == Phase::Closed || (take_over && self.phase.is_ending()) {
            return Outcome::refused(Refusal::Closed(None));
        }
        if self.phase == Phase::Suspended && (take_over || transport == Transport::WebSocket) {
            // A WebSocket comes back only through the resume handshake.
            return Outcome::refused(Refusal::Suspended);
        }
        if take_over {
            // Only the WebSocket that completed the upgrade takes over.
            if self.phase != Phase::Open || self.transport != Transport::WebSocket {
                return Outcome::refused(Refusal::NotUpgrading);
            }
        } else if self.transport != transport {
            return Outcome::refused(Refusal::WrongTransport(self.transport));
        }
        // A request of a suspended session's own transport brings it back.
        let unsuspended = self.unsuspend();
        match self.receiver {
            Some(previous) if take_over => self.release_requested = Some(previous),
            Some(_) => {
                let close = self.close(CloseReason::TransportError(TransportError::Overlap), false);
                return Outcome::refused(Refusal::SecondReceiver).waking(close.wake);
            }
            None => {}
        }
        let id = self.next_receiver;
        self.next_receiver += 1;
        self.receiver = Some(id);
        self.returned = true;
        Outcome::ok(Output::Receiver(id))
            .waking(WAKE_RECEIVER)
            .waking(unsuspended)
    }

    fn take(&mut self, receiver: ReceiverId, budget: usize) -> Outcome {
        if self.release_requested == Some(receiver) {
            self.release_requested = None;
            return Outcome::ok(Output::Delivery(Delivery::Released));
        }
        if self.receiver != Some(receiver) {
            return Outcome::ok(Output::Delivery(Delivery::Released));
        }
        if self.queue.is_empty() {
            if self.phase.is_carried() {
                if let Some(ack) = self.numbering.as_mut().and_then(|n| n.due_ack()) {
                    return Outcome::ok(Output::Delivery(Delivery::Packets(vec![ack])));
                }
            }
            let delivery = match self.phase {
                Phase::Closed => Delivery::Closed,
                // While a WebSocket upgrade is under way no request waits:
                // the client is pausing its old transport.
                Phase::Upgrading => Delivery::Released,
                Phase::Open | Phase::Closing | Phase::Suspended => Delivery::Empty,
            };
            return Outcome::ok(Output::Delivery(delivery));
        }
        let mut packets = self.queue.take(budget);
        if let Some(numbering) = &mut self.numbering {
            numbering.written(&mut packets);
        }
        let drained_while_closing = self.phase == Phase::Closing && self.queue.is_empty();
        let outcome = Outcome::ok(Output::Delivery(Delivery::Packets(packets)));
        if drained_while_closing {
            outcome.waking(Wake {
                phase: true,
                ..Wake::default()
            })
        } else {
            outcome
        }
    }

    fn claim_websocket(&mut self) -> Outcome {
        if self.phase.is_ending() {
            return Outcome::refused(Refusal::Closed(None));
        }
        if self.phase == Phase::Suspended {
            return Outcome::refused(Refusal::Suspended);
        }
        if self.transport == Transport::WebSocket {
            return Outcome::refused(Refusal::AlreadyUpgraded);
        }
        if self.websocket_claimed {
            return Outcome::refused(Refusal::UpgradeInProgress);
        }
        self.websocket_claimed = true;
        self.returned = true;
        Outcome::done()
    }

    fn probe_answered(&mut self) -> Outcome {
        let refusal = match (self.phase, self.transport, self.websocket_claimed) {
            (Phase::Closing | Phase::Closed, _, _) => Refusal::Closed(None),
            (Phase::Suspended, _, _) => Refusal::Suspended,
            (_, Transport::WebSocket, _) => Refusal::AlreadyUpgraded,
            (Phase::Upgrading, _, _) => Refusal::UpgradeInProgress,
            (Phase::Open, _, false) => Refusal::NotUpgrading,
            (Phase::Open, _, true) => {
                self.phase = Phase::Upgrading;
                self.release_requested = self.receiver;
                return Outcome::done().waking(WAKE_RECEIVER);
            }
        };
        Outcome::refused(refusal)
    }

    fn complete_upgrade(&mut self) -> Outcome {
        match self.phase {
            Phase::Upgrading => {}
            Phase::Closing | Phase::Closed => return Outcome::refused(Refusal::Closed(None)),
            Phase::Suspended => return Outcome::refused(Refusal::Suspended),
            Phase::Open => return Outcome::refused(Refusal::NotUpgrading),
        }
        self.phase = Phase::Open;
        self.transport = Transport::WebSocket;
        // The client sends the upgrade packet only after reading its last
        // stream to the end: nothing streamed needs keeping.
        self.ledger.clear();
        self.release_requested = self.receiver;
        Outcome::done().waking(WAKE_RECEIVER)
    }

    fn close(&mut self, reason: CloseReason, graceful: bool) -> Outcome {
        // Nobody could take a suspended session's close packet: a graceful
        // close (shutdown, the application) ends it at once.
        let graceful = graceful && self.phase != Phase::Suspended;
        match (self.phase, graceful) {
            (Phase::Closed, _) | (Phase::Closing, true) | (Phase::Suspended, true) => {
                return Outcome::refused(Refusal::Closed(None))
            }
            (Phase::Open | Phase::Upgrading, true) => {
                let body = self.close_body(&reason);
                self.close_reason = Some(reason);
                self.phase = Phase::Closing;
                self.queue.push_control(Packet::Close(body));
            }
            (Phase::Closing, false) => self.phase = Phase::Closed,
            (Phase::Open | Phase::Upgrading | Phase::Suspended, false) => {
                // A client that closes gets its pending request ended with a
                // noop (it asked; there is nothing to tell it); anyone else
                // is told the session is over.
                let last = match &reason {
                    CloseReason::ClientClosed(_) => Packet::Noop,
                    other => Packet::Close(self.close_body(other)),
                };
                self.close_reason = Some(reason);
                self.queue.clear();
                if let Some(numbering) = &mut self.numbering {
                    numbering.clear();
                }
                self.queue.push_control(last);
                self.phase = Phase::Closed;
            }
        }
        Outcome::done().waking(WAKE_ALL)
    }

    /// Refuses with a refusal that is itself a protocol failure: the
    /// session closes as well.
    fn refuse_and_close(&mut self, refusal: Refusal) -> Outcome {
        let reason = match refusal {
            Refusal::ResumeOutOfRange => CloseReason::ResumeRejected,
            Refusal::ResumeOverflow => CloseReason::ResumeOverflow,
            _ => CloseReason::TransportError(TransportError::BadPacket),
        };
        let close = self.close(reason, false);
        Outcome::refused(refusal).waking(close.wake)
    }

    /// The close packet's body: code and reason for extension sessions,
    /// when the code is one that may travel.
    fn close_body(&self, reason: &CloseReason) -> Option<CloseFrame> {
        let frame = reason.frame();
        (self.ext && CloseFrame::is_sendable(frame.code)).then_some(frame)
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
