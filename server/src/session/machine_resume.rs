//! The resume extension's part of the state machine (protocol-spec 11):
//! message numbers each way, retention until acknowledged, replay, the
//! moves into and out of [`Phase::Suspended`], and when an ack is due.
//!
//! Numbers are implicit. The server's messages are numbered in the order
//! they leave the queue (which is the order they were admitted), and a copy
//! of each is kept in the session's [`Retention`] until the client
//! acknowledges it (or the retention bound drops it). A replay after `n`
//! puts the copies above `n` back at the front of the queue and rewinds the
//! count of written messages to `n`: taken again, they get the same
//! numbers. A written message leaves the queue's account at once (the
//! sender's backpressure is about reading, not acknowledging); a replayed
//! one is counted in it again until it is written again.

use crate::close::CloseReason;
use crate::protocol::Packet;
use crate::Transport;

use super::{Held, Machine, Outcome, Output, Phase, ReceiverId, Refusal, Wake, WAKE_RECEIVER};
use crate::session::retention::{Overflowed, Retention, RetentionLimits};

/// Client messages received unacknowledged that make an ack due at once.
const ACK_AFTER_MESSAGES: u64 = 16;
/// Bytes of client messages received unacknowledged that make an ack due.
const ACK_AFTER_BYTES: usize = 8 * 1024;

/// Numbers and retention of a resume session.
#[derive(Debug)]
pub(crate) struct Numbering {
    /// The client's highest acknowledgement.
    acked: u64,
    /// Copies of the messages written and not acknowledged (numbering the
    /// server's messages: its count of written ones is theirs).
    retained: Retention,
    /// Client messages received, in order.
    received: u64,
    /// The last count the server sent in an ack (or in `resumed`).
    ack_sent: u64,
    /// Bytes of client messages since that ack.
    unacked_bytes: usize,
    /// An ack must go out even with nothing else to send.
    ack_due: bool,
}

impl Numbering {
    pub(super) fn new(limits: RetentionLimits) -> Self {
        Self {
            acked: 0,
            retained: Retention::new(limits),
            received: 0,
            ack_sent: 0,
            unacked_bytes: 0,
            ack_due: false,
        }
    }

    /// Numbers the messages among `packets`, which were just taken from
    /// the queue, keeps copies, and puts an ack first when the count moved.
    pub(super) fn written(&mut self, packets: &mut Vec<Packet>) {
        for packet in packets.iter() {
            if packet.is_message() {
                let dropped = self.retained.keep(packet.clone());
                if dropped > 0 {
                    tracing::trace!(dropped, "retention bound: oldest copies dropped");
                }
            }
        }
        if self.received > self.ack_sent {
            packets.insert(0, self.make_ack());
        }
    }

    /// The ack to send alone, when one is due.
    pub(super) fn due_ack(&mut self) -> Option<Packet> {
        (self.ack_due && self.received > self.ack_sent).then(|| self.make_ack())
    }

    fn make_ack(&mut self) -> Packet {
        self.ack_sent = self.received;
        self.unacked_bytes = 0;
        self.ack_due = false;
        Packet::Ack(self.received)
    }

    /// Packets a transport took but did not write: their messages are
    /// retained and come back with the replay the client's next `ack`
    /// asks for, so only the control packets go back to the queue (the
    /// second part: what the messages held of the queue's account, which
    /// they leave now). An ack among them was not sent after all.
    pub(super) fn unwritten(&mut self, packets: Vec<Packet>) -> (Vec<Packet>, Held) {
        let retained = Held::of(&packets);
        let control = packets
            .into_iter()
            .filter(|packet| match packet {
                Packet::Message(_) | Packet::Shared(_) => false,
                Packet::Ack(_) => {
                    self.ack_sent = 0;
                    false
                }
                _ => true,
            })
            .collect();
        (control, retained)
    }

    /// The 100 ms timer ran out: whether an ack is now due.
    pub(super) fn ack_due(&mut self) -> bool {
        if self.received > self.ack_sent {
            self.ack_due = true;
        }
        self.ack_due
    }

    /// Forgets everything (the session closed).
    pub(super) fn clear(&mut self) {
        self.retained.clear();
    }

    /// Applies an acknowledgement of `n`: the copies up to it are
    /// forgotten. An ack below an earlier one is stale, not wrong: on the
    /// HTTP transports a POST's `7<n>` and a GET's `ack=` travel on
    /// different connections and may arrive in either order. Only a number
    /// never sent is refused.
    fn acknowledge(&mut self, n: u64) -> Result<(), Refusal> {
        if n > self.retained.written() {
            return Err(Refusal::AckOutOfRange);
        }
        if n > self.acked {
            self.acked = n;
            self.retained.acknowledge(n);
        }
        Ok(())
    }

    /// Everything written after the last acknowledgement, to be written
    /// again (with the same numbers); fails when the retention bound
    /// dropped some of it.
    fn rewind(&mut self) -> Result<Vec<Packet>, Overflowed> {
        self.retained.replay_after(self.acked)
    }

    /// Bytes of the copies kept.
    pub(super) fn retained_bytes(&self) -> usize {
        self.retained.bytes()
    }

    pub(super) fn received(&self) -> u64 {
        self.received
    }
}

