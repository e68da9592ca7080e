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

use bytes::Bytes;
use http::{Extensions, HeaderMap, HeaderValue, Uri};

use crate::close::{CloseReason, InvalidCloseCode, SendError, TrySendError};
use crate::protocol::{CloseFrame, Message};
use crate::session::{InboundReceiver, Session};
use crate::{Handshake, Rooms, Transport};

/// One client's connection, whatever transport carries it.
///
/// Handed to the connect handler. Receiving needs `&mut self`; to send from
/// other tasks, take a [`SocketSender`] with [`Socket::sender`].
pub struct Socket {
    session: Arc<Session>,
    inbound: InboundReceiver,
    rooms: Rooms,
}

impl Socket {
    pub(crate) fn new(session: Arc<Session>, inbound: InboundReceiver, rooms: Rooms) -> Self {
        Self {
            session,
            inbound,
            rooms,
        }
    }

    /// The next message from the client, or `None` once the socket has
    /// closed and every message that arrived before has been read.
    pub async fn recv(&mut self) -> Option<Message> {
        self.inbound.recv().await.map(|inbound| inbound.message)
    }

    /// The server's rooms (the same registry as
    /// [`Polysock::rooms`](crate::Polysock::rooms)). A socket that closes
    /// leaves every room on its own.
    pub fn rooms(&self) -> &Rooms {
        &self.rooms
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
    /// reason in their close event. The code must be 1000 or 3000-4999, as
    /// for `WebSocket.close`; any other is refused and the socket stays open.
    pub fn close(&self, code: u16, reason: impl Into<String>) -> Result<(), InvalidCloseCode> {
        close(&self.session, code, reason.into())
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
    /// being written, streamed packets the client has not acknowledged, and
    /// inbound messages waiting for [`recv`](Self::recv). Bounded by the
    /// configuration (see `docs/hardening.md`, "Memory per session").
    pub fn buffered_bytes(&self) -> usize {
        self.session.buffered_bytes()
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

    /// Closes the socket with a code and reason, after what is queued; see
    /// [`Socket::close`].
    pub fn close(&self, code: u16, reason: impl Into<String>) -> Result<(), InvalidCloseCode> {
        close(&self.session, code, reason.into())
    }

    /// Closes the socket with 1008 because it cannot keep up: used by sends
    /// to many sockets that find its queue full.
    pub(crate) fn close_too_slow(&self) {
        self.session
            .close_gracefully(CloseReason::ServerClosed(CloseFrame::new(
                CloseFrame::POLICY,
                TOO_SLOW,
            )));
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

    /// Bytes the socket holds in memory now; see [`Socket::buffered_bytes`].
    pub fn buffered_bytes(&self) -> usize {
        self.session.buffered_bytes()
    }
}

impl fmt::Debug for SocketSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketSender")
            .field("id", &self.id())
            .finish()
    }
}

/// The reason given to a socket closed because its queue was full when a
/// send to many sockets reached it.
pub(crate) const TOO_SLOW: &str = "too slow: outbound queue full";

fn close(session: &Session, code: u16, reason: String) -> Result<(), InvalidCloseCode> {
    if !CloseFrame::is_application_code(code) {
        return Err(InvalidCloseCode(code));
    }
    session.close_gracefully(CloseReason::ServerClosed(CloseFrame::new(code, reason)));
    Ok(())
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
    /// What a session keeps of its handshake, in allocations of its own.
    /// hyper parses the URI and header values as slices of the
    /// connection's read buffer (8 KiB or more), so keeping them for a
    /// session's life would keep that whole buffer alive for every idle
    /// socket.
    pub(crate) fn detached(handshake: Handshake, extensions: Extensions) -> Self {
        Self {
            uri: detached_uri(handshake.uri),
            headers: detached_headers(handshake.headers),
            remote_addr: handshake.remote_addr,
            extensions,
        }
    }

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

/// A copy of `uri` in its own allocation (see [`RequestInfo::detached`]).
fn detached_uri(uri: Uri) -> Uri {
    Uri::from_maybe_shared(Bytes::from(uri.to_string())).unwrap_or(uri)
}

/// A copy of `headers` whose values own their bytes.
fn detached_headers(headers: HeaderMap) -> HeaderMap {
    let mut owned = HeaderMap::with_capacity(headers.len());
    for (name, value) in &headers {
        let mut copy = HeaderValue::from_maybe_shared(Bytes::copy_from_slice(value.as_bytes()))
            .unwrap_or_else(|_| value.clone());
        copy.set_sensitive(value.is_sensitive());
        owned.append(name.clone(), copy);
    }
    owned
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `inner` points into `outer`'s bytes.
    fn shares(outer: &Bytes, inner: &[u8]) -> bool {
        let range = outer.as_ptr_range();
        range.contains(&inner.as_ptr())
    }

    #[test]
    fn session_request_info_does_not_pin_the_read_buffer() {
        let buffer =
            Bytes::from(b"/engine.io/?EIO=4&transport=websocket token=abc; theme=dark".to_vec());
        let uri = Uri::from_maybe_shared(buffer.slice(..37)).unwrap();
        let mut headers = HeaderMap::new();
        let mut cookie = HeaderValue::from_maybe_shared(buffer.slice(38..)).unwrap();
        cookie.set_sensitive(true);
        headers.insert(http::header::COOKIE, cookie);
        assert!(shares(&buffer, headers[http::header::COOKIE].as_bytes()));

        let headers = detached_headers(headers);
        let uri = detached_uri(uri);
        let cookie = &headers[http::header::COOKIE];
        assert_eq!(cookie, "token=abc; theme=dark");
        assert!(cookie.is_sensitive());
        assert!(!shares(&buffer, cookie.as_bytes()));
        assert_eq!(uri, "/engine.io/?EIO=4&transport=websocket");
        assert!(!shares(&buffer, uri.path().as_bytes()));
    }
}
