//! What a resume session keeps of the messages it has written, so that a
//! resume (or a GET's `ack`) can send again what the client missed
//! (protocol-spec 11.4).
//!
//! Retention has its own bound, apart from the outbound queue's: a message
//! leaves the queue's account (making room for the application's next
//! `send`) as soon as a transport has written it, and its copy moves here.
//! So an application that sends a burst larger than the queue is held back
//! only by the client's reading, never by its acknowledging.
//!
//! Past the bound the oldest copies are dropped and the session carries on:
//! a client that keeps acknowledging never needs them. Only a replay that
//! would need a dropped copy fails ([`Overflowed`]); the session then
//! closes with [`CloseReason::ResumeOverflow`](crate::CloseReason).
//!
//! ```text
//!   numbers:   1 ..... acked | acked+1 .. dropped | dropped+1 ....... written
//!              acknowledged  | dropped, unacked   | copies kept here, oldest first
//! ```
//!
//! A single message larger than the byte bound is kept alone (everything
//! older is dropped for it), so it can always be replayed.

use std::collections::VecDeque;

use crate::protocol::Packet;

use super::queue::packet_cost;

/// The bound, from the configuration (`resume_buffer_messages`,
/// `resume_buffer_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetentionLimits {
    pub(crate) messages: usize,
    pub(crate) bytes: usize,
}

/// A replay needs a copy that was dropped past the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflowed;

/// The copies of the last messages written, numbered implicitly: the
/// newest is number `written`, the one before `written - 1`, and so on.
#[derive(Debug)]
pub(crate) struct Retention {
    copies: VecDeque<(Packet, usize)>,
    bytes: usize,
    limits: RetentionLimits,
    /// Messages written so far (the number of the newest copy).
    written: u64,
    /// The highest number ever dropped (acknowledged or not); copies are
    /// the messages `forgotten + 1 ..= written`.
    forgotten: u64,
    /// The highest number dropped by the bound rather than acknowledged.
    overflowed: u64,
}

impl Retention {
    pub(crate) fn new(limits: RetentionLimits) -> Self {
        Self {
            copies: VecDeque::new(),
            bytes: 0,
            limits,
            written: 0,
            forgotten: 0,
            overflowed: 0,
        }
    }

    /// Keeps a copy of the message just written (number `written + 1`),
    /// dropping the oldest copies past the bound; returns how many were
    /// dropped.
    pub(crate) fn keep(&mut self, packet: Packet) -> usize {
        let cost = packet_cost(&packet).unwrap_or(0);
        self.written += 1;
        self.bytes += cost;
        self.copies.push_back((packet, cost));
        let mut dropped = 0;
        while self.copies.len() > 1
            && (self.copies.len() > self.limits.messages || self.bytes > self.limits.bytes)
        {
            self.pop_oldest();
            dropped += 1;
        }
        if dropped > 0 {
            self.overflowed = self.forgotten;
        }
        dropped
    }

    fn pop_oldest(&mut self) {
        if let Some((_, cost)) = self.copies.pop_front() {
            self.bytes -= cost;
            self.forgotten += 1;
        }
    }

    /// Forgets the copies numbered `n` or lower (the client has them).
    pub(crate) fn acknowledge(&mut self, n: u64) {
        while self.forgotten < n && !self.copies.is_empty() {
            self.pop_oldest();
        }
    }

    /// Takes every copy numbered above `n`, oldest first, to be written
    /// again; `written` goes back to `n`, so they get the same numbers.
    /// Fails, changing nothing, when one of them was dropped by the bound.
    pub(crate) fn replay_after(&mut self, n: u64) -> Result<Vec<Packet>, Overflowed> {
        if n < self.overflowed {
            return Err(Overflowed);
        }
        self.acknowledge(n);
        self.written = n;
        self.forgotten = n;
        self.bytes = 0;
        Ok(self.copies.drain(..).map(|(packet, _)| packet).collect())
    }

    /// Drops everything (the session closed).
    pub(crate) fn clear(&mut self) {
        self.forgotten = self.written;
        self.copies.clear();
        self.bytes = 0;
    }

    /// Messages written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.copies.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> Packet {
        Packet::Message(text.into())
    }

    fn texts(packets: &[Packet]) -> Vec<String> {
        packets
            .iter()
            .map(|p| match p {
                Packet::Message(crate::protocol::Message::Text(t)) => t.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    const LIMITS: RetentionLimits = RetentionLimits {
        messages: 3,
        bytes: 1000,
    };

    #[test]
    fn replays_what_was_not_acknowledged_with_its_numbers() {
        let mut kept = Retention::new(LIMITS);
        for text in ["a", "b", "c"] {
            assert_eq!(kept.keep(message(text)), 0);
        }
        kept.acknowledge(1);
        assert_eq!(kept.len(), 2);
        assert_eq!(texts(&kept.replay_after(1).unwrap()), ["b", "c"]);
        assert_eq!((kept.written(), kept.len(), kept.bytes()), (1, 0, 0));
        // Written again: numbers 2 and 3 once more.
        kept.keep(message("b"));
        kept.keep(message("c"));
        assert_eq!(kept.written(), 3);
        assert_eq!(texts(&kept.replay_after(2).unwrap()), ["c"]);
    }

    #[test]
    fn past_the_count_the_oldest_go_and_only_a_replay_that_needs_them_fails() {
        let mut kept = Retention::new(LIMITS);
        for text in ["a", "b", "c", "d", "e"] {
            kept.keep(message(text));
        }
        assert_eq!(kept.len(), 3, "c, d, e");
        assert_eq!(kept.replay_after(1), Err(Overflowed), "b was dropped");
        assert_eq!(kept.len(), 3, "a refused replay changes nothing");
        assert_eq!(texts(&kept.replay_after(2).unwrap()), ["c", "d", "e"]);
    }

    #[test]
    fn the_byte_bound_holds_and_one_large_message_is_kept_alone() {
        let mut kept = Retention::new(LIMITS);
        kept.keep(message(&"x".repeat(400)));
        kept.keep(message(&"y".repeat(400)));
        assert!(kept.bytes() <= LIMITS.bytes);
        kept.keep(message(&"z".repeat(400)));
        assert_eq!(kept.len(), 2, "the first went for the third");
        assert!(kept.bytes() <= LIMITS.bytes);
        assert_eq!(kept.keep(message(&"w".repeat(5000))), 2);
        assert_eq!(kept.len(), 1, "kept alone");
        assert_eq!(kept.replay_after(3).map(|p| p.len()), Ok(1));
    }

    #[test]
    fn acknowledged_copies_dropped_later_do_not_count_as_overflow() {
        let mut kept = Retention::new(LIMITS);
        for text in ["a", "b", "c"] {
            kept.keep(message(text));
        }
        kept.acknowledge(3);
        for text in ["d", "e", "f", "g"] {
            kept.keep(message(text));
        }
        assert_eq!(kept.replay_after(3), Err(Overflowed), "d was dropped");
        assert_eq!(texts(&kept.replay_after(4).unwrap()), ["e", "f", "g"]);
    }
}
