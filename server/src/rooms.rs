//! Rooms, socket.io style: named groups of sockets to send to together.
//! Every server owns one [`Rooms`] registry ([`Polysock::rooms`], or
//! [`Socket::rooms`] inside a handler); [`Broadcast`] addresses a send. The
//! guarantees under concurrency are stated on [`Rooms`].
//!
//! ```
//! use polysock::Polysock;
//!
//! let server = Polysock::builder()
//!     .on_connect(|mut socket| async move {
//!         let id = socket.id().to_owned();
//!         socket.rooms().join(&socket.sender(), "lobby");
//!         while let Some(message) = socket.recv().await {
//!             socket.rooms().to("lobby").except(&id).send(message);
//!         }
//!         // Closed: the socket has left the lobby on its own.
//!     })
//!     .build()
//!     .unwrap();
//! # drop(server);
//! ```
//!
//! [`Polysock::rooms`]: crate::Polysock::rooms
//! [`Socket::rooms`]: crate::Socket::rooms

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use dashmap::DashMap;

use crate::protocol::{Message, SharedMessage};
use crate::sender::{Reached, SocketSender};

/// Rooms, socket.io style: a server's registry of named groups of its
/// sockets to send to together. Cheap to clone; every clone is the same
/// registry.
///
/// A socket [joins](Rooms::join) and [leaves](Rooms::leave) rooms by name;
/// a message goes to one room, to several, or to every socket in any room,
/// optionally [except](Broadcast::except) one socket (usually the sender).
///
/// # Sending never waits
///
/// A send to many sockets uses [`SocketSender::try_send`]: it queues the
/// message for each member and returns at once, so one slow client cannot
/// hold up the others. A member whose outbound queue is full cannot keep up;
/// like [`Polysock::broadcast`], the send closes it with 1008 (policy
/// violation, reason "too slow: outbound queue full") rather than let it
/// silently miss a message, and takes it out of the rooms' member lists.
///
/// # Closed sockets
///
/// A closed socket stops receiving at once: sends skip it, and the first
/// send that finds it closed takes it out of the member lists;
/// [`Rooms::members`] never lists a closed socket. When the server forgets
/// the session (after its close has been delivered), the socket leaves
/// every room on its own: nothing is kept for a socket the application
/// forgot about. [`Rooms::leave_all`] still removes a socket from all its
/// rooms at once, for an application that wants that earlier.
///
/// # Concurrency
///
/// Every method takes `&self` and may be called from any task at the same
/// time as any other; none awaits, none panics on a race. Each room is
/// guarded by a lock held only while the room's members are visited
/// (`try_send` does not block), so a send to a room is atomic with respect
/// to joins and leaves of that room:
///
/// * when [`Rooms::leave`] (or [`Rooms::leave_all`]) has returned, no later
///   send to that room queues anything for that socket. Messages queued
///   before it returned are still delivered, in order, as for any socket;
/// * when [`Rooms::join`] has returned `true`, every send to that room
///   that starts afterwards queues the message for the socket (until it
///   leaves, closes or is closed for being too slow);
/// * a send that races a join or a leave either includes the socket or does
///   not, never half.
///
/// A send to several rooms visits them one after the other and queues each
/// message at most once per socket; the guarantees above hold room by room.
/// Locks are always taken in the same order (socket, then room) and never
/// across an `.await`, so there is no deadlock.
///
/// [`Polysock`]: crate::Polysock
/// [`Polysock::broadcast`]: crate::Polysock::broadcast
#[derive(Clone)]
pub struct Rooms {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Each socket that joined: its sender and the rooms it is in (until
    /// it leaves them, even once closed). Locked before `rooms` whenever
    /// both are needed.
    sockets: DashMap<String, Member>,
    /// Each non-empty room: its members by id, less the closed sockets
    /// that a send already pruned.
    rooms: DashMap<String, HashMap<String, SocketSender>>,
}

struct Member {
    sender: SocketSender,
    rooms: HashSet<String>,
}

impl Rooms {
    /// An empty registry; every server owns one ([`Polysock::rooms`]).
    pub(crate) fn new() -> Self {
        Self {
            inner: Arc::default(),
        }
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
    /// sorted (harmless to call twice; the server calls it when it forgets
    /// a closed session).
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

    /// The rooms the socket is in, sorted. A closed socket keeps its rooms
    /// here until the server forgets it.
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

    /// The sender of a socket that is in at least one room (or was, when it
    /// closed, until the server forgets it).
    pub fn socket(&self, id: &str) -> Option<SocketSender> {
        self.inner
            .sockets
            .get(id)
            .map(|member| member.sender.clone())
    }

    /// Takes a closed socket out of its rooms' member lists, keeping its
    /// own list of rooms for `leave_all`.
    fn prune(&self, id: &str) {
        if let Some(member) = self.inner.sockets.get(id) {
            for room in &member.rooms {
                self.remove_from_room(id, room);
            }
        }
    }

    fn remove_from_room(&self, id: &str, room: &str) {
        if let Some(mut members) = self.inner.rooms.get_mut(room) {
            members.remove(id);
        }
        self.inner
            .rooms
            .remove_if(room, |_, members| members.is_empty());
    }

    /// Queues `message` (encoded once for the whole send) for one member;
    /// says whether it was queued and whether the member must be pruned.
    fn deliver(sender: &SocketSender, message: &SharedMessage) -> (bool, bool) {
        match sender.offer_shared(message) {
            Reached::Queued => (true, false),
            Reached::Gone => (false, true),
            Reached::Skipped => (false, false),
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
    /// closed with 1008; closed members are taken out of the rooms' member
    /// lists (see [`Rooms::members`]). A text
    /// message holding U+001E reaches nobody (see [`SocketSender::try_send`]).
    pub fn send(self, message: impl Into<Message>) -> usize {
        self.send_shared(&SharedMessage::new(&message.into()))
    }

    /// [`send`](Self::send) for a message encoded already: every member's
    /// queue shares it (this is what `send` does after encoding once).
    pub fn send_shared(self, message: &SharedMessage) -> usize {
        let mut queued = 0;
        let mut prune = Vec::new();
        match &self.target {
            Target::All => {
                for member in self.rooms.inner.sockets.iter() {
                    if member.rooms.is_empty() || self.except.iter().any(|id| id == member.key()) {
                        continue;
                    }
                    let (sent, dead) = Rooms::deliver(&member.sender, message);
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
                        let (sent, dead) = Rooms::deliver(sender, message);
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
            self.rooms.prune(&id);
        }
        crate::metrics::delivered(queued, message.len());
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
