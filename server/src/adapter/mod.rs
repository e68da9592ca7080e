//! The adapter seam: the one place that knows whether other nodes exist.
//!
//! An [`Adapter`] answers the questions an application asks of "all my
//! sockets" — broadcast to every socket, to rooms, except some; join and
//! leave rooms; who is in a room; how many sockets there are; send to or
//! close a socket by id — with the same API whether the socket is on this
//! node or on another one. Every server has one ([`Polysock::adapter`]).
//!
//! * [`LocalAdapter`], the default, answers from this node alone. Its
//!   futures are ready at once; nothing is spawned, nothing is allocated
//!   when it is not used.
//! * A cluster adapter (the `polysock-redis` crate) answers for every node
//!   of the cluster. It is given this node's [`LocalNode`] when the server
//!   is built ([`Adapter::attach`]) and applies what other nodes ask of it
//!   through the same [`LocalNode`] calls.
//!
//! ```text
//!  app ── adapter.broadcast(target, msg) ──▶ LocalAdapter: LocalNode::broadcast
//!                                       └──▶ cluster adapter: LocalNode::broadcast here,
//!                                            publish once ──▶ each other node: LocalNode::broadcast
//! ```
//!
//! # Backpressure
//!
//! A broadcast never waits for a socket: each targeted socket's message is
//! queued with [`SocketSender::try_send`], and a socket whose outbound
//! queue is full is closed with 1008 ("too slow: outbound queue full")
//! rather than left to miss a message silently, on every node alike (see
//! [`Rooms`](crate::Rooms)). [`Adapter::send_to`] to a single socket uses
//! the same non-waiting send and reports a full queue as
//! [`AdapterError::Full`] instead of closing the socket.
//!
//! [`Polysock::adapter`]: crate::Polysock::adapter
//! [`SocketSender::try_send`]: crate::SocketSender::try_send

mod local;

use std::fmt;

use futures_util::future::BoxFuture;

use crate::protocol::Message;

pub use local::{LocalAdapter, LocalNode};

/// What an adapter operation returns: a boxed future of a result.
pub type AdapterFuture<'a, T> = BoxFuture<'a, Result<T, AdapterError>>;

/// Whom a broadcast is for: every socket, or the members of some rooms,
/// less some sockets.
///
/// ```
/// use polysock::Target;
///
/// let everyone = Target::all();
/// let room = Target::room("lobby").and("rust").except("sid-of-sender");
/// assert!(everyone.is_all());
/// assert_eq!(room.room_names(), ["lobby", "rust"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    rooms: Vec<String>,
    except: Vec<String>,
}

impl Target {
    /// Every socket, in a room or not.
    pub fn all() -> Self {
        Self::default()
    }

    /// The members of `room`.
    pub fn room(room: impl Into<String>) -> Self {
        Self {
            rooms: vec![room.into()],
            except: Vec::new(),
        }
    }

    /// The members of several rooms; a socket in more than one gets the
    /// message once.
    pub fn rooms<I, S>(rooms: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            rooms: rooms.into_iter().map(Into::into).collect(),
            except: Vec::new(),
        }
    }

    /// Adds the members of another room.
    pub fn and(mut self, room: impl Into<String>) -> Self {
        self.rooms.push(room.into());
        self
    }

    /// Leaves out the socket with this id.
    pub fn except(mut self, id: impl Into<String>) -> Self {
        self.except.push(id.into());
        self
    }

    /// The rooms targeted; empty means every socket.
    pub fn room_names(&self) -> &[String] {
        &self.rooms
    }

    /// The sockets left out.
    pub fn excepted(&self) -> &[String] {
        &self.except
    }

    /// Builds a target from its parts (as an adapter decodes it).
    pub fn from_parts(rooms: Vec<String>, except: Vec<String>) -> Self {
        Self { rooms, except }
    }

    /// Whether every socket is targeted (no room named).
    pub fn is_all(&self) -> bool {
        self.rooms.is_empty()
    }
}

