//! The engine's lifecycle events: a session opened, was suspended, was
//! resumed, closed.
//!
//! Published on a broadcast channel that anyone may subscribe to with
//! [`Polysock::events`](crate::Polysock::events) (metrics, audit logs, an
//! adapter that mirrors membership elsewhere). With no subscriber a
//! publish costs one atomic load. A subscriber that falls more than
//! [`CAPACITY`] events behind skips ahead and is told how many it missed
//! (`RecvError::Lagged`); nothing waits for a slow subscriber.

use crate::close::CloseReason;
use crate::Transport;

/// Events buffered per subscriber before it starts to miss some.
pub(crate) const CAPACITY: usize = 1024;

/// Something that happened to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A session opened; its `on_connect` handler is starting.
    Opened {
        /// The session id.
        id: String,
        /// The transport it opened on.
        transport: Transport,
    },
    /// A resume session lost its transport without a close and is
    /// suspended (protocol-spec 11.6): its `Socket` stays open, and its
    /// client may resume within the resume window.
    Suspended {
        /// The session id.
        id: String,
        /// The transport it lost.
        transport: Transport,
    },
    /// A suspended (or lost) resume session was resumed by its client on
    /// this transport; its `on_connect` handler is not run again.
    Resumed {
        /// The session id.
        id: String,
        /// The transport it resumed on.
        transport: Transport,
    },
    /// A session closed and was forgotten: it has left every room.
    Closed {
        /// The session id.
        id: String,
        /// Why it closed.
        reason: CloseReason,
        /// The rooms it was in when it was forgotten, sorted: whom to tell
        /// that it left.
        rooms: Vec<String>,
    },
}
