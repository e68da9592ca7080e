//! Engine.IO packets: the seven types, and their text form `<type><data>`.
//!
//! A binary message has no text form of its own: WebSocket carries it as a
//! binary frame and the polling payload as `b` + base64 (see
//! [`encode_payload_element`](super::encode_payload_element)).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{DecodeError, SharedMessage};

/// An application message: what `WebSocket.send` and `onmessage` carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A UTF-8 text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// Length of the message data in bytes.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(bytes) => bytes.len(),
        }
    }

    /// Whether the message carries no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<Vec<u8>> for Message {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Binary(Bytes::from(bytes))
    }
}

impl From<Bytes> for Message {
    fn from(bytes: Bytes) -> Self {
        Self::Binary(bytes)
    }
}

/// A close code and reason, as `WebSocket.close(code, reason)` takes them.
///
/// Carried in the body of an extension close packet:
/// `1{"code":4001,"reason":"bye"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseFrame {
    /// The close code (1000, 1001, 3000-4999, ...).
    pub code: u16,
    /// A human-readable reason, at most 123 bytes of UTF-8 by convention.
    #[serde(default)]
    pub reason: String,
}

impl CloseFrame {
    /// Normal closure, 1000.
    pub const NORMAL: u16 = 1000;
    /// The server is going away (shutdown), 1001.
    pub const GOING_AWAY: u16 = 1001;
    /// The peer broke the WebSocket protocol, 1002.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A close with no status code, 1005.
    pub const NO_STATUS: u16 = 1005;
    /// The connection was lost without a close packet, 1006.
    pub const ABNORMAL: u16 = 1006;
    /// A text frame that is not UTF-8, 1007.
    pub const INVALID_DATA: u16 = 1007;
    /// The peer broke the protocol or a policy, 1008.
    pub const POLICY: u16 = 1008;
    /// A message was too large, 1009.
    pub const TOO_BIG: u16 = 1009;
    /// The longest reason a WebSocket close frame carries, in bytes.
    pub const MAX_REASON: usize = 123;

    /// Whether a close packet or WebSocket close frame may carry `code`:
    /// 1005, 1006 and 1015 only ever describe a close, never travel.
    pub fn is_sendable(code: u16) -> bool {
        matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
    }

    /// Whether a client may close with `code`, as `WebSocket.close` allows.
    pub fn is_client_code(code: u16) -> bool {
        matches!(code, 1000 | 3000..=4999)
    }

    /// Whether an application may close a socket with `code`: 1000 and
    /// 3000-4999 (1001 belongs to the server's shutdown; 1002-1011 describe
    /// protocol failures the application did not detect).
    pub fn is_application_code(code: u16) -> bool {
        matches!(code, 1000 | 3000..=4999)
    }

    /// A close frame with this code and reason.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

/// The seven Engine.IO packet types, and the resume extension's eighth
/// (`7`, ack), which only resume sessions speak (protocol-spec 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketType {
    /// `0`: handshake data, server to client.
    Open,
    /// `1`: close the session.
    Close,
    /// `2`: heartbeat from the server, or the upgrade probe from the client.
    Ping,
    /// `3`: answer to a ping.
    Pong,
    /// `4`: an application message.
    Message,
    /// `5`: the client switches to the new transport.
    Upgrade,
    /// `6`: nothing; used to end a pending poll during an upgrade.
    Noop,
    /// `7`: "I have received your messages 1..n" (resume sessions only).
    Ack,
}

impl PacketType {
    /// The type's digit on the wire.
    pub fn as_char(self) -> char {
        match self {
            Self::Open => '0',
            Self::Close => '1',
            Self::Ping => '2',
            Self::Pong => '3',
            Self::Message => '4',
            Self::Upgrade => '5',
            Self::Noop => '6',
            Self::Ack => '7',
        }
    }

