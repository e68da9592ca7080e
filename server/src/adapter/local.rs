//! This node's own sockets: [`LocalNode`], the operations every adapter
//! ends in, and [`LocalAdapter`], the default adapter that knows no other
//! node.

use std::sync::{Arc, Weak};

use futures_util::future::{self, FutureExt};
use tokio::sync::broadcast;

use super::{Adapter, AdapterError, AdapterFuture, Target};
use crate::close::TrySendError;
use crate::engine::{Engine, SessionEvent};
use crate::protocol::{Message, SharedMessage};
use crate::sender::{offer_shared, Reached};
use crate::SocketSender;

/// The operations of one node on its own sockets, synchronous and
/// non-waiting. A cluster adapter gets one in [`Adapter::attach`] and
/// applies here what other nodes ask of this one.
///
/// It holds the server weakly: once the server is dropped every call
/// answers as for an empty node (or [`AdapterError::Stopped`]).
#[derive(Clone)]
pub struct LocalNode {
    engine: Weak<Engine>,
}

impl LocalNode {
    pub(crate) fn new(engine: Weak<Engine>) -> Self {
        Self { engine }
    }

    fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.upgrade()
    }

    /// Whether the server still exists.
    pub fn is_alive(&self) -> bool {
        self.engine.strong_count() > 0
    }

    /// Subscribes to this node's session lifecycle events, as
    /// [`Polysock::events`](crate::Polysock::events).
    pub fn events(&self) -> Option<broadcast::Receiver<SessionEvent>> {
        self.engine().map(|engine| engine.subscribe())
    }

    /// Queues `message` for every targeted socket of this node without
    /// waiting; returns for how many it was queued. A socket whose queue
    /// is full is closed with 1008, as for [`Rooms`](crate::Rooms). The
    /// message is encoded once ([`SharedMessage`]) for all of them.
    pub fn broadcast(&self, target: &Target, message: &Message) -> usize {
        self.broadcast_shared(target, &SharedMessage::new(message))
    }

    /// [`broadcast`](Self::broadcast) of a message encoded already (as a
    /// cluster adapter decodes one that another node published: encoded
    /// once per node, shared by every socket of it).
    pub fn broadcast_shared(&self, target: &Target, message: &SharedMessage) -> usize {
        let Some(engine) = self.engine() else {
            return 0;
        };
        if target.is_all() {
            let mut queued = 0;
            for session in engine.sessions() {
                if target.excepted().iter().any(|id| id == session.id()) {
                    continue;
                }
                queued += usize::from(offer_shared(&session, message) == Reached::Queued);
            }
            crate::metrics::delivered(queued, message.len());
            queued
        } else {
            let rooms = engine.rooms();
            let mut names = target.room_names().iter();
            let Some(first) = names.next() else {
                return 0;
            };
            let mut send = rooms.to(first.clone());
            for room in names {
                send = send.to(room.clone());
            }
            for id in target.excepted() {
                send = send.except(id.clone());
            }
            send.send_shared(message)
        }
    }

    /// Whether a socket with this id is open here.
    pub fn holds(&self, id: &str) -> bool {
        self.engine()
            .and_then(|engine| engine.session(id))
            .is_some()
    }

    /// Adds this node's socket `id` to `room`.
    /// [`AdapterError::NotFound`] if it is not open here.
    pub fn join(&self, id: &str, room: &str) -> Result<bool, AdapterError> {
        let engine = self.engine().ok_or(AdapterError::Stopped)?;
        let session = engine.session(id).ok_or(AdapterError::NotFound)?;
        Ok(engine.rooms().join(&SocketSender::new(session), room))
    }

    /// Takes this node's socket `id` out of `room`; whether it was in.
    pub fn leave(&self, id: &str, room: &str) -> bool {
        self.engine()
            .is_some_and(|engine| engine.rooms().leave(id, room))
    }

    /// The ids of this node's open sockets in `room`, sorted.
    pub fn members(&self, room: &str) -> Vec<String> {
        self.engine()
            .map(|engine| engine.rooms().members(room))
            .unwrap_or_default()
    }

    /// The rooms of this node's socket `id`, sorted.
    pub fn rooms_of(&self, id: &str) -> Vec<String> {
        self.engine()
            .map(|engine| engine.rooms().rooms_of(id))
            .unwrap_or_default()
    }

    /// The ids of this node's open sockets, sorted.
    pub fn socket_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .engine()
            .map(|engine| {
                engine
                    .sessions()
                    .iter()
                    .map(|session| session.id().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// How many sockets are open here.
    pub fn socket_count(&self) -> usize {
        self.engine()
            .map(|engine| engine.session_count())
            .unwrap_or(0)
    }

    /// Queues `message` for this node's socket `id` without waiting.
    pub fn send_to(&self, id: &str, message: Message) -> Result<(), AdapterError> {
        let engine = self.engine().ok_or(AdapterError::Stopped)?;
        let session = engine.session(id).ok_or(AdapterError::NotFound)?;
        match SocketSender::new(session).try_send(message) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(AdapterError::Full),
            Err(TrySendError::Closed(_)) => Err(AdapterError::Closed),
            Err(TrySendError::RecordSeparator(_)) => Err(AdapterError::Invalid(
                "text holding U+001E cannot reach a polling socket".into(),
            )),
            Err(TrySendError::TooLarge(_)) => {
                Err(AdapterError::Invalid("message larger than allowed".into()))
            }
        }
    }

    /// Closes this node's socket `id` with an application code and reason.
    pub fn close(&self, id: &str, code: u16, reason: &str) -> Result<(), AdapterError> {
        let engine = self.engine().ok_or(AdapterError::Stopped)?;
        let session = engine.session(id).ok_or(AdapterError::NotFound)?;
        SocketSender::new(session)
            .close(code, reason)
            .map_err(|error| AdapterError::Invalid(error.to_string()))
    }
}

impl std::fmt::Debug for LocalNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalNode")
            .field("alive", &self.is_alive())
            .finish()
    }
}

