//! The way in to the application: messages a client sent, waiting for
//! [`Socket::recv`](crate::Socket::recv), bounded in count and in bytes.
//!
//! Each message carries its share of a byte budget (permits of a
//! semaphore, one per byte) until the application takes it, so a transport
//! that hands over messages faster than the application reads waits
//! instead of growing memory. A message larger than the whole budget takes
//! all of it: it passes when nothing else is waiting.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::protocol::Message;

use super::queue::message_cost;

/// A message on its way to the application, with its bytes of the budget.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) message: Message,
    _budget: OwnedSemaphorePermit,
}

/// The session's end of the inbound channel.
#[derive(Debug)]
pub(crate) struct InboundSide {
    sender: Mutex<Option<mpsc::Sender<Inbound>>>,
    budget: Arc<Semaphore>,
    max_bytes: u32,
}

/// The application's end: what [`Socket`](crate::Socket) reads.
pub(crate) type InboundReceiver = mpsc::Receiver<Inbound>;

impl InboundSide {
    pub(crate) fn new(max_messages: usize, max_bytes: u32) -> (Self, InboundReceiver) {
        let (sender, receiver) = mpsc::channel(max_messages);
        let side = Self {
            sender: Mutex::new(Some(sender)),
            budget: Arc::new(Semaphore::new(max_bytes as usize)),
            max_bytes,
        };
        (side, receiver)
    }

    /// A hold on the channel for one transport loop or one POST, taken
    /// once rather than per message.
    pub(crate) fn inlet(&self) -> Inlet {
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        Inlet {
            sender,
            budget: self.budget.clone(),
            max_bytes: self.max_bytes,
        }
    }

    /// No message may reach the application any more; its `recv` ends
    /// once every inlet taken before lets go.
    pub(crate) fn stop(&self) {
        self.sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
    }

    /// Bytes of the budget in use now.
    pub(crate) fn bytes_waiting(&self) -> usize {
        self.max_bytes as usize - self.budget.available_permits()
    }
}

/// A hold on the application's inbound channel (see [`InboundSide::inlet`]).
pub(crate) struct Inlet {
    sender: Option<mpsc::Sender<Inbound>>,
    budget: Arc<Semaphore>,
    max_bytes: u32,
}

impl Inlet {
    /// Hands `message` to the application, waiting while the budget or the
    /// channel is full. Returns at once if the application dropped its
    /// socket (nobody listens; the message has nowhere to go).
    pub(crate) async fn deliver(&self, message: Message) {
        let Some(sender) = &self.sender else { return };
        let cost = u32::try_from(message_cost(&message))
            .unwrap_or(u32::MAX)
            .min(self.max_bytes);
        let budget = match self.budget.clone().try_acquire_many_owned(cost) {
            Ok(permit) => permit,
            Err(_) => match self.budget.clone().acquire_many_owned(cost).await {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let inbound = Inbound {
            message,
            _budget: budget,
        };
        if let Err(mpsc::error::TrySendError::Full(inbound)) = sender.try_send(inbound) {
            let _ = sender.send(inbound).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_byte_budget_holds_senders_until_the_application_reads() {
        let (side, mut receiver) = InboundSide::new(100, 200);
        let inlet = side.inlet();
        inlet.deliver(Message::Text("x".repeat(100))).await;
        assert_eq!(side.bytes_waiting(), 132);
        let blocked = inlet.deliver(Message::Text("y".repeat(100)));
        tokio::pin!(blocked);
        assert!(futures_util::FutureExt::now_or_never(blocked.as_mut()).is_none());
        let first = receiver.recv().await.unwrap();
        assert_eq!(first.message, Message::Text("x".repeat(100)));
        drop(first);
        blocked.await;
        assert_eq!(side.bytes_waiting(), 132);
    }

    #[tokio::test]
    async fn a_message_larger_than_the_budget_passes_alone() {
        let (side, mut receiver) = InboundSide::new(100, 64);
        side.inlet().deliver(Message::Text("z".repeat(1000))).await;
        assert_eq!(side.bytes_waiting(), 64);
        assert!(receiver.recv().await.is_some());
        assert_eq!(side.bytes_waiting(), 0);
    }
}