    /// The type for a digit of plain Engine.IO (`0`-`6`), if it is one.
    /// `7` is not: a stock session rejects it (see
    /// [`Packet::decode_text_resume`]).
    pub fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '0' => Self::Open,
            '1' => Self::Close,
            '2' => Self::Ping,
            '3' => Self::Pong,
            '4' => Self::Message,
            '5' => Self::Upgrade,
            '6' => Self::Noop,
            _ => return None,
        })
    }
}

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Handshake data (the JSON text after the `0`).
    Open(String),
    /// Close, with a code and reason for extension sessions.
    Close(Option<CloseFrame>),
    /// Ping with optional data (`probe` during an upgrade).
    Ping(String),
    /// Pong echoing the ping's data.
    Pong(String),
    /// An application message.
    Message(Message),
    /// An application message encoded once for many sockets (a
    /// broadcast); on the wire exactly as [`Packet::Message`] of the same
    /// message. Decoding never produces it.
    Shared(SharedMessage),
    /// Upgrade.
    Upgrade,
    /// Noop.
    Noop,
    /// Ack: the sender has received the peer's messages numbered 1 to n
    /// (resume sessions only, protocol-spec 11).
    Ack(u64),
}

/// Most digits of an ack packet's count.
const MAX_ACK_DIGITS: usize = 20;

/// Parses the decimal count of an ack packet: `0`, or digits without a
/// leading zero, at most 20 of them, fitting in 64 bits.
pub(crate) fn parse_ack_count(data: &str) -> Option<u64> {
    let well_formed = !data.is_empty()
        && data.len() <= MAX_ACK_DIGITS
        && data.bytes().all(|b| b.is_ascii_digit())
        && (data == "0" || !data.starts_with('0'));
    if !well_formed {
        return None;
    }
    data.parse().ok()
}

