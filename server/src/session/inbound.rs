//! The way in to the application: messages a client sent, waiting for
//! [`Socket::recv`](crate::Socket::recv), bounded in count and in bytes.
//!
//! Each message takes its share of a byte budget (permits of a semaphore,
//! one per byte) when it is handed over, and the application's end gives
//! the share back when it takes the message; so a transport that hands
//! over messages faster than the application reads waits instead of
//! growing memory. A message larger than the whole budget takes all of it:
//! it passes when nothing else is waiting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Semaphore};

use crate::protocol::Message;

use super::queue::message_cost;

/// A message on its way to the application, with the bytes of the budget
/// it holds.
#[derive(Debug)]
struct Inbound {
    message: Message,
    cost: u32,
}

/// What both ends share: the byte budget, and whether messages may still
/// reach the application.
#[derive(Debug)]
struct Budget {
    bytes: Semaphore,
    max_bytes: u32,
    open: AtomicBool,
}

/// The session's end of the inbound channel.
#[derive(Debug)]
pub(crate) struct InboundSide {
    sender: Mutex<Option<mpsc::Sender<Inbound>>>,
    budget: Arc<Budget>,
}

/// The application's end: what [`Socket`](crate::Socket) reads.
#[derive(Debug)]
pub(crate) struct InboundReceiver {
    receiver: mpsc::Receiver<Inbound>,
    budget: Arc<Budget>,
}

impl InboundSide {
    pub(crate) fn new(max_messages: usize, max_bytes: u32) -> (Self, InboundReceiver) {
        let (sender, receiver) = mpsc::channel(max_messages);
        let budget = Arc::new(Budget {
            bytes: Semaphore::new(max_bytes as usize),
            max_bytes,
            open: AtomicBool::new(true),
        });
        let side = Self {
            sender: Mutex::new(Some(sender)),
            budget: budget.clone(),
        };
        (side, InboundReceiver { receiver, budget })
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
        }
    }

    /// No message may reach the application any more, even through an
    /// inlet taken before; its `recv` ends once every inlet lets go.
    pub(crate) fn stop(&self) {
        self.budget.open.store(false, Ordering::Release);
        self.sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
    }

    /// Bytes of the budget in use now.
    pub(crate) fn bytes_waiting(&self) -> usize {
        self.budget.max_bytes as usize - self.budget.bytes.available_permits()
    }
}

impl InboundReceiver {
    /// The next message; its share of the budget goes back at once.
    pub(crate) async fn recv(&mut self) -> Option<Message> {
        let inbound = self.receiver.recv().await?;
        self.budget.bytes.add_permits(inbound.cost as usize);
        Some(inbound.message)
    }
}

/// A hold on the application's inbound channel (see [`InboundSide::inlet`]).
pub(crate) struct Inlet {
    sender: Option<mpsc::Sender<Inbound>>,
    budget: Arc<Budget>,
}

impl Inlet {
    /// Hands `message` to the application, waiting while the budget or the
    /// channel is full. Returns at once if the session no longer delivers
    /// (closing) or the application dropped its socket (nobody listens).
    pub(crate) async fn deliver(&self, message: Message) {
        let Some(sender) = &self.sender else { return };
        if !self.budget.open.load(Ordering::Acquire) || sender.is_closed() {
            return;
        }
        let cost = u32::try_from(message_cost(&message))
            .unwrap_or(u32::MAX)
            .min(self.budget.max_bytes);
        let inbound = Inbound { message, cost };
        if let Ok(permit) = self.budget.bytes.try_acquire_many(cost) {
            permit.forget();
            match sender.try_send(inbound) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(inbound)) => {
                    // Boxed: the waiting state is rare, and this future is
                    // part of every transport's read loop.
                    return Box::pin(self.send_waiting(sender, inbound)).await;
                }
                Err(mpsc::error::TrySendError::Closed(inbound)) => {
                    return self.give_back(inbound.cost);
                }
            }
        }
        Box::pin(self.deliver_waiting(sender, inbound)).await
    }

    /// The budget is spent: wait for the application to take some.
    async fn deliver_waiting(&self, sender: &mpsc::Sender<Inbound>, inbound: Inbound) {
        match self.budget.bytes.acquire_many(inbound.cost).await {
            Ok(permit) => permit.forget(),
            Err(_) => return,
        }
        self.send_waiting(sender, inbound).await
    }

    /// The channel is full: wait for room in it.
    async fn send_waiting(&self, sender: &mpsc::Sender<Inbound>, inbound: Inbound) {
        // Nobody will take it: its share goes back.
        if let Err(refused) = sender.send(inbound).await {
            self.give_back(refused.0.cost);
        }
    }

    fn give_back(&self, cost: u32) {
        self.budget.bytes.add_permits(cost as usize);
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
        assert_eq!(receiver.recv().await, Some(Message::Text("x".repeat(100))));
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

    #[tokio::test]
    async fn nothing_is_delivered_once_stopped_even_through_an_old_inlet() {
        let (side, mut receiver) = InboundSide::new(100, 1000);
        let inlet = side.inlet();
        side.stop();
        inlet.deliver(Message::Text("late".into())).await;
        drop(inlet);
        assert_eq!(receiver.recv().await, None);
        assert_eq!(side.bytes_waiting(), 0);
    }

    #[tokio::test]
    async fn a_dropped_application_gives_the_share_back() {
        let (side, receiver) = InboundSide::new(100, 1000);
        drop(receiver);
        side.inlet().deliver(Message::Text("nobody".into())).await;
        assert_eq!(side.bytes_waiting(), 0);
    }
}
