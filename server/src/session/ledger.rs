//! The stream ledger: packets written to streaming responses that the
//! client has not acknowledged yet, so a response cut in the middle loses
//! nothing (`ack=N` on the next GET says how many arrived).
//!
//! Bounded in bytes: a client that keeps opening streams without ever
//! acknowledging would otherwise make it grow with every response.

use std::collections::VecDeque;

use crate::protocol::{encoded_len, Packet};

/// Counts packets written to streams and keeps the unacknowledged ones.
#[derive(Debug)]
pub(crate) struct StreamLedger {
    /// Packets written to streams so far.
    sent: u64,
    /// The last packets written, not yet acknowledged, oldest first.
    unacked: VecDeque<Packet>,
    bytes: usize,
    max_bytes: usize,
}

/// An `ack` that names packets never sent, or already forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadAck;

/// The client has left more unacknowledged than the ledger may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LedgerFull;

impl StreamLedger {
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self {
            sent: 0,
            unacked: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    /// Records packets written to a stream.
    pub(crate) fn record(
        &mut self,
        packets: impl IntoIterator<Item = Packet>,
    ) -> Result<(), LedgerFull> {
        for packet in packets {
            self.sent += 1;
            self.bytes += encoded_len(&packet);
            self.unacked.push_back(packet);
        }
        if self.bytes > self.max_bytes {
            return Err(LedgerFull);
        }
        Ok(())
    }

    /// Applies an acknowledgement and returns the packets to send again.
    /// Without one, the client is taken to have everything.
    pub(crate) fn resume(&mut self, ack: Option<u64>) -> Result<Vec<Packet>, BadAck> {
        let ack = ack.unwrap_or(self.sent);
        let first_kept = self.sent - self.unacked.len() as u64;
        if ack < first_kept || ack > self.sent {
            return Err(BadAck);
        }
        // Bounded by the check above: fits in the deque's length.
        let acked = (ack - first_kept) as usize;
        for packet in self.unacked.drain(..acked) {
            self.bytes -= encoded_len(&packet);
        }
        Ok(self.unacked.iter().cloned().collect())
    }

    /// Forgets everything (the session left the streaming transports).
    pub(crate) fn clear(&mut self) {
        self.unacked.clear();
        self.bytes = 0;
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_what_was_not_acknowledged() {
        let mut ledger = StreamLedger::new(1 << 20);
        ledger
            .record((0..5).map(|n| Packet::Message(n.to_string().into())))
            .unwrap();
        let again = ledger.resume(Some(3)).unwrap();
        assert_eq!(
            again,
            vec![Packet::Message("3".into()), Packet::Message("4".into())]
        );
        assert_eq!(ledger.resume(Some(2)), Err(BadAck), "already acknowledged");
        assert_eq!(ledger.resume(Some(6)), Err(BadAck), "never sent");
        assert_eq!(ledger.resume(None), Ok(vec![]));
        assert_eq!(ledger.bytes(), 0);
    }

    #[test]
    fn a_client_that_never_acknowledges_fills_it() {
        let mut ledger = StreamLedger::new(100);
        let big = || Packet::Message("x".repeat(40).into());
        assert_eq!(ledger.record([big(), big()]), Ok(()));
        assert_eq!(ledger.resume(Some(0)).map(|p| p.len()), Ok(2));
        assert_eq!(ledger.record([big()]), Err(LedgerFull));
    }
}
