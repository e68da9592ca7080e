//! The one attached receiver of a session, and what it is handed.

use std::sync::Arc;

use crate::protocol::{encoded_len, Packet};

use super::{Phase, Session};

/// What a receiver gets when it asks for the next packets.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// Packets to write, in order (at least one).
    Packets(Vec<Packet>),
    /// The receiver was asked to end its response (upgrade, takeover).
    Released,
    /// The session is over and everything queued has been taken.
    Closed,
}

/// Proof of being the session's one receiver; detaches when dropped, so a
/// request that goes away (client gone, handler cancelled) frees the slot.
pub(crate) struct ReceiverGuard {
    session: Arc<Session>,
    id: u64,
}

impl ReceiverGuard {
    pub(crate) fn new(session: Arc<Session>, id: u64) -> Self {
        Self { session, id }
    }

    pub(crate) fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Takes queued packets whose encoded size fits in `budget` bytes (at
    /// least one packet, whatever its size), without waiting.
    pub(crate) fn try_take(&self, budget: usize) -> Option<Delivery> {
        let mut state = self.session.lock();
        if state.release_requested == Some(self.id) {
            state.release_requested = None;
            return Some(Delivery::Released);
        }
        if state.queue.is_empty() {
            // While a WebSocket upgrade is under way, no request waits: the
            // client is pausing its old transport.
            return match state.phase {
                Phase::Closed => Some(Delivery::Closed),
                Phase::Upgrading => Some(Delivery::Released),
                Phase::Open | Phase::Closing => None,
            };
        }
        let mut packets = Vec::with_capacity(state.queue.len().min(64));
        let mut used = 0;
        let mut messages = 0;
        while let Some(packet) = state.queue.front() {
            let size = encoded_len(packet) + 1;
            if !packets.is_empty() && used + size > budget {
                break;
            }
            used += size;
            messages += usize::from(matches!(packet, Packet::Message(_)));
            packets.extend(state.queue.pop_front());
        }
        let drained_while_closing = state.phase == Phase::Closing && state.queue.is_empty();
        drop(state);
        if drained_while_closing {
            self.session.notify_phase();
        }
        self.session.return_permits(messages);
        Some(Delivery::Packets(packets))
    }

    /// Waits for packets, a release request or the end of the session.
    pub(crate) async fn next(&self, budget: usize) -> Delivery {
        loop {
            let notified = self.session.receiver_notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(delivery) = self.try_take(budget) {
                return delivery;
            }
            notified.await;
        }
    }

    /// Records packets written to a streaming response (for resuming).
    pub(crate) fn record_streamed(&self, packets: impl IntoIterator<Item = Packet>) {
        let mut state = self.session.lock();
        for packet in packets {
            state.stream.record(packet);
        }
    }
}

impl Drop for ReceiverGuard {
    fn drop(&mut self) {
        let mut state = self.session.lock();
        if state.receiver == Some(self.id) {
            state.receiver = None;
        }
        if state.release_requested == Some(self.id) {
            state.release_requested = None;
        }
    }
}
