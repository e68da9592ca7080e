//! Typed decoding errors of the protocol layer.

use std::fmt;

/// Why bytes from a client could not be decoded into packets.
///
/// Every variant is a client fault; the transport answers it with the
/// protocol's "Bad request" error and closes the offending session only.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// A polling payload with no bytes at all.
    EmptyPayload,
    /// A packet (or payload element) with no type character.
    EmptyPacket,
    /// The first character is not a known packet type (`0`-`6`).
    UnknownPacketType(char),
    /// A `b`-prefixed payload element whose base64 is malformed or truncated.
    InvalidBase64,
    /// Text that is not valid UTF-8.
    InvalidUtf8,
    /// A close packet whose body is not the `{"code":N,"reason":"..."}` object.
    InvalidCloseBody,
    /// An ack packet (`7`, resume sessions) whose count is not `0` or a
    /// decimal of at most 20 digits without a leading zero that fits in 64
    /// bits.
    InvalidAck,
    /// More bytes than the configured maximum payload.
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
}

impl DecodeError {
    /// A short stable name for logs and test vectors (`invalid_base64`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::EmptyPayload => "empty_payload",
            Self::EmptyPacket => "empty_packet",
            Self::UnknownPacketType(_) => "unknown_packet_type",
            Self::InvalidBase64 => "invalid_base64",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::InvalidCloseBody => "invalid_close_body",
            Self::InvalidAck => "invalid_ack",
            Self::TooLarge { .. } => "too_large",
        }
    }
}

impl DecodeError {
    /// The `detail` of the error response answering input that did not
    /// decode: a fixed sentence per kind, with nothing the client sent in it.
    pub fn detail(&self) -> &'static str {
        match self {
            Self::EmptyPayload => "empty payload",
            Self::EmptyPacket => "empty packet in payload",
            Self::UnknownPacketType(_) => "unknown packet type",
            Self::InvalidBase64 => "invalid base64 in binary packet",
            Self::InvalidUtf8 => "payload is not valid UTF-8",
            Self::InvalidCloseBody => "invalid close packet body",
            Self::InvalidAck => "invalid ack packet",
            Self::TooLarge { .. } => "payload larger than maxPayload",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyPayload => f.write_str("empty payload"),
            Self::EmptyPacket => f.write_str("empty packet"),
            Self::UnknownPacketType(c) => write!(f, "unknown packet type {c:?}"),
            Self::InvalidBase64 => f.write_str("invalid base64 in binary packet"),
            Self::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            Self::InvalidCloseBody => f.write_str("close packet body is not {\"code\",\"reason\"}"),
            Self::InvalidAck => {
                f.write_str("ack packet count is not a decimal of at most 20 digits")
            }
            Self::TooLarge { limit } => write!(f, "payload larger than {limit} bytes"),
        }
    }
}

impl std::error::Error for DecodeError {}
