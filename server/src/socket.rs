//! The application's side of a session: [`Socket`], its cloneable
//! [`SocketSender`], and why a socket closed.
//!
//! ```no_run
//! use polysock::{Message, Socket};
//!
//! async fn echo(mut socket: Socket) {
//!     while let Some(message) = socket.recv().await {
//!         if socket.send(message).await.is_err() {
//!             break;
//!         }
//!     }
//!     println!("{} closed: {:?}", socket.id(), socket.close_reason());
//! }
//! ```

use std::fmt;
use std::sync::Arc;

use crate::adapter::Adapter;
use crate::close::{CloseReason, InvalidCloseCode, SendError, TrySendError};
use crate::protocol::Message;
use crate::session::{InboundReceiver, Session};
use crate::{Rooms, Transport};

pub use crate::handshake::RequestInfo;
pub use crate::sender::SocketSender;

/// One client's connection, whatever transport carries it.
///
/// Handed to the connect handler. Receiving needs `&mut self`; to send from
/// other tasks, take a [`SocketSender`] with [`Socket::sender`].
pub struct Socket {
    session: Arc<Session>,
    inbound: InboundReceiver,
    rooms: Rooms,
    adapter: Arc<dyn Adapter>,
}

impl Socket {
    pub(crate) fn new(
        session: Arc<Session>,
        inbound: InboundReceiver,
        rooms: Rooms,
        adapter: Arc<dyn Adapter>,
    ) -> Self {
        Self {
            session,
            inbound,
            rooms,
            adapter,
        }
    }

    /// The next message from the client, or `None` once the socket has
    /// closed and every message that arrived before has been read.
    pub async fn recv(&mut self) -> Option<Message> {
        let message = self.inbound.recv().await;
        if let Some(message) = &message {
            crate::metrics::received(message.len());
        }
        message
    }

    /// The server's adapter (the same as
    /// [`Polysock::adapter`](crate::Polysock::adapter)): rooms, broadcast
    /// and sockets by id across every node of a cluster, or of this node
    /// with the default adapter.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.adapter
    }

    /// Joins `room` through the adapter: on a cluster, broadcasts to the
    /// room from any node reach this socket.
    pub async fn join(&self, room: &str) -> Result<bool, crate::AdapterError> {
        self.adapter.join(self.id(), room).await
    }

    /// Leaves `room` through the adapter.
    pub async fn leave(&self, room: &str) -> Result<bool, crate::AdapterError> {
        self.adapter.leave(self.id(), room).await
    }

    /// The server's rooms (the same registry as
    /// [`Polysock::rooms`](crate::Polysock::rooms)). A socket that closes
    /// leaves every room on its own.
    pub fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    /// Sends a message, waiting while the session's outbound queue is full.
    pub async fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        let message = message.into();
        let len = message.len();
        self.session.send(message).await?;
        crate::metrics::delivered(1, len);
        Ok(())
    }

    /// Sends a message if the outbound queue has room now.
    pub fn try_send(&self, message: impl Into<Message>) -> Result<(), TrySendError> {
        let message = message.into();
        let len = message.len();
        self.session.try_send(message)?;
        crate::metrics::delivered(1, len);
        Ok(())
    }

    /// A cloneable handle that sends and closes from any task.
    pub fn sender(&self) -> SocketSender {
        SocketSender::new(self.session.clone())
    }

    /// Closes the socket with a code and reason. Messages already queued
    /// are delivered first; clients of the extensions see the code and
    /// reason in their close event. The code must be 1000 or 3000-4999, as
    /// for `WebSocket.close`; any other is refused and the socket stays open.
    pub fn close(&self, code: u16, reason: impl Into<String>) -> Result<(), InvalidCloseCode> {
        crate::sender::close(&self.session, code, reason.into())
    }

    /// Waits until the socket has closed.
    pub async fn closed(&self) {
        self.session.closed().await
    }

    /// Whether the socket has closed (or is closing).
    pub fn is_closed(&self) -> bool {
        self.session.phase().is_ending()
    }

    /// Why the socket closed, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.session.close_reason()
    }

    /// Bytes the socket holds in memory now: outbound messages queued or
    /// being written, streamed packets the client has not acknowledged, the
    /// copies a resume session keeps of written messages, and inbound
    /// messages waiting for [`recv`](Self::recv). Bounded by the
    /// configuration (see `docs/hardening.md`, "Memory per session").
    pub fn buffered_bytes(&self) -> usize {
        self.session.buffered_bytes()
    }

    /// Bytes of the copies a resume session keeps of messages it has
    /// written and its client has not acknowledged (0 for other sessions);
    /// at most `resume_buffer_bytes`, or one larger message kept alone.
    pub fn retained_bytes(&self) -> usize {
        self.session.retained_bytes()
    }

    /// The session id.
    pub fn id(&self) -> &str {
        self.session.id()
    }

    /// The transport carrying the socket now; it changes on upgrade.
    pub fn transport(&self) -> Transport {
        self.session.transport()
    }

    /// The subprotocol negotiated at the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.session.protocol()
    }

    /// The handshake request: headers, URI, remote address, extensions.
    pub fn request(&self) -> &RequestInfo {
        self.session.request()
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id())
            .field("transport", &self.transport())
            .finish_non_exhaustive()
    }
}
