//! The way in to the application: messages a client sent, waiting for
//! [`Socket::recv`](crate::Socket::recv), bounded in count and in bytes.
//!
//! Each message takes its share of a byte budget (permits of a semaphore,
//! one per byte) when it is handed over, and the application's end gives
//! the share back when it takes the message; so a transport that hands
//! over messages faster than the application reads waits instead of
//! growing memory. A message larger than the whole budget takes all of it:
//! it passes when nothing else is waiting.
//!
//! The queue is a plain `VecDeque` under a lock that nothing else takes
//! (a channel would allocate its first block of slots for every session,
//! idle or not); it ends for the application once the session stopped
//! delivering and every inlet taken before has let go.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, Semaphore};

use crate::protocol::Message;

use super::queue::message_cost;

/// A message on its way to the application, with the bytes of the budget
/// it holds.
#[derive(Debug)]
struct Inbound {
    message: Message,
    cost: u32,
}

#[derive(Debug)]
struct State {
    queue: VecDeque<Inbound>,
    /// The session still delivers.
    open: bool,
    /// Holders that may still deliver: the session's side until it stops,
    /// and every live inlet.
    holders: usize,
    /// The application still has its end.
    receiver_alive: bool,
}

/// What both ends share.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// A message was queued, or the last holder let go.
    readable: Notify,
    /// A message was taken, or the application let go.
    writable: Notify,
    bytes: Semaphore,
    max_bytes: u32,
    max_messages: usize,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn give_back(&self, cost: u32) {
        self.bytes.add_permits(cost as usize);
    }

    /// One holder fewer; the last one ends the application's `recv`.
    fn release_holder(&self) {
        let mut state = self.state();
        state.holders -= 1;
        let last = state.holders == 0;
        drop(state);
        if last {
            self.readable.notify_one();
        }
    }
}

/// The session's end of the inbound queue.
#[derive(Debug)]
pub(crate) struct InboundSide {
    shared: Arc<Shared>,
}

/// The application's end: what [`Socket`](crate::Socket) reads.
#[derive(Debug)]
pub(crate) struct InboundReceiver {
    shared: Arc<Shared>,
}

impl InboundSide {
    pub(crate) fn new(max_messages: usize, max_bytes: u32) -> (Self, InboundReceiver) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                open: true,
                holders: 1,
                receiver_alive: true,
            }),
            readable: Notify::new(),
            writable: Notify::new(),
            bytes: Semaphore::new(max_bytes as usize),
            max_bytes,
            max_messages,
        });
        let receiver = InboundReceiver {
            shared: shared.clone(),
        };
        (Self { shared }, receiver)
    }

    /// A hold on the queue for one transport loop or one POST, taken once
    /// rather than per message.
    pub(crate) fn inlet(&self) -> Inlet {
        let mut state = self.shared.state();
        let holds = state.open;
        if holds {
            state.holders += 1;
        }
        drop(state);
        Inlet {
            shared: self.shared.clone(),
            holds,
        }
    }

    /// No message may reach the application any more, even through an
    /// inlet taken before; its `recv` ends once every inlet lets go.
    pub(crate) fn stop(&self) {
        let mut state = self.shared.state();
        if !state.open {
            return;
        }
        state.open = false;
        drop(state);
        self.shared.release_holder();
        self.shared.writable.notify_waiters();
    }

    /// Bytes of the budget in use now.
    pub(crate) fn bytes_waiting(&self) -> usize {
        self.shared.max_bytes as usize - self.shared.bytes.available_permits()
    }
}

impl InboundReceiver {
    /// The next message, or `None` once the session stopped delivering and
    /// everything queued before has been taken. Its share of the budget
    /// goes back at once.
    pub(crate) async fn recv(&mut self) -> Option<Message> {
        loop {
            let readable = self.shared.readable.notified();
            tokio::pin!(readable);
            readable.as_mut().enable();
            let (next, ended) = {
                let mut state = self.shared.state();
                (state.queue.pop_front(), state.holders == 0)
            };
            if let Some(inbound) = next {
                self.shared.writable.notify_one();
                self.shared.give_back(inbound.cost);
                return Some(inbound.message);
            }
            if ended {
                return None;
            }
            readable.await;
        }
    }
}

impl Drop for InboundReceiver {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        state.receiver_alive = false;
        let dropped: u32 = state.queue.drain(..).map(|inbound| inbound.cost).sum();
        drop(state);
        self.shared.give_back(dropped);
        self.shared.writable.notify_waiters();
    }
}

/// A hold on the application's inbound queue (see [`InboundSide::inlet`]).
pub(crate) struct Inlet {
    shared: Arc<Shared>,
    /// Taken while the session delivered: counted among the holders.
    holds: bool,
}

