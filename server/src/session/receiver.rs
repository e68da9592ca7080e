//! The one attached receiver of a session: a transport's handle for taking
//! packets, giving back those it could not write, and reporting those it
//! handed to the network.

use std::sync::{Arc, Mutex};

use crate::protocol::Packet;

use super::machine::{Event, Output, ReceiverId, Refusal};
use super::{Delivery, Held, Session};

/// Proof of being the session's one receiver; detaches when dropped, so a
/// request that goes away (client gone, handler cancelled) frees the slot.
///
/// The guard also remembers what it took and has not yet reported
/// delivered or requeued; dropping it releases that from the queue's
/// account, so a response that dies mid-write cannot shrink the queue for
/// good.
pub(crate) struct ReceiverGuard {
    session: Arc<Session>,
    id: ReceiverId,
    in_flight: Mutex<Held>,
}

impl ReceiverGuard {
    pub(super) fn new(session: Arc<Session>, id: ReceiverId) -> Self {
        Self {
            session,
            id,
            in_flight: Mutex::new(Held::default()),
        }
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, Held> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Takes queued packets whose encoded size fits in `budget` bytes (at
    /// least one packet, whatever its size), without waiting. The messages
    /// among them stay counted against the queue's bound until
    /// [`delivered`](Self::delivered) or [`requeue`](Self::requeue).
    pub(crate) fn try_take(&self, budget: usize) -> Delivery {
        let event = Event::Take {
            receiver: self.id,
            budget,
        };
        match self.session.apply(event) {
            Ok(Output::Delivery(delivery)) => {
                if let Delivery::Packets(packets) = &delivery {
                    self.in_flight().add(Held::of(packets));
                }
                delivery
            }
            _ => Delivery::Closed,
        }
    }

    /// Waits for packets, a release request or the end of the session.
    pub(crate) async fn next(&self, budget: usize) -> Delivery {
        loop {
            let notified = self.session.receiver_wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_take(budget) {
                Delivery::Empty => notified.await,
                delivery => return delivery,
            }
        }
    }

    /// Puts packets that were taken but not written back at the front.
    pub(crate) fn requeue(&self, packets: Vec<Packet>) {
        if !packets.is_empty() {
            self.in_flight().remove(Held::of(&packets));
            let _ = self.session.apply(Event::Requeue(packets));
        }
    }

    /// Reports packets handed to the network (what they held, see
    /// [`Held::of`]): their messages leave the queue's account, making room
    /// for senders.
    pub(crate) fn delivered(&self, held: Held) {
        if held != Held::default() {
            self.in_flight().remove(held);
            let _ = self.session.apply(Event::Delivered(held));
        }
    }

    /// This receiver's transport was lost without a close (a WebSocket's
    /// reset or EOF, a failed write): a resume session is suspended (unless
    /// another receiver has taken over already), any other closes.
    pub(crate) fn lost(&self, reason: crate::close::CloseReason) {
        let _ = self.session.apply(Event::Suspend {
            receiver: Some(self.id),
            reason,
        });
    }

    /// Acts on a packet this receiver's connection read (a WebSocket's):
    /// once a resume has replaced this receiver, messages it still reads
    /// are dropped, since the client sends them again on its new transport.
    pub(crate) async fn handle_packet(
        &self,
        inlet: &super::Inlet,
        packet: Packet,
    ) -> Result<(), super::UnexpectedPacket> {
        self.session
            .handle_from(inlet, packet, None, Some(self.id))
            .await
    }

    /// Records packets written to a streaming response (for resuming). A
    /// client that never acknowledges fills the ledger: that closes it.
    pub(crate) fn streamed(&self, packets: Vec<Packet>) -> Result<(), Refusal> {
        self.session.apply(Event::Streamed(packets)).map(drop)
    }

    /// Applies a streaming GET's `ack` and returns the packets to replay.
    /// A bad one closes the session.
    pub(crate) fn resume_stream(&self, ack: Option<u64>) -> Result<Vec<Packet>, Refusal> {
        match self.session.apply(Event::ResumeStream(ack))? {
            Output::Replay(packets) => Ok(packets),
            _ => Ok(Vec::new()),
        }
    }
}

impl Drop for ReceiverGuard {
    fn drop(&mut self) {
        let unreported = *self.in_flight();
        if unreported != Held::default() {
            let _ = self.session.apply(Event::Delivered(unreported));
        }
        let _ = self.session.apply(Event::Detach(self.id));
    }
}