/// Why an adapter operation failed. Local operations of the default
/// adapter fail only with [`NotFound`](Self::NotFound),
/// [`Full`](Self::Full), [`Closed`](Self::Closed) or
/// [`Invalid`](Self::Invalid); the others come from a cluster adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdapterError {
    /// The cluster's broker cannot be reached (down, or reconnecting):
    /// the operation was not carried out on the other nodes. Operations on
    /// this node's sockets keep working.
    Unavailable(String),
    /// Some node did not answer in time.
    Timeout,
    /// No node holds a socket with this id.
    NotFound,
    /// The socket's outbound queue is full (it cannot keep up).
    Full,
    /// The socket has closed.
    Closed,
    /// The request itself is invalid (a close code outside 1000 and
    /// 3000-4999, text holding U+001E for a polling socket).
    Invalid(String),
    /// The adapter has been shut down, or the server it served is gone.
    Stopped,
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "cluster unavailable: {why}"),
            Self::Timeout => f.write_str("a node did not answer in time"),
            Self::NotFound => f.write_str("no such socket"),
            Self::Full => f.write_str("the socket's outbound queue is full"),
            Self::Closed => f.write_str("the socket has closed"),
            Self::Invalid(why) => write!(f, "invalid request: {why}"),
            Self::Stopped => f.write_str("the adapter has stopped"),
        }
    }
}

impl std::error::Error for AdapterError {}

impl AdapterError {
    /// A short stable name for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "unavailable",
            Self::Timeout => "timeout",
            Self::NotFound => "not_found",
            Self::Full => "full",
            Self::Closed => "closed",
            Self::Invalid(_) => "invalid",
            Self::Stopped => "stopped",
        }
    }
}

/// Rooms, broadcast, membership and sockets by id, on one node or on all
/// of them. Every method may be called from any task; none panics on what
/// a client sent. See the [module docs](self).
pub trait Adapter: Send + Sync + 'static {
    /// Called once when the server is built, inside `Builder::build`, with
    /// this node's own operations. A cluster adapter starts its tasks here
    /// (so `build` must then run inside a Tokio runtime).
    fn attach(&self, node: LocalNode) {
        let _ = node;
    }

    /// Queues `message` for every targeted socket of the cluster and
    /// returns for how many sockets of *this* node it was queued (other
    /// nodes do not report back). Never waits for a socket; see
    /// "Backpressure" in the module docs. A cluster adapter that cannot
    /// reach the other nodes still delivers here, then returns
    /// [`AdapterError::Unavailable`].
    fn broadcast(&self, target: Target, message: Message) -> AdapterFuture<'_, usize>;

    /// Adds the socket `id` (on any node) to `room`; `true` if it joined,
    /// `false` if it was in already.
    fn join<'a>(&'a self, id: &'a str, room: &'a str) -> AdapterFuture<'a, bool>;

    /// Takes the socket `id` (on any node) out of `room`; whether it was in.
    fn leave<'a>(&'a self, id: &'a str, room: &'a str) -> AdapterFuture<'a, bool>;

    /// The ids of the open sockets in `room`, on every node, sorted.
    fn members<'a>(&'a self, room: &'a str) -> AdapterFuture<'a, Vec<String>>;

    /// The rooms of the socket `id`, sorted (empty if it is in none or
    /// unknown).
    fn rooms_of<'a>(&'a self, id: &'a str) -> AdapterFuture<'a, Vec<String>>;

    /// The ids of every open socket, sorted.
    fn socket_ids(&self) -> AdapterFuture<'_, Vec<String>>;

    /// How many sockets are open.
    fn socket_count(&self) -> AdapterFuture<'_, usize>;

    /// Queues `message` for the socket `id`, wherever it is, without
    /// waiting.
    fn send_to<'a>(&'a self, id: &'a str, message: Message) -> AdapterFuture<'a, ()>;

    /// Closes the socket `id`, wherever it is, with an application close
    /// code (1000 or 3000-4999) and a reason.
    fn close<'a>(&'a self, id: &'a str, code: u16, reason: &'a str) -> AdapterFuture<'a, ()>;
}
