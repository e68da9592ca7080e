//! Rooms, socket.io style: named groups of sockets to send to together.
//!
//! [`Rooms`] is a registry the application keeps beside its [`Polysock`]
//! server (it is built only on [`SocketSender`], so any number of
//! registries can coexist). A socket [joins](Rooms::join) and
//! [leaves](Rooms::leave) rooms by name; a message goes to one room, to
//! several, or to every socket in any room, optionally
//! [except](Broadcast::except) one socket (usually the sender).
//!
//! ```
//! use polysock::{Polysock, Rooms};
//!
//! let rooms = Rooms::new();
//! let server = Polysock::builder()
//!     .on_connect({
//!         let rooms = rooms.clone();
//!         move |mut socket| {
//!             let rooms = rooms.clone();
//!             async move {
//!                 let id = socket.id().to_owned();
//!                 rooms.join(&socket.sender(), "lobby");
//!                 while let Some(message) = socket.recv().await {
//!                     // Everyone else in the lobby gets the message.
//!                     rooms.to("lobby").except(&id).send(message);
//!                 }
//!                 rooms.leave_all(&id);
//!             }
//!         }
//!     })
//!     .build()
//!     .unwrap();
//! # drop(server);
//! ```
//!
//! # Sending never waits
//!
//! A send to many sockets uses [`SocketSender::try_send`]: it queues the
//! message for each member and returns at once, so one slow client cannot
//! hold up the others. A member whose outbound queue is full cannot keep up;
//! like [`Polysock::broadcast`], the send closes it with 1008 (policy
//! violation, reason "too slow: outbound queue full") rather than let it
//! silently miss a message, and removes it from its rooms.
//!
//! # Closed sockets
//!
//! A closed socket stops being a member: when the application calls
//! [`Rooms::leave_all`] at disconnect (the usual place), when a send finds it
//! closed, and, when `join` runs inside a Tokio runtime, by a small task
//! that waits for the socket to close. [`Rooms::members`] never lists a
//! socket that is already closed.
//!
//! # Concurrency
//!
//! Every method takes `&self` and may be called from any task at the same
//! time as any other; none awaits, none panics on a race. Each room is
//! guarded by a lock held only while the room's members are visited
//! (`try_send` does not block), so a send to a room is atomic with respect
//! to joins and leaves of that room:
//!
//! * when [`Rooms::leave`] (or [`Rooms::leave_all`]) has returned, no later
//!   send to that room queues anything for that socket. Messages queued
//!   before it returned are still delivered, in order, as for any socket;
//! * when [`Rooms::join`] has returned `true`, every send to that room
//!   that starts afterwards queues the message for the socket (until it
//!   leaves, closes or is closed for being too slow);
//! * a send that races a join or a leave either includes the socket or does
//!   not, never half.
//!
//! A send to several rooms visits them one after the other and queues each
//! message at most once per socket; the guarantees above hold room by room.
//! Locks are always taken in the same order (socket, then room) and never
//! across an `.await`, so there is no deadlock.
//!
//! [`Polysock`]: crate::Polysock
//! [`Polysock::broadcast`]: crate::Polysock::broadcast

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Weak};

use dashmap::{DashMap, DashSet};

use crate::protocol::{CloseFrame, Message};
use crate::socket::{SocketSender, TrySendError};

/// The reason given to a member closed because its queue was full.
const TOO_SLOW: &str = "too slow: outbound queue full";

/// A registry of named rooms of sockets. Cheap to clone; every clone is the
/// same registry.
///
/// See the [module documentation](self) for an example and the concurrency
/// guarantees.
#[derive(Clone, Default)]
pub struct Rooms {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Each member socket: its sender and the rooms it is in. Locked before
    /// `rooms` whenever both are needed.
    sockets: DashMap<String, Member>,
    /// Each non-empty room: its members by id.
    rooms: DashMap<String, HashMap<String, SocketSender>>,
    /// Sockets with a task waiting for them to close.
    watched: DashSet<String>,
}

struct Member {
    sender: SocketSender,
    rooms: HashSet<String>,
}

