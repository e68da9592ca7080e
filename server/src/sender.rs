//! [`SocketSender`]: sends to and closes one socket from any task. Apart
//! from [`Socket`](crate::Socket) so that what groups senders (rooms) does
//! not depend on the socket, nor the socket on it.

use std::fmt;
use std::sync::Arc;

use crate::close::{CloseReason, InvalidCloseCode, SendError, TrySendError};
use crate::protocol::{CloseFrame, Message, SharedMessage};
use crate::session::{Session, SharedRefusal};
use crate::Transport;

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

    /// Queues a broadcast's message, encoded once, without waiting (see
    /// [`offer_shared`]). Not counted in the metrics: the broadcast counts
    /// its deliveries once.
    pub(crate) fn offer_shared(&self, message: &SharedMessage) -> Reached {
        offer_shared(&self.session, message)
    }

    /// Closes the socket with a code and reason, after what is queued; see
    /// [`Socket::close`](crate::Socket::close).
    pub fn close(&self, code: u16, reason: impl Into<String>) -> Result<(), InvalidCloseCode> {
        close(&self.session, code, reason.into())
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

    /// Bytes the socket holds in memory now; see [`Socket::buffered_bytes`](crate::Socket::buffered_bytes).
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

/// What a send to many sockets did for one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reached {
    /// The message is queued.
    Queued,
    /// The socket is closed, or was closed now for being too slow: a
    /// registry may forget it.
    Gone,
    /// Its transport cannot carry this message (U+001E in text, or longer
    /// than `max_payload`): nothing changed.
    Skipped,
}

/// Queues a broadcast's message for one session without waiting; a
/// session whose queue is full is closed with 1008 ("too slow").
pub(crate) fn offer_shared(session: &Session, message: &SharedMessage) -> Reached {
    match session.try_send_shared(message) {
        Ok(()) => Reached::Queued,
        Err(SharedRefusal::Full) => {
            close_too_slow(session);
            Reached::Gone
        }
        Err(SharedRefusal::Closed) => Reached::Gone,
        Err(SharedRefusal::RecordSeparator | SharedRefusal::TooLarge) => Reached::Skipped,
    }
}

fn close_too_slow(session: &Session) {
    session.close_gracefully(CloseReason::ServerClosed(CloseFrame::new(
        CloseFrame::POLICY,
        TOO_SLOW,
    )));
}

/// The reason given to a socket closed because its queue was full when a
/// send to many sockets reached it.
pub(crate) const TOO_SLOW: &str = "too slow: outbound queue full";

/// Closes with `code` and `reason`; the reason is cut (at a character
/// boundary) to the 123 bytes a WebSocket close frame can carry, so every
/// transport reports the same text.
pub(crate) fn close(
    session: &Session,
    code: u16,
    mut reason: String,
) -> Result<(), InvalidCloseCode> {
    if !CloseFrame::is_application_code(code) {
        return Err(InvalidCloseCode(code));
    }
    if reason.len() > CloseFrame::MAX_REASON {
        let mut end = CloseFrame::MAX_REASON;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    session.close_gracefully(CloseReason::ServerClosed(CloseFrame::new(code, reason)));
    Ok(())
}
