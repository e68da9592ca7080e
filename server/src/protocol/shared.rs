//! A message encoded once for many sockets: what a broadcast queues.
//!
//! Sending one message to 10,000 sockets used to copy it 10,000 times (one
//! `String` per socket) and encode it 10,000 times (`4` + text per frame).
//! A [`SharedMessage`] is the encoding itself, made once, in
//! reference-counted bytes; every socket's queue holds a pointer to it:
//!
//! ```text
//!  broadcast(msg) ── SharedMessage::new(msg): "4" + text, once ──┬─▶ socket 1 queue ─▶ ws text frame (same bytes)
//!                                                              ├─▶ socket 2 queue ─▶ polling body  (same bytes)
//!                                                              └─▶ socket 3 queue ─▶ htmlfile chunk (escaped once)
//! ```
//!
//! * text: the Engine.IO packet `4<text>`, which is at once the WebSocket
//!   text frame's payload and the polling payload element. It is held as
//!   tungstenite's [`Utf8Bytes`] (checked UTF-8 over `bytes::Bytes`, a data
//!   type with no IO), so the WebSocket transport makes its frame with a
//!   reference count and no copy and no second UTF-8 check;
//! * binary: the payload, which is the WebSocket binary frame as it is;
//!   its payload element `b<base64>` is made the first time a polling or
//!   streaming socket needs it, then shared;
//! * the `htmlfile` script chunk (escaped text in a `<script>` tag, the
//!   same for every response) is made the first time one is needed.
//!
//! Whatever the transport, what a socket receives is byte for byte what a
//! direct send of the same [`Message`] gives it (property-tested in
//! `tests/properties.rs`). A shared message counts against each socket's
//! queue bound as the message itself would.

use std::fmt;
use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use tungstenite::Utf8Bytes;

use super::htmlfile;
use super::Message;

/// One message encoded once, shared by every socket it is queued for.
/// Cloning it costs one reference count.
#[derive(Clone)]
pub struct SharedMessage(Arc<Inner>);

struct Inner {
    data: Data,
    /// The data holds U+001E (text only), which a polling payload cannot
    /// carry: checked once here instead of once per socket.
    holds_separator: bool,
    /// `b` + base64, for a binary message (text: the packet itself).
    binary_element: OnceLock<String>,
    /// The `htmlfile` chunk `<script>p("...");</script>\n`.
    htmlfile_chunk: OnceLock<String>,
}

