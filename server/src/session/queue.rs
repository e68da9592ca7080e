//! The outbound queue and its one account of what the session holds.
//!
//! An application message is counted from the moment it is admitted until
//! its transport reports it handed to the network ([`OutQueue::delivered`]).
//! Packets a transport took but could not write go back to the front
//! ([`OutQueue::requeue_front`]) without touching the account, because they
//! never left it. So the bound is one comparison against one counter, and
//! no sequence of takes, requeues and deliveries can raise it.
//!
//! Control packets (ping, pong, noop, close) are not counted: the session
//! queues at most a handful of them (one ping per interval, one close).

use std::collections::VecDeque;

use crate::protocol::{encoded_len, Message, Packet, SharedMessage};

/// The bounds, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Messages held at most (queued or being written).
    pub(crate) messages: usize,
    /// Bytes held at most. A message larger than this is admitted only when
    /// nothing else is held, so one large message can always pass.
    pub(crate) bytes: usize,
}

/// What the session holds of the application's messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) messages: usize,
    pub(crate) bytes: usize,
}

impl Held {
    /// What `packets` hold of the account: their messages and costs.
    pub(crate) fn of(packets: &[Packet]) -> Self {
        packets
            .iter()
            .filter_map(packet_cost)
            .fold(Self::default(), |held, cost| Self {
                messages: held.messages + 1,
                bytes: held.bytes + cost,
            })
    }
}

impl Held {
    pub(crate) fn add(&mut self, other: Held) {
        self.messages += other.messages;
        self.bytes += other.bytes;
    }

    pub(crate) fn remove(&mut self, other: Held) {
        self.messages = self.messages.saturating_sub(other.messages);
        self.bytes = self.bytes.saturating_sub(other.bytes);
    }
}

/// Packets waiting for a receiver, oldest first, with the account.
#[derive(Debug)]
pub(crate) struct OutQueue {
    packets: VecDeque<Packet>,
    held: Held,
    limits: Limits,
    /// Messages delivered so far: progress, for the full-queue watch.
    delivered: usize,
    /// A message was refused and nothing has been delivered since: a
    /// sender is held back (by either bound).
    refused: bool,
}

/// The size a message is counted at: its encoded length, plus the cost of
/// the packet around it, so that empty messages still count.
pub(crate) fn message_cost(message: &Message) -> usize {
    let len = match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
    };
    len + PACKET_OVERHEAD
}

/// The size a shared message is counted at: what the message itself
/// would be ([`message_cost`]), in every socket's queue that holds it.
pub(crate) fn shared_cost(message: &SharedMessage) -> usize {
    message.len() + PACKET_OVERHEAD
}

/// What a packet is counted at if it is an application message (direct or
/// shared), `None` for control packets, which the bounds do not count.
pub(crate) fn packet_cost(packet: &Packet) -> Option<usize> {
    match packet {
        Packet::Message(message) => Some(message_cost(message)),
        Packet::Shared(message) => Some(shared_cost(message)),
        _ => None,
    }
}

const PACKET_OVERHEAD: usize = 32;

