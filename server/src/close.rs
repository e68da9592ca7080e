//! Why a socket closed, and why a send or a close did not happen.
//!
//! These types sit below both the session layer and the application's
//! [`Socket`](crate::Socket): the session records a [`CloseReason`], the
//! socket reports it, and neither imports the other for it.

use std::fmt;

use crate::protocol::{CloseFrame, Message};

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
    /// The client never came back after its handshake: a session whose
    /// second request did not arrive within the first-request timeout.
    Abandoned,
    /// The outbound queue stayed full for longer than the send-queue grace:
    /// the client does not read what it is sent (1008).
    SendQueueFull,
    /// The connection broke or the client broke the protocol.
    TransportError(TransportError),
    /// A resume session was lost and its client did not resume within the
    /// resume window (1006 "resume window over").
    ResumeWindowOver,
    /// The client tried to resume with an acknowledgement the server cannot
    /// honour (below an earlier one, or above what was sent): the session
    /// is closed, 1006 "acknowledgement out of range".
    ResumeRejected,
    /// The client tried to resume (or a GET's `ack` asked for a replay)
    /// after the server had dropped copies it would need: more was written
    /// and left unacknowledged than `resume_buffer_messages` /
    /// `resume_buffer_bytes` keep. The session is closed, 1006 "resume
    /// buffer overflowed".
    ResumeOverflow,
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
            Self::Abandoned => CloseFrame::new(CloseFrame::ABNORMAL, "handshake abandoned"),
            Self::SendQueueFull => CloseFrame::new(CloseFrame::POLICY, "send queue full"),
            Self::TransportError(error) => CloseFrame::new(error.code(), error.to_string()),
            Self::ResumeWindowOver => CloseFrame::new(CloseFrame::ABNORMAL, "resume window over"),
            Self::ResumeRejected => {
                CloseFrame::new(CloseFrame::ABNORMAL, "acknowledgement out of range")
            }
            Self::ResumeOverflow => {
                CloseFrame::new(CloseFrame::ABNORMAL, "resume buffer overflowed")
            }
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
    /// The client broke the WebSocket framing rules (RFC 6455: reserved
    /// bits, unknown opcodes, unmasked frames, bad control frames).
    ProtocolViolation,
    /// The client sent a payload or message over the size limit.
    TooLarge,
    /// The client sent a WebSocket text frame that is not UTF-8.
    InvalidText,
    /// The client's POST body did not arrive within the body timeout.
    SlowClient,
    /// The application did not read its messages fast enough to take a
    /// POST within the body timeout.
    ApplicationNotReading,
}

impl TransportError {
    fn code(self) -> u16 {
        match self {
            Self::ConnectionLost | Self::SlowClient | Self::ApplicationNotReading => {
                CloseFrame::ABNORMAL
            }
            Self::Overlap | Self::BadPacket => CloseFrame::POLICY,
            Self::ProtocolViolation => CloseFrame::PROTOCOL_ERROR,
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
            Self::ProtocolViolation => "websocket protocol error",
            Self::TooLarge => "message too large",
            Self::InvalidText => "text frame is not UTF-8",
            Self::SlowClient => "request body too slow",
            Self::ApplicationNotReading => "application not reading",
        })
    }
}

/// The socket is closed, or the message cannot travel; it was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The socket closed before the message was queued.
    Closed,
    /// A text message holding U+001E, the polling payload's record
    /// separator, which no transport may carry (see protocol-spec 02).
    RecordSeparator,
    /// A message longer than `max_payload` bytes, the most any transport
    /// carries in one packet.
    TooLarge,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Closed => "socket closed",
            Self::RecordSeparator => {
                "text message contains U+001E, the polling record separator, which no transport may carry"
            }
            Self::TooLarge => "message longer than max_payload",
        })
    }
}

impl std::error::Error for SendError {}

/// Why [`Socket::try_send`](crate::Socket::try_send) gave the message back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrySendError {
    /// The outbound queue is full: the client is reading slower than the
    /// application sends.
    Full(Message),
    /// The socket is closed.
    Closed(Message),
    /// A text message holding U+001E, which no transport may carry.
    RecordSeparator(Message),
    /// A message longer than `max_payload` bytes.
    TooLarge(Message),
}

impl TrySendError {
    /// The message that was not sent.
    pub fn into_message(self) -> Message {
        match self {
            Self::Full(message)
            | Self::Closed(message)
            | Self::RecordSeparator(message)
            | Self::TooLarge(message) => message,
        }
    }
}

impl fmt::Display for TrySendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("outbound queue full"),
            Self::Closed(_) => f.write_str("socket closed"),
            Self::RecordSeparator(_) => f.write_str(
                "text message contains U+001E, the polling record separator, which no transport may carry",
            ),
            Self::TooLarge(_) => f.write_str("message longer than max_payload"),
        }
    }
}

impl std::error::Error for TrySendError {}

/// [`Socket::close`](crate::Socket::close) was given a code a server may
/// not send: only 1000 and 3000-4999 may be chosen by an application
/// (1001 is the server's own, sent at shutdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidCloseCode(pub u16);

impl fmt::Display for InvalidCloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "close code {} may not be sent by an application (use 1000 or 3000-4999)",
            self.0
        )
    }
}

impl std::error::Error for InvalidCloseCode {}
