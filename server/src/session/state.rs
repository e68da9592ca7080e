//! A session's state and the moves between them, in one screen.
//!
//! ```text
//!              probe answered            upgrade packet
//!   Open ───────────────────▶ Upgrading ─────────────────▶ Open (transport = websocket)
//!    │  ◀─────────────────────────┘ probe failed / timed out
//!    │
//!    ├── server close ──▶ Closing ── close packet drained or grace over ──▶ Closed
//!    └── client close, ping timeout, protocol error ──────────────────────▶ Closed
//! ```

use std::collections::VecDeque;

use crate::protocol::Packet;
use crate::Transport;

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Carrying packets on its transport.
    Open,
    /// A WebSocket has answered the probe; waiting for the upgrade packet.
    Upgrading,
    /// The server closed it; the close packet is waiting to be delivered.
    Closing,
    /// Over. No packet goes in or out any more.
    Closed,
}

impl Phase {
    /// Whether the session still accepts application messages.
    pub(crate) fn is_open(self) -> bool {
        matches!(self, Self::Open | Self::Upgrading)
    }

    /// Whether the session is closing or closed.
    pub(crate) fn is_ending(self) -> bool {
        !self.is_open()
    }
}

/// Everything about a session that changes, behind one lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) phase: Phase,
    /// The transport now carrying the session downstream.
    pub(crate) transport: Transport,
    /// Packets waiting for a receiver, oldest first.
    pub(crate) queue: VecDeque<Packet>,
    /// The receiver attached now, if any.
    pub(crate) receiver: Option<u64>,
    /// A receiver asked to end its response (upgrade probe, takeover).
    pub(crate) release_requested: Option<u64>,
    pub(crate) next_receiver_id: u64,
    /// A WebSocket is attached for an upgrade (probing or done).
    pub(crate) websocket_attached: bool,
    /// Packets written to streaming responses, for resuming a cut stream.
    pub(crate) stream: StreamLedger,
}

impl State {
    pub(crate) fn new(transport: Transport) -> Self {
        Self {
            phase: Phase::Open,
            transport,
            queue: VecDeque::new(),
            receiver: None,
            release_requested: None,
            next_receiver_id: 0,
            websocket_attached: transport == Transport::WebSocket,
            stream: StreamLedger::default(),
        }
    }
}

/// Counts packets written to streaming responses and keeps those the client
/// has not acknowledged yet (at most one response's worth).
#[derive(Debug, Default)]
pub(crate) struct StreamLedger {
    /// Packets written to streams so far.
    pub(crate) sent: u64,
    /// The last packets written, not yet acknowledged, oldest first.
    pub(crate) unacked: VecDeque<Packet>,
}

/// An `ack` that names packets never sent, or already forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadAck;

impl StreamLedger {
    pub(crate) fn record(&mut self, packet: Packet) {
        self.sent += 1;
        self.unacked.push_back(packet);
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
        self.unacked.drain(..acked);
        Ok(self.unacked.iter().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_replays_what_was_not_acknowledged() {
        let mut ledger = StreamLedger::default();
        for n in 0..5 {
            ledger.record(Packet::Message(n.to_string().into()));
        }
        let again = ledger.resume(Some(3)).unwrap();
        assert_eq!(
            again,
            vec![Packet::Message("3".into()), Packet::Message("4".into())]
        );
        assert_eq!(ledger.resume(Some(2)), Err(BadAck), "already acknowledged");
        assert_eq!(ledger.resume(Some(6)), Err(BadAck), "never sent");
        assert_eq!(ledger.resume(None), Ok(vec![]));
        assert!(ledger.unacked.is_empty());
    }
}