/// The default adapter: this node's sockets only. Every future it returns
/// is ready at once.
#[derive(Debug, Clone)]
pub struct LocalAdapter {
    node: LocalNode,
}

impl LocalAdapter {
    pub(crate) fn new(node: LocalNode) -> Self {
        Self { node }
    }
}

fn ready<'a, T: Send + 'a>(value: Result<T, AdapterError>) -> AdapterFuture<'a, T> {
    future::ready(value).boxed()
}

impl Adapter for LocalAdapter {
    fn broadcast(&self, target: Target, message: Message) -> AdapterFuture<'_, usize> {
        ready(Ok(self.node.broadcast(&target, &message)))
    }

    fn join<'a>(&'a self, id: &'a str, room: &'a str) -> AdapterFuture<'a, bool> {
        ready(self.node.join(id, room))
    }

    fn leave<'a>(&'a self, id: &'a str, room: &'a str) -> AdapterFuture<'a, bool> {
        ready(Ok(self.node.leave(id, room)))
    }

    fn members<'a>(&'a self, room: &'a str) -> AdapterFuture<'a, Vec<String>> {
        ready(Ok(self.node.members(room)))
    }

    fn rooms_of<'a>(&'a self, id: &'a str) -> AdapterFuture<'a, Vec<String>> {
        ready(Ok(self.node.rooms_of(id)))
    }

    fn socket_ids(&self) -> AdapterFuture<'_, Vec<String>> {
        ready(Ok(self.node.socket_ids()))
    }

    fn socket_count(&self) -> AdapterFuture<'_, usize> {
        ready(Ok(self.node.socket_count()))
    }

    fn send_to<'a>(&'a self, id: &'a str, message: Message) -> AdapterFuture<'a, ()> {
        ready(self.node.send_to(id, message))
    }

    fn close<'a>(&'a self, id: &'a str, code: u16, reason: &'a str) -> AdapterFuture<'a, ()> {
        ready(self.node.close(id, code, reason))
    }
}
