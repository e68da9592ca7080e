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
use std::net::SocketAddr;
use std::sync::Arc;

use http::{Extensions, HeaderMap, Uri};
use tokio::sync::mpsc;

use crate::protocol::{CloseFrame, Message};
use crate::session::Session;
use crate::Transport;

/// One client's connection, whatever transport carries it.
///
/// Handed to the connect handler. Receiving needs `&mut self`; to send from
/// other tasks, take a [`SocketSender`] with [`Socket::sender`].
pub struct Socket {
    session: Arc<Session>,
    inbound: mpsc::Receiver<Message>,
}

impl Socket {
    pub(crate) fn new(session: Arc<Session>, inbound: mpsc::Receiver<Message>) -> Self {
        Self { session, inbound }
    }

    /// The next message from the client, or `None` once the socket has
    /// closed and every message that arrived before has been read.
    pub async fn recv(&mut self) -> Option<Message> {
        self.inbound.recv().await
    }

    /// Sends a message, waiting while the session's outbound queue is full.
    pub async fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        self.session.send(message.into()).await
    }

    /// Sends a message if the outbound queue has room now.
    pub fn try_send(&self, message: impl Into<Message>) -> Result<(), TrySendError> {
        self.session.try_send(message.into())
    }

    /// A cloneable handle that sends and closes from any task.
    pub fn sender(&self) -> SocketSender {
        SocketSender {
            session: self.session.clone(),
        }
    }

    /// Closes the socket with a code and reason. Messages already queued
    /// are delivered first; clients of the extensions see the code and
    /// reason in their close event.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        self.session
            .close_gracefully(CloseReason::ServerClosed(CloseFrame::new(code, reason)));
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
        self.session.close_reason().cloned()
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

/// Sends to and closes one socket from any task. Cheap to clone.
#[derive(Clone)]
pub struct SocketSender {
    session: Arc<Session>,
}

impl SocketSender {
    pub(crate) fn new(session: Arc<Session>) -> Self {
        Self { session }
    }

    /// Sends a message, waiting while the outbound queue is full.
    pub async fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        self.session.send(message.into()).await
    }

    /// Sends a message if the outbound queue has room now.
    pub fn try_send(&self, message: impl Into<Message>) -> Result<(), TrySendError> {
        self.session.try_send(message.into())
    }

    /// Closes the socket with a code and reason, after what is queued.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        self.session
            .close_gracefully(CloseReason::ServerClosed(CloseFrame::new(code, reason)));
    }

    /// The session id.
    pub fn id(&self) -> &str {
        self.session.id()
    }

    /// The transport carrying the socket now.
    pub fn transport(&self) -> Transport {
        self.session.transport()
    }

    /// Whether the socket has closed (or is closing).
    pub fn is_closed(&self) -> bool {
        self.session.phase().is_ending()
    }

    /// Waits until the socket has closed.
    pub async fn closed(&self) {
        self.session.closed().await
    }
}

impl fmt::Debug for SocketSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketSender")
            .field("id", &self.id())
            .finish()
    }
}

/// The socket is closed; the message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The socket closed before the message was queued.
    Closed,
    /// A text message holding U+001E, the polling payload's record
    /// separator, which no transport may carry (see protocol-spec 02).
    RecordSeparator,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Closed => "socket closed",
            Self::RecordSeparator => "text message contains U+001E",
        })
    }
}

impl std::error::Error for SendError {}

/// Why [`Socket::try_send`] gave the message back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrySendError {
    /// The outbound queue is full: the client is reading slower than the
    /// application sends.
    Full(Message),
    /// The socket is closed.
    Closed(Message),
    /// A text message holding U+001E, which no transport may carry.
    RecordSeparator(Message),
}

impl fmt::Display for TrySendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("outbound queue full"),
            Self::Closed(_) => f.write_str("socket closed"),
            Self::RecordSeparator(_) => f.write_str("text message contains U+001E"),
        }
    }
}

impl std::error::Error for TrySendError {}

/// Why a socket closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed it, with this code and reason (1005 when it gave
    /// none, as stock clients do).
    ClientClosed(CloseFrame),
    /// The application closed it.
    ServerClosed(CloseFrame),
    /// The server shut down (1001, going away).
    ServerShutdown,
    /// No pong came within the ping timeout: the client is gone.
    PingTimeout,
    /// The connection broke or the client broke the protocol.
    TransportError(TransportError),
}

impl CloseReason {
    /// The close code, as a `WebSocket` close event would show it.
    pub fn code(&self) -> u16 {
        self.frame().code
    }

    /// The code and reason sent to extension clients.
    pub fn frame(&self) -> CloseFrame {
        match self {
            Self::ClientClosed(frame) | Self::ServerClosed(frame) => frame.clone(),
            Self::ServerShutdown => CloseFrame::new(CloseFrame::GOING_AWAY, "going away"),
            Self::PingTimeout => CloseFrame::new(CloseFrame::ABNORMAL, "ping timeout"),
            Self::TransportError(error) => CloseFrame::new(error.code(), error.to_string()),
        }
    }
}

/// A transport-level failure that ended a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// The connection closed without a close packet.
    ConnectionLost,
    /// A second receiving request arrived while one was pending.
    Overlap,
    /// The client sent bytes that are not valid packets.
    BadPacket,
    /// The client sent a payload or message over the size limit.
    TooLarge,
    /// The client sent a WebSocket text frame that is not UTF-8.
    InvalidText,
    /// The application did not read fast enough to take a POST in time.
    Stalled,
}

impl TransportError {
    fn code(self) -> u16 {
        match self {
            Self::ConnectionLost | Self::Stalled => CloseFrame::ABNORMAL,
            Self::Overlap | Self::BadPacket => CloseFrame::POLICY,
            Self::TooLarge => CloseFrame::TOO_BIG,
            Self::InvalidText => CloseFrame::INVALID_DATA,
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ConnectionLost => "connection lost",
            Self::Overlap => "overlapping receive requests",
            Self::BadPacket => "invalid packet",
            Self::TooLarge => "message too large",
            Self::InvalidText => "text frame is not UTF-8",
            Self::Stalled => "application not reading",
        })
    }
}

/// What a socket remembers of its handshake request.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) remote_addr: Option<SocketAddr>,
    pub(crate) extensions: Extensions,
}

impl RequestInfo {
    /// The handshake request's URI (path and query).
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The handshake request's headers (cookies, authorization, origin...).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The client's address, when the server was started with
    /// [`serve`](crate::serve) or with axum's
    /// `into_make_service_with_connect_info::<SocketAddr>()`.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// Values the handshake hook attached (an authenticated user, ...).
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }
}