impl Packet {
    /// This packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Self::Open(_) => PacketType::Open,
            Self::Close(_) => PacketType::Close,
            Self::Ping(_) => PacketType::Ping,
            Self::Pong(_) => PacketType::Pong,
            Self::Message(_) | Self::Shared(_) => PacketType::Message,
            Self::Upgrade => PacketType::Upgrade,
            Self::Noop => PacketType::Noop,
            Self::Ack(_) => PacketType::Ack,
        }
    }

    /// Whether this is a binary message, which has no text form.
    pub fn is_binary(&self) -> bool {
        match self {
            Self::Message(message) => matches!(message, Message::Binary(_)),
            Self::Shared(message) => message.is_binary(),
            _ => false,
        }
    }

    /// Whether this is an application message, shared or not.
    pub fn is_message(&self) -> bool {
        matches!(self, Self::Message(_) | Self::Shared(_))
    }

    /// The application message's length in bytes (0 for other packets).
    pub fn message_len(&self) -> usize {
        match self {
            Self::Message(message) => message.len(),
            Self::Shared(message) => message.len(),
            _ => 0,
        }
    }

    /// Appends the text form `<type><data>` to `out`.
    ///
    /// A binary message is written as its type digit alone; callers frame
    /// binary data themselves (binary WebSocket frame, or `b` + base64).
    pub fn encode_text(&self, out: &mut String) {
        out.push(self.packet_type().as_char());
        match self {
            Self::Open(json) => out.push_str(json),
            Self::Close(Some(frame)) => {
                // A struct of a u16 and a String always serialises.
                out.push_str(&serde_json::to_string(frame).unwrap_or_default());
            }
            Self::Ping(data) | Self::Pong(data) => out.push_str(data),
            Self::Message(Message::Text(text)) => out.push_str(text),
            Self::Shared(message) => out.push_str(message.as_text().unwrap_or("")),
            Self::Ack(count) => {
                use std::fmt::Write as _;
                let _ = write!(out, "{count}");
            }
            Self::Close(None) | Self::Message(Message::Binary(_)) | Self::Upgrade | Self::Noop => {}
        }
    }

    /// The text form as a new string.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(1 + self.data_len_hint());
        self.encode_text(&mut out);
        out
    }

    fn data_len_hint(&self) -> usize {
        match self {
            Self::Open(json) => json.len(),
            Self::Ping(data) | Self::Pong(data) => data.len(),
            Self::Message(message) => message.len(),
            Self::Shared(message) => message.len(),
            Self::Close(Some(frame)) => frame.reason.len() + 24,
            Self::Ack(_) => MAX_ACK_DIGITS,
            _ => 0,
        }
    }

    /// Decodes the text form `<type><data>` of one packet of plain
    /// Engine.IO: `7` is an unknown type here.
    pub fn decode_text(text: &str) -> Result<Self, DecodeError> {
        Self::decode_text_with(text, false)
    }

    /// Decodes the text form of one packet of a resume session, where `7<n>`
    /// (ack) is a packet too.
    pub fn decode_text_resume(text: &str) -> Result<Self, DecodeError> {
        Self::decode_text_with(text, true)
    }

    pub(crate) fn decode_text_with(text: &str, resume: bool) -> Result<Self, DecodeError> {
        let mut chars = text.chars();
        let first = chars.next().ok_or(DecodeError::EmptyPacket)?;
        let data = chars.as_str();
        if resume && first == '7' {
            return parse_ack_count(data)
                .map(Self::Ack)
                .ok_or(DecodeError::InvalidAck);
        }
        let packet_type =
            PacketType::from_char(first).ok_or(DecodeError::UnknownPacketType(first))?;
        Ok(match packet_type {
            PacketType::Open => Self::Open(data.to_owned()),
            PacketType::Close if data.is_empty() => Self::Close(None),
            PacketType::Close => Self::Close(Some(
                serde_json::from_str(data).map_err(|_| DecodeError::InvalidCloseBody)?,
            )),
            PacketType::Ping => Self::Ping(data.to_owned()),
            PacketType::Pong => Self::Pong(data.to_owned()),
            PacketType::Message => Self::Message(Message::Text(data.to_owned())),
            PacketType::Upgrade => Self::Upgrade,
            PacketType::Noop => Self::Noop,
            PacketType::Ack => return Err(DecodeError::UnknownPacketType(first)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        assert_eq!(Packet::Ping("probe".into()).to_text(), "2probe");
        assert_eq!(Packet::Message("héllo".into()).to_text(), "4héllo");
        assert_eq!(Packet::Close(None).to_text(), "1");
        assert_eq!(
            Packet::Close(Some(CloseFrame::new(4001, "bye"))).to_text(),
            r#"1{"code":4001,"reason":"bye"}"#
        );
        assert_eq!(Packet::Noop.to_text(), "6");
    }

    #[test]
    fn decodes_what_it_encodes() {
        for packet in [
            Packet::Open("{}".into()),
            Packet::Close(None),
            Packet::Close(Some(CloseFrame::new(1000, ""))),
            Packet::Ping(String::new()),
            Packet::Pong("probe".into()),
            Packet::Message(Message::Text(String::new())),
            Packet::Message("\u{2028}</script>".into()),
            Packet::Upgrade,
            Packet::Noop,
        ] {
            assert_eq!(Packet::decode_text(&packet.to_text()), Ok(packet));
        }
    }

    #[test]
    fn acks_only_in_resume_sessions() {
        assert_eq!(Packet::Ack(42).to_text(), "742");
        assert_eq!(Packet::decode_text_resume("742"), Ok(Packet::Ack(42)));
        assert_eq!(Packet::decode_text_resume("70"), Ok(Packet::Ack(0)));
        assert_eq!(
            Packet::decode_text_resume("718446744073709551615"),
            Ok(Packet::Ack(u64::MAX))
        );
        assert_eq!(
            Packet::decode_text("742"),
            Err(DecodeError::UnknownPacketType('7'))
        );
        for bad in [
            "7",
            "707",
            "7-1",
            "7+1",
            "71a",
            "7 1",
            "718446744073709551616",
        ] {
            assert_eq!(
                Packet::decode_text_resume(bad),
                Err(DecodeError::InvalidAck),
                "{bad}"
            );
        }
        assert_eq!(
            Packet::decode_text_resume("4hi"),
            Ok(Packet::Message("hi".into()))
        );
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!(Packet::decode_text(""), Err(DecodeError::EmptyPacket));
        assert_eq!(
            Packet::decode_text("9x"),
            Err(DecodeError::UnknownPacketType('9'))
        );
        assert_eq!(
            Packet::decode_text("é"),
            Err(DecodeError::UnknownPacketType('é'))
        );
        assert_eq!(
            Packet::decode_text("1{bad"),
            Err(DecodeError::InvalidCloseBody)
        );
    }
}