impl Machine {
    /// The client's ack (`replay`: a GET's `ack`, which also asks for what
    /// was written after it again).
    pub(super) fn ack(&mut self, n: u64, replay: bool) -> Outcome {
        if self.phase == Phase::Closed {
            return Outcome::refused(Refusal::Closed(None));
        }
        let Some(numbering) = &mut self.numbering else {
            return Outcome::refused(Refusal::NotResumable);
        };
        if let Err(refusal) = numbering.acknowledge(n) {
            return self.refuse_and_close(refusal);
        }
        if !replay {
            return Outcome::done();
        }
        let again = match numbering.rewind() {
            Ok(again) => again,
            Err(Overflowed) => return self.refuse_and_close(Refusal::ResumeOverflow),
        };
        let was_empty = self.queue.is_empty();
        let replayed = !again.is_empty();
        self.queue.replay_front(again);
        let mut wake = Wake::default();
        if replayed && was_empty {
            wake.receiver = true;
        }
        Outcome::done().waking(wake)
    }

    /// The transport was lost without a close.
    pub(super) fn suspend(&mut self, receiver: Option<ReceiverId>, reason: CloseReason) -> Outcome {
        if self.numbering.is_none() {
            return self.close(reason, false);
        }
        match self.phase {
            Phase::Closing | Phase::Closed => return Outcome::refused(Refusal::Closed(None)),
            Phase::Suspended => return Outcome::done(),
            Phase::Open | Phase::Upgrading => {}
        }
        if receiver.is_some() && receiver != self.receiver {
            // A receiver replaced already (a resume took the session over).
            return Outcome::done();
        }
        tracing::debug!(?reason, "transport lost: session suspended");
        self.phase = Phase::Suspended;
        // Whoever still holds a receiver is told to end its response.
        self.receiver = None;
        self.release_requested = None;
        if self.transport != Transport::WebSocket {
            self.websocket_claimed = false;
        }
        // Stale pings and noops mean nothing to a client that comes back.
        self.queue.retain_messages();
        Outcome::done().waking(Wake {
            receiver: true,
            senders: false,
            phase: true,
            stop_inbound: false,
        })
    }

    /// A resume handshake.
    pub(super) fn resume(&mut self, transport: Transport, last: u64) -> Outcome {
        if self.phase.is_ending() {
            return Outcome::refused(Refusal::Closed(None));
        }
        let Some(numbering) = &mut self.numbering else {
            return Outcome::refused(Refusal::NotResumable);
        };
        // `last` is everything the client received, so it can never be
        // below what it acknowledged.
        if last < numbering.acked {
            return self.refuse_and_close(Refusal::ResumeOutOfRange);
        }
        if numbering.acknowledge(last).is_err() {
            return self.refuse_and_close(Refusal::ResumeOutOfRange);
        }
        let again = match numbering.rewind() {
            Ok(again) => again,
            Err(Overflowed) => return self.refuse_and_close(Refusal::ResumeOverflow),
        };
        let received = numbering.received();
        // `resumed` in the answer tells the client what arrived.
        numbering.ack_sent = received;
        numbering.unacked_bytes = 0;
        numbering.ack_due = false;
        self.queue.retain_messages();
        self.queue.replay_front(again);
        self.phase = Phase::Open;
        self.transport = transport;
        self.websocket_claimed = transport == Transport::WebSocket;
        self.ledger.clear();
        self.returned = true;
        // A POST of the lost connection that never finished must not make
        // the client's next one an overlap.
        self.post_in_flight = false;
        self.release_requested = None;
        let receiver = (transport != Transport::Polling).then(|| {
            let id = self.next_receiver;
            self.next_receiver += 1;
            id
        });
        // A receiver still attached (the session was not known lost yet)
        // finds it replaced and ends.
        self.receiver = receiver;
        Outcome::ok(Output::Resumed { receiver, received }).waking(Wake {
            receiver: true,
            senders: true,
            phase: true,
            stop_inbound: false,
        })
    }

    /// One client message arrives.
    pub(super) fn incoming(
        &mut self,
        number: Option<u64>,
        bytes: usize,
        from: Option<ReceiverId>,
    ) -> Outcome {
        let replaced = from.is_some() && from != self.receiver;
        let Some(numbering) = &mut self.numbering else {
            return Outcome::ok(Output::Incoming {
                deliver: true,
                start_ack_timer: false,
            });
        };
        if replaced {
            return Outcome::ok(Output::Incoming {
                deliver: false,
                start_ack_timer: false,
            });
        }
        let next = numbering.received + 1;
        match number {
            Some(n) if n < next => {
                return Outcome::ok(Output::Incoming {
                    deliver: false,
                    start_ack_timer: false,
                })
            }
            Some(n) if n > next => return self.refuse_and_close(Refusal::SeqOutOfRange),
            _ => {}
        }
        let first = numbering.received == numbering.ack_sent;
        numbering.received = next;
        numbering.unacked_bytes += bytes;
        let outcome = Outcome::ok(Output::Incoming {
            deliver: true,
            start_ack_timer: first,
        });
        if numbering.received - numbering.ack_sent >= ACK_AFTER_MESSAGES
            || numbering.unacked_bytes >= ACK_AFTER_BYTES
        {
            numbering.ack_due = true;
            return outcome.waking(WAKE_RECEIVER);
        }
        outcome
    }

    /// A request of the suspended session's own transport brings it back.
    pub(super) fn unsuspend(&mut self) -> Wake {
        if self.phase != Phase::Suspended {
            return Wake::default();
        }
        self.phase = Phase::Open;
        Wake {
            receiver: false,
            senders: false,
            phase: true,
            stop_inbound: false,
        }
    }
}