/// A shared message's bytes ([`SharedMessage::encoded`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoded<'a> {
    /// The Engine.IO text packet `4<text>`: a WebSocket text frame's payload.
    Text(&'a Utf8Bytes),
    /// The binary message: a WebSocket binary frame's payload.
    Binary(&'a Bytes),
}

enum Data {
    /// `4` + the text.
    Text(Utf8Bytes),
    Binary(Bytes),
}

impl SharedMessage {
    /// Encodes `message` once (for text: one copy, with the packet type in
    /// front).
    pub fn new(message: &Message) -> Self {
        match message {
            Message::Text(text) => Self::text(text),
            Message::Binary(bytes) => Self::binary(bytes.clone()),
        }
    }

    /// A text message, encoded from a borrowed string (as a cluster node
    /// reads it from the bytes another node published).
    pub fn text(text: &str) -> Self {
        let mut packet = String::with_capacity(1 + text.len());
        packet.push('4');
        packet.push_str(text);
        Self::with(
            Data::Text(Utf8Bytes::from(packet)),
            memchr::memchr(0x1e, text.as_bytes()).is_some(),
        )
    }

    /// A binary message; the bytes are shared, not copied.
    pub fn binary(bytes: Bytes) -> Self {
        Self::with(Data::Binary(bytes), false)
    }

    fn with(data: Data, holds_separator: bool) -> Self {
        Self(Arc::new(Inner {
            data,
            holds_separator,
            binary_element: OnceLock::new(),
            htmlfile_chunk: OnceLock::new(),
        }))
    }

    /// Length of the message data in bytes (what `max_payload` and the
    /// queue's byte bound count), without the packet type.
    pub fn len(&self) -> usize {
        match &self.0.data {
            Data::Text(packet) => packet.len() - 1,
            Data::Binary(bytes) => bytes.len(),
        }
    }

    /// Whether the message carries no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self.0.data, Data::Binary(_))
    }

    /// The text of a text message (without the packet type).
    pub fn as_text(&self) -> Option<&str> {
        match &self.0.data {
            Data::Text(packet) => packet.get(1..),
            Data::Binary(_) => None,
        }
    }

    /// Whether the text holds U+001E, the polling payload's separator.
    pub fn holds_separator(&self) -> bool {
        self.0.holds_separator
    }

    /// The message as the application sent it (a copy of the text).
    pub fn to_message(&self) -> Message {
        match &self.0.data {
            Data::Text(packet) => Message::Text(packet.get(1..).unwrap_or("").to_owned()),
            Data::Binary(bytes) => Message::Binary(bytes.clone()),
        }
    }

    /// The encoded bytes, as a WebSocket frame carries them: clone them
    /// (a reference count) to make the frame.
    pub fn encoded(&self) -> Encoded<'_> {
        match &self.0.data {
            Data::Text(packet) => Encoded::Text(packet),
            Data::Binary(bytes) => Encoded::Binary(bytes),
        }
    }

    /// The polling payload element: `4<text>`, or `b<base64>` (made once).
    pub fn payload_element(&self) -> &str {
        match &self.0.data {
            Data::Text(packet) => packet.as_str(),
            Data::Binary(bytes) => self.0.binary_element.get_or_init(|| {
                let mut element = String::with_capacity(1 + bytes.len().div_ceil(3) * 4);
                element.push('b');
                BASE64.encode_string(bytes, &mut element);
                element
            }),
        }
    }

    /// [`payload_element`](Self::payload_element) as bytes of its own, for
    /// a polling response that carries this message alone: for text the
    /// same bytes (a reference count), for binary a copy of the element.
    pub fn payload_bytes(&self) -> Bytes {
        match &self.0.data {
            Data::Text(packet) => Bytes::from(packet.clone()),
            Data::Binary(_) => Bytes::copy_from_slice(self.payload_element().as_bytes()),
        }
    }

    /// Length of [`payload_element`](Self::payload_element), without
    /// making it.
    pub fn payload_element_len(&self) -> usize {
        match &self.0.data {
            Data::Text(packet) => packet.len(),
            Data::Binary(bytes) => 1 + bytes.len().div_ceil(3) * 4,
        }
    }

    /// The `htmlfile` script chunk for this message (made once).
    pub fn htmlfile_chunk(&self) -> &str {
        self.0.htmlfile_chunk.get_or_init(|| {
            let mut chunk = String::with_capacity(self.payload_element_len() + 32);
            htmlfile::chunk_element(self.payload_element(), &mut chunk);
            chunk
        })
    }
}

impl From<&Message> for SharedMessage {
    fn from(message: &Message) -> Self {
        Self::new(message)
    }
}

impl From<Message> for SharedMessage {
    fn from(message: Message) -> Self {
        Self::new(&message)
    }
}

impl PartialEq for SharedMessage {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0.data, &other.0.data) {
            (Data::Text(a), Data::Text(b)) => a == b,
            (Data::Binary(a), Data::Binary(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for SharedMessage {}

impl fmt::Debug for SharedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.data {
            Data::Text(packet) => f
                .debug_tuple("SharedMessage::Text")
                .field(&packet.get(1..).unwrap_or(""))
                .finish(),
            Data::Binary(bytes) => f.debug_tuple("SharedMessage::Binary").field(bytes).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_once_and_answers_as_the_message() {
        let text = SharedMessage::new(&Message::Text("héllo".into()));
        assert_eq!(text.len(), 6);
        assert_eq!(text.as_text(), Some("héllo"));
        assert_eq!(text.payload_element(), "4héllo");
        assert!(matches!(text.encoded(), Encoded::Text(p) if p.as_str() == "4héllo"));
        assert_eq!(text.to_message(), Message::Text("héllo".into()));
        assert!(!text.holds_separator());
        assert!(SharedMessage::text("a\u{1e}b").holds_separator());

        let binary = SharedMessage::new(&Message::Binary(Bytes::from_static(&[1, 2, 3, 4])));
        assert_eq!(binary.len(), 4);
        assert!(binary.is_binary());
        assert_eq!(binary.payload_element(), "bAQIDBA==");
        assert_eq!(binary.payload_element_len(), "bAQIDBA==".len());
        assert_eq!(
            binary.htmlfile_chunk(),
            "<script>p(\"bAQIDBA==\");</script>\n"
        );
        assert!(SharedMessage::text("").is_empty());
    }

    #[test]
    fn clones_share_one_encoding() {
        let message = SharedMessage::text("x");
        let clone = message.clone();
        assert!(std::ptr::eq(
            message.htmlfile_chunk().as_ptr(),
            clone.htmlfile_chunk().as_ptr()
        ));
        assert_eq!(message, clone);
        assert_ne!(message, SharedMessage::binary(Bytes::from_static(b"x")));
    }
}