impl Rooms {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the socket to `room`, creating the room if needed. Returns
    /// `true` if it joined, `false` if it was already in the room or is
    /// closed.
    pub fn join(&self, socket: &SocketSender, room: impl Into<String>) -> bool {
        if socket.is_closed() {
            return false;
        }
        let room = room.into();
        let id = socket.id();
        let mut member = self
            .inner
            .sockets
            .entry(id.to_owned())
            .or_insert_with(|| Member {
                sender: socket.clone(),
                rooms: HashSet::new(),
            });
        if !member.rooms.insert(room.clone()) {
            return false;
        }
        self.inner
            .rooms
            .entry(room)
            .or_default()
            .insert(id.to_owned(), socket.clone());
        drop(member);
        self.watch(socket);
        true
    }

    /// Removes the socket from `room`. Returns whether it was a member. The
    /// room disappears with its last member.
    pub fn leave(&self, id: &str, room: &str) -> bool {
        let Some(mut member) = self.inner.sockets.get_mut(id) else {
            return false;
        };
        if !member.rooms.remove(room) {
            return false;
        }
        self.remove_from_room(id, room);
        if member.rooms.is_empty() {
            drop(member);
            self.inner
                .sockets
                .remove_if(id, |_, member| member.rooms.is_empty());
        }
        true
    }

    /// Removes the socket from every room it is in and returns those rooms,
    /// sorted. Call it when the socket closes (it is harmless to call twice).
    pub fn leave_all(&self, id: &str) -> Vec<String> {
        let Some(mut member) = self.inner.sockets.get_mut(id) else {
            return Vec::new();
        };
        let mut left: Vec<String> = member.rooms.drain().collect();
        for room in &left {
            self.remove_from_room(id, room);
        }
        drop(member);
        self.inner
            .sockets
            .remove_if(id, |_, member| member.rooms.is_empty());
        left.sort_unstable();
        left
    }

    /// Targets the members of `room`; add rooms with [`Broadcast::to`] and
    /// send with [`Broadcast::send`].
    pub fn to(&self, room: impl Into<String>) -> Broadcast<'_> {
        Broadcast {
            rooms: self,
            target: Target::Rooms(vec![room.into()]),
            except: Vec::new(),
        }
    }

    /// Targets every socket that is in at least one room. (To reach every
    /// socket of the server, in a room or not, use
    /// [`Polysock::broadcast`](crate::Polysock::broadcast).)
    pub fn all(&self) -> Broadcast<'_> {
        Broadcast {
            rooms: self,
            target: Target::All,
            except: Vec::new(),
        }
    }

    /// The ids of the open sockets in `room`, sorted.
    pub fn members(&self, room: &str) -> Vec<String> {
        let mut ids: Vec<String> = match self.inner.rooms.get(room) {
            Some(members) => members
                .iter()
                .filter(|(_, sender)| !sender.is_closed())
                .map(|(id, _)| id.clone())
                .collect(),
            None => Vec::new(),
        };
        ids.sort_unstable();
        ids
    }

    /// The rooms the socket is in, sorted.
    pub fn rooms_of(&self, id: &str) -> Vec<String> {
        let mut rooms: Vec<String> = match self.inner.sockets.get(id) {
            Some(member) => member.rooms.iter().cloned().collect(),
            None => Vec::new(),
        };
        rooms.sort_unstable();
        rooms
    }

    /// The names of the rooms that have members, sorted.
    pub fn rooms(&self) -> Vec<String> {
        let mut rooms: Vec<String> = self
            .inner
            .rooms
            .iter()
            .map(|room| room.key().clone())
            .collect();
        rooms.sort_unstable();
        rooms
    }

    /// The sender of a socket that is in at least one room.
    pub fn socket(&self, id: &str) -> Option<SocketSender> {
        self.inner
            .sockets
            .get(id)
            .map(|member| member.sender.clone())
    }

    fn remove_from_room(&self, id: &str, room: &str) {
        if let Some(mut members) = self.inner.rooms.get_mut(room) {
            members.remove(id);
        }
        self.inner
            .rooms
            .remove_if(room, |_, members| members.is_empty());
    }

    /// Spawns, once per socket and only inside a Tokio runtime, a task that
    /// removes the socket from its rooms when it closes. The task holds the
    /// registry weakly.
    fn watch(&self, socket: &SocketSender) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.inner.watched.insert(socket.id().to_owned()) {
            return;
        }
        let registry: Weak<Inner> = Arc::downgrade(&self.inner);
        let socket = socket.clone();
        runtime.spawn(async move {
            socket.closed().await;
            if let Some(inner) = registry.upgrade() {
                let rooms = Rooms { inner };
                rooms.leave_all(socket.id());
                rooms.inner.watched.remove(socket.id());
            }
        });
    }

    /// Queues `message` for one member; says whether it was queued and
    /// whether the member must be pruned.
    fn deliver(sender: &SocketSender, message: &Message) -> (bool, bool) {
        match sender.try_send(message.clone()) {
            Ok(()) => (true, false),
            Err(TrySendError::Full(_)) => {
                sender.close(CloseFrame::POLICY, TOO_SLOW);
                (false, true)
            }
            Err(TrySendError::Closed(_)) => (false, true),
            Err(TrySendError::RecordSeparator(_)) => (false, false),
        }
    }
}