impl Drop for Inlet {
    fn drop(&mut self) {
        if self.holds {
            self.shared.release_holder();
        }
    }
}

impl Inlet {
    /// Hands `message` to the application, waiting while the budget or the
    /// queue is full. Returns at once if the session no longer delivers
    /// (closing) or the application dropped its socket (nobody listens).
    pub(crate) async fn deliver(&self, message: Message) {
        if !self.holds {
            return;
        }
        let cost = u32::try_from(message_cost(&message))
            .unwrap_or(u32::MAX)
            .min(self.shared.max_bytes);
        let mut inbound = Inbound { message, cost };
        match self.shared.bytes.try_acquire_many(cost) {
            Ok(permit) => permit.forget(),
            // Boxed: the waiting states are rare, and this future is part of
            // every transport's read loop.
            Err(_) => {
                if !Box::pin(self.wait_for_budget(cost)).await {
                    return;
                }
            }
        }
        loop {
            match self.try_push(inbound) {
                Ok(()) => return,
                Err(Some(back)) => inbound = back,
                Err(None) => return,
            }
            Box::pin(self.wait_for_room()).await;
        }
    }

    /// Queues `inbound` if there is room; gives it back when full, and
    /// gives its share back (`Err(None)`) when nobody will take it.
    fn try_push(&self, inbound: Inbound) -> Result<(), Option<Inbound>> {
        let mut state = self.shared.state();
        if !state.open || !state.receiver_alive {
            drop(state);
            self.shared.give_back(inbound.cost);
            return Err(None);
        }
        if state.queue.len() >= self.shared.max_messages {
            return Err(Some(inbound));
        }
        state.queue.push_back(inbound);
        drop(state);
        self.shared.readable.notify_one();
        Ok(())
    }

    /// Waits for `cost` bytes of budget; `false` if the semaphore closed.
    async fn wait_for_budget(&self, cost: u32) -> bool {
        match self.shared.bytes.acquire_many(cost).await {
            Ok(permit) => {
                permit.forget();
                true
            }
            Err(_) => false,
        }
    }

    /// Waits until a message is taken (or the receiver goes, or the session
    /// stops); the caller tries again.
    async fn wait_for_room(&self) {
        let writable = self.shared.writable.notified();
        tokio::pin!(writable);
        writable.as_mut().enable();
        let room = {
            let state = self.shared.state();
            state.queue.len() < self.shared.max_messages || !state.open || !state.receiver_alive
        };
        if !room {
            writable.await;
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
        assert_eq!(receiver.recv().await, Some(Message::Text("x".repeat(100))));
        blocked.await;
        assert_eq!(side.bytes_waiting(), 132);
    }

    #[tokio::test]
    async fn the_count_bound_holds_senders_too() {
        let (side, mut receiver) = InboundSide::new(2, 10_000);
        let inlet = side.inlet();
        inlet.deliver(Message::Text("a".into())).await;
        inlet.deliver(Message::Text("b".into())).await;
        let blocked = inlet.deliver(Message::Text("c".into()));
        tokio::pin!(blocked);
        assert!(futures_util::FutureExt::now_or_never(blocked.as_mut()).is_none());
        assert_eq!(receiver.recv().await, Some(Message::Text("a".into())));
        blocked.await;
        assert_eq!(receiver.recv().await, Some(Message::Text("b".into())));
        assert_eq!(receiver.recv().await, Some(Message::Text("c".into())));
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
    async fn recv_ends_after_the_stop_once_every_inlet_let_go() {
        let (side, mut receiver) = InboundSide::new(100, 1000);
        let inlet = side.inlet();
        inlet.deliver(Message::Text("before".into())).await;
        side.stop();
        inlet.deliver(Message::Text("late".into())).await;
        assert_eq!(receiver.recv().await, Some(Message::Text("before".into())));
        let ended = receiver.recv();
        tokio::pin!(ended);
        assert!(
            futures_util::FutureExt::now_or_never(ended.as_mut()).is_none(),
            "an inlet still holds"
        );
        drop(inlet);
        assert_eq!(ended.await, None);
        assert_eq!(side.bytes_waiting(), 0);
        assert!(!side.inlet().holds, "no new holder after the stop");
    }

    #[tokio::test]
    async fn a_dropped_application_gives_the_shares_back() {
        let (side, receiver) = InboundSide::new(100, 1000);
        let inlet = side.inlet();
        inlet.deliver(Message::Text("queued".into())).await;
        drop(receiver);
        assert_eq!(side.bytes_waiting(), 0);
        inlet.deliver(Message::Text("nobody".into())).await;
        assert_eq!(side.bytes_waiting(), 0);
    }
}