impl OutQueue {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            packets: VecDeque::new(),
            held: Held::default(),
            limits,
            delivered: 0,
            refused: false,
        }
    }

    /// Whether one more message of `cost` bytes fits.
    pub(crate) fn has_room(&self, cost: usize) -> bool {
        self.held.messages < self.limits.messages
            && (self.held.messages == 0 || self.held.bytes + cost <= self.limits.bytes)
    }

    /// Admits an application message if it fits, or gives it back.
    pub(crate) fn admit(&mut self, message: Message) -> Result<(), Message> {
        let cost = message_cost(&message);
        if !self.has_room(cost) {
            self.refused = true;
            return Err(message);
        }
        self.held.messages += 1;
        self.held.bytes += cost;
        self.packets.push_back(Packet::Message(message));
        Ok(())
    }

    /// Admits a message encoded once for many sockets if it fits, counted
    /// as the message itself would be; `false` if it does not.
    pub(crate) fn admit_shared(&mut self, message: &SharedMessage) -> bool {
        let cost = shared_cost(message);
        if !self.has_room(cost) {
            self.refused = true;
            return false;
        }
        self.held.messages += 1;
        self.held.bytes += cost;
        self.packets.push_back(Packet::Shared(message.clone()));
        true
    }

    /// Queues a control packet.
    pub(crate) fn push_control(&mut self, packet: Packet) {
        debug_assert!(!packet.is_message());
        self.packets.push_back(packet);
    }

    /// Takes packets from the front whose encoded size fits in `budget`
    /// bytes (always at least one). They stay counted until delivered.
    pub(crate) fn take(&mut self, budget: usize) -> Vec<Packet> {
        let mut taken = Vec::with_capacity(self.packets.len().min(64));
        let mut used = 0;
        while let Some(packet) = self.packets.front() {
            let size = encoded_len(packet) + 1;
            if !taken.is_empty() && used + size > budget {
                break;
            }
            used += size;
            taken.extend(self.packets.pop_front());
        }
        taken
    }

    /// Puts packets that were taken but not written back at the front, in
    /// their order. They were never released, so the account is unchanged.
    pub(crate) fn requeue_front(&mut self, packets: Vec<Packet>) {
        for packet in packets.into_iter().rev() {
            self.packets.push_front(packet);
        }
    }

    /// Puts messages written before back at the front, in their order (a
    /// replay): they were out of the account, and count in it again until
    /// they are written again.
    pub(crate) fn replay_front(&mut self, packets: Vec<Packet>) {
        self.held.add(Held::of(&packets));
        self.requeue_front(packets);
    }

    /// Releases the account of messages the transport handed to the
    /// network (see [`Held::of`]).
    pub(crate) fn delivered(&mut self, delivered: Held) {
        self.held.remove(delivered);
        self.delivered = self.delivered.wrapping_add(delivered.messages);
        if delivered.messages > 0 {
            self.refused = false;
        }
    }

    /// Messages delivered so far (wrapping).
    pub(crate) fn delivered_count(&self) -> usize {
        self.delivered
    }

    /// Drops everything queued (an abrupt close); the account is cleared.
    pub(crate) fn clear(&mut self) {
        self.packets.clear();
        self.held = Held::default();
        self.refused = false;
    }

    /// Drops the control packets queued, keeping the messages (a session
    /// that lost its transport: pings and noops are stale by its return).
    pub(crate) fn retain_messages(&mut self) {
        self.packets.retain(Packet::is_message);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    pub(crate) fn held(&self) -> Held {
        self.held
    }

    /// Whether a sender is held back: a message was refused (by the count
    /// or the byte bound) and nothing has been delivered since.
    pub(crate) fn is_full(&self) -> bool {
        self.refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> Message {
        Message::Text("x".repeat(n))
    }

    const LIMITS: Limits = Limits {
        messages: 4,
        bytes: 1000,
    };

    #[test]
    fn bounded_by_count_and_bytes() {
        let mut queue = OutQueue::new(LIMITS);
        for _ in 0..4 {
            queue.admit(text(1)).unwrap();
        }
        assert!(queue.admit(text(1)).is_err(), "count bound");
        let mut queue = OutQueue::new(LIMITS);
        queue.admit(text(500)).unwrap();
        assert!(queue.admit(text(500)).is_err(), "byte bound");
    }

    #[test]
    fn one_oversized_message_passes_alone() {
        let mut queue = OutQueue::new(LIMITS);
        queue.admit(text(5000)).unwrap();
        assert!(queue.admit(text(1)).is_err());
        let taken = queue.take(usize::MAX);
        queue.delivered(Held::of(&taken));
        queue.admit(text(1)).unwrap();
    }

    /// The reviewer's suspicion (issue 11): packets put back at the front
    /// must not let the queue hold more than its bound. Taking, requeueing
    /// and admitting in any order never admits past the limit.
    #[test]
    fn requeue_cannot_raise_the_bound() {
        let mut queue = OutQueue::new(LIMITS);
        for round in 0..100 {
            while queue.admit(text(round % 7)).is_ok() {}
            assert!(queue.held().messages <= LIMITS.messages);
            let taken = queue.take(10);
            queue.requeue_front(taken);
            assert!(queue.admit(text(1)).is_err(), "round {round}");
            let taken = queue.take(10);
            let (written, back) = taken.split_at(taken.len() / 2);
            queue.delivered(Held::of(written));
            queue.requeue_front(back.to_vec());
            assert!(queue.held().messages <= LIMITS.messages);
        }
    }

    /// Full means a sender is held back, whichever bound refused it: a
    /// queue filled by bytes sits a little under the byte budget.
    #[test]
    fn full_by_either_bound_until_something_is_delivered() {
        let mut queue = OutQueue::new(LIMITS);
        queue.admit(text(600)).unwrap();
        assert!(!queue.is_full());
        assert!(queue.admit(text(600)).is_err());
        assert!(
            queue.is_full(),
            "refused by bytes, with room for a tiny one"
        );
        let taken = queue.take(usize::MAX);
        queue.requeue_front(taken);
        assert!(queue.is_full(), "requeued is not delivered");
        let taken = queue.take(usize::MAX);
        queue.delivered(Held::of(&taken));
        assert!(!queue.is_full());
    }

    /// A shared message holds the account exactly as the same message
    /// sent directly, and is bounded the same way.
    #[test]
    fn shared_messages_count_as_the_message() {
        let mut direct = OutQueue::new(LIMITS);
        let mut shared = OutQueue::new(LIMITS);
        for n in [0, 1, 300, 499] {
            let message = text(n);
            let one = SharedMessage::new(&message);
            assert_eq!(direct.admit(message).is_ok(), shared.admit_shared(&one));
            assert_eq!(direct.held(), shared.held());
        }
        assert!(
            !shared.admit_shared(&SharedMessage::text("x")),
            "count bound"
        );
        assert!(shared.is_full());
        let taken = shared.take(usize::MAX);
        assert_eq!(Held::of(&taken), direct.held());
        shared.delivered(Held::of(&taken));
        assert_eq!(shared.held(), Held::default());
        assert!(shared.admit_shared(&SharedMessage::text(&"x".repeat(5000))));
    }

    #[test]
    fn control_packets_are_not_counted() {
        let mut queue = OutQueue::new(LIMITS);
        for _ in 0..10 {
            queue.push_control(Packet::Ping(String::new()));
        }
        assert_eq!(queue.held(), Held::default());
        queue.admit(text(1)).unwrap();
    }
}