impl fmt::Debug for Rooms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rooms")
            .field("rooms", &self.inner.rooms.len())
            .field("sockets", &self.inner.sockets.len())
            .finish()
    }
}

/// A send being addressed: made by [`Rooms::to`] or [`Rooms::all`], sent by
/// [`Broadcast::send`].
#[must_use = "nothing is sent until `send` is called"]
#[derive(Debug, Clone)]
pub struct Broadcast<'a> {
    rooms: &'a Rooms,
    target: Target,
    except: Vec<String>,
}

#[derive(Debug, Clone)]
enum Target {
    All,
    Rooms(Vec<String>),
}

impl Broadcast<'_> {
    /// Adds the members of another room; a socket in several of the rooms
    /// gets the message once.
    pub fn to(mut self, room: impl Into<String>) -> Self {
        if let Target::Rooms(rooms) = &mut self.target {
            rooms.push(room.into());
        }
        self
    }

    /// Leaves out the socket with this id (typically the one whose message
    /// is being relayed).
    pub fn except(mut self, id: impl Into<String>) -> Self {
        self.except.push(id.into());
        self
    }

    /// Queues the message for every targeted socket without waiting and
    /// returns for how many it was queued. A member whose queue is full is
    /// closed with 1008; closed members are removed from their rooms. A text
    /// message holding U+001E reaches nobody (see [`SocketSender::try_send`]).
    pub fn send(self, message: impl Into<Message>) -> usize {
        let message = message.into();
        let mut queued = 0;
        let mut prune = Vec::new();
        match &self.target {
            Target::All => {
                for member in self.rooms.inner.sockets.iter() {
                    if member.rooms.is_empty() || self.except.iter().any(|id| id == member.key()) {
                        continue;
                    }
                    let (sent, dead) = Rooms::deliver(&member.sender, &message);
                    queued += usize::from(sent);
                    if dead {
                        prune.push(member.key().clone());
                    }
                }
            }
            Target::Rooms(rooms) => {
                let mut seen: HashSet<String> = HashSet::new();
                let several = rooms.len() > 1;
                for room in rooms {
                    let Some(members) = self.rooms.inner.rooms.get(room) else {
                        continue;
                    };
                    for (id, sender) in members.iter() {
                        if self.except.iter().any(|except| except == id)
                            || (several && !seen.insert(id.clone()))
                        {
                            continue;
                        }
                        let (sent, dead) = Rooms::deliver(sender, &message);
                        queued += usize::from(sent);
                        if dead {
                            prune.push(id.clone());
                        }
                    }
                }
            }
        }
        // Every lock is released: pruning may take them.
        for id in prune {
            self.rooms.leave_all(&id);
        }
        queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_registry_answers_without_a_runtime() {
        let rooms = Rooms::new();
        assert!(rooms.members("a").is_empty());
        assert!(rooms.rooms_of("x").is_empty());
        assert!(rooms.leave_all("x").is_empty());
        assert!(!rooms.leave("x", "a"));
        assert_eq!(rooms.to("a").to("b").except("x").send("hi"), 0);
        assert_eq!(rooms.all().send("hi"), 0);
        assert!(rooms.rooms().is_empty());
    }
}
