//! The shell's part of resume (protocol-spec 11): the session's entry
//! points for a loss, a resume handshake, a GET's `ack`, the window and the
//! ack timer. The rules are the machine's ([`super::machine`]).

use std::sync::Arc;

use crate::close::CloseReason;
use crate::Transport;

use super::machine::{Event, Output};
use super::{unreachable_refusal, Phase, ReceiverGuard, Refusal, Session};

impl Session {
    /// The transport was lost without a close (ping timeout, ...): a resume
    /// session is suspended, any other closes with `reason`.
    pub(crate) fn lose(&self, reason: CloseReason) {
        let _ = self.apply(Event::Suspend {
            receiver: None,
            reason,
        });
    }

    /// A resume handshake: on success, the new receiver (every transport
    /// but polling) and the count of client messages received.
    pub(crate) fn resume(
        self: &Arc<Self>,
        transport: Transport,
        last: u64,
    ) -> Result<(Option<ReceiverGuard>, u64), Refusal> {
        match self.apply(Event::Resume { transport, last })? {
            Output::Resumed { receiver, received } => Ok((
                receiver.map(|id| ReceiverGuard::new(self.clone(), id)),
                received,
            )),
            _ => unreachable_refusal(),
        }
    }

    /// A GET's `ack` in a resume session: acknowledges, and queues again
    /// at the front what was written after it. A bad one closes.
    pub(crate) fn ack_replay(&self, ack: u64) -> Result<(), Refusal> {
        self.apply(Event::AckReplay(ack)).map(drop)
    }

    /// The resume window ran out: closes the session if it is still
    /// suspended.
    pub(crate) fn window_over(&self) {
        let _ = self.apply(Event::WindowOver);
    }

    /// The 100 ms ack timer ran out.
    pub(crate) fn ack_due(&self) {
        let _ = self.apply(Event::AckDue);
    }

    pub(crate) fn ack_timer_notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.ack_timer.notified()
    }

    /// Waits until the session is no longer carried by a transport
    /// (suspended, closing or closed).
    pub(crate) async fn uncarried(&self) {
        self.wait_until(|machine| !machine.phase().is_carried())
            .await
    }

    /// Waits until the session is no longer suspended.
    pub(crate) async fn unsuspended(&self) {
        self.wait_until(|machine| machine.phase() != Phase::Suspended)
            .await
    }
}
