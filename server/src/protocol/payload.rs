//! The polling payload: packets joined by the record separator `\x1e`, a
//! binary message written as `b` followed by its base64.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;

use super::{DecodeError, Message, Packet};

/// The record separator between packets of a payload.
pub const SEPARATOR: char = '\x1e';

/// Appends one payload element: the packet's text form, or `b` + base64 for
/// a binary message. Streaming transports frame packets the same way.
pub fn encode_payload_element(packet: &Packet, out: &mut String) {
    match packet {
        Packet::Message(Message::Binary(bytes)) => {
            out.push('b');
            BASE64.encode_string(bytes, out);
        }
        Packet::Shared(message) => out.push_str(message.payload_element()),
        _ => packet.encode_text(out),
    }
}

/// The payload element of `packet` as its type character and a borrowed
/// rest, for the packets whose element is just that (all but binary
/// messages and close packets with a body). Lets framers copy the text
/// once, straight into their output.
pub(crate) fn element_parts(packet: &Packet) -> Option<(char, &str)> {
    let rest = match packet {
        Packet::Message(Message::Text(text)) => text.as_str(),
        Packet::Shared(message) => return message.as_text().map(|text| ('4', text)),
        Packet::Open(data) | Packet::Ping(data) | Packet::Pong(data) => data.as_str(),
        Packet::Close(None) | Packet::Upgrade | Packet::Noop => "",
        Packet::Message(Message::Binary(_)) | Packet::Close(Some(_)) | Packet::Ack(_) => {
            return None
        }
    };
    Some((packet.packet_type().as_char(), rest))
}

/// The number of bytes [`encode_payload_element`] writes for `packet`.
pub fn encoded_len(packet: &Packet) -> usize {
    match packet {
        Packet::Message(Message::Binary(bytes)) => 1 + bytes.len().div_ceil(3) * 4,
        Packet::Message(Message::Text(text)) => 1 + text.len(),
        Packet::Shared(message) => message.payload_element_len(),
        Packet::Open(data) | Packet::Ping(data) | Packet::Pong(data) => 1 + data.len(),
        Packet::Close(Some(_)) | Packet::Ack(_) => packet.to_text().len(),
        Packet::Close(None) | Packet::Upgrade | Packet::Noop => 1,
    }
}

/// Encodes packets as one polling payload.
pub fn encode_payload<'a>(packets: impl IntoIterator<Item = &'a Packet>, out: &mut String) {
    for (index, packet) in packets.into_iter().enumerate() {
        if index > 0 {
            out.push(SEPARATOR);
        }
        encode_payload_element(packet, out);
    }
}

/// Decodes a polling payload (a POST body) into packets.
///
/// `max_len` bounds the input in bytes; the whole payload must be UTF-8.
pub fn decode_payload(bytes: &[u8], max_len: usize) -> Result<Vec<Packet>, DecodeError> {
    payload_packets(bytes, max_len)?.collect()
}

/// Decodes a polling payload one packet at a time, so a caller that hands
/// each packet on before decoding the next never holds the payload twice
/// (a 1 MB body of two-byte packets decodes to far more than 1 MB). The
/// length and UTF-8 checks run first, for the whole payload.
pub fn payload_packets(
    bytes: &[u8],
    max_len: usize,
) -> Result<impl Iterator<Item = Result<Packet, DecodeError>> + '_, DecodeError> {
    payload_packets_with(bytes, max_len, false)
}

/// [`payload_packets`] for a resume session, whose payloads may hold ack
/// packets (`7<n>`, protocol-spec 11).
pub fn payload_packets_resume(
    bytes: &[u8],
    max_len: usize,
) -> Result<impl Iterator<Item = Result<Packet, DecodeError>> + '_, DecodeError> {
    payload_packets_with(bytes, max_len, true)
}

pub(crate) fn payload_packets_with(
    bytes: &[u8],
    max_len: usize,
    resume: bool,
) -> Result<impl Iterator<Item = Result<Packet, DecodeError>> + '_, DecodeError> {
    if bytes.len() > max_len {
        return Err(DecodeError::TooLarge { limit: max_len });
    }
    if bytes.is_empty() {
        return Err(DecodeError::EmptyPayload);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
    Ok(text
        .split(SEPARATOR)
        .map(move |element| decode_payload_element(element, resume)))
}

fn decode_payload_element(element: &str, resume: bool) -> Result<Packet, DecodeError> {
    match element.strip_prefix('b') {
        Some(base64) => BASE64
            .decode(base64)
            .map(|bytes| Packet::Message(Message::Binary(Bytes::from(bytes))))
            .map_err(|_| DecodeError::InvalidBase64),
        None => Packet::decode_text_with(element, resume),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_payload_round_trip() {
        let packets = vec![
            Packet::Message("hello".into()),
            Packet::Message(Message::Binary(Bytes::from_static(&[1, 2, 3, 4]))),
            Packet::Ping(String::new()),
        ];
        let mut text = String::new();
        encode_payload(&packets, &mut text);
        assert_eq!(text, "4hello\x1ebAQIDBA==\x1e2");
        assert_eq!(decode_payload(text.as_bytes(), 1000), Ok(packets));
    }

    #[test]
    fn encoded_len_matches_encoding() {
        for packet in [
            Packet::Message(Message::Binary(Bytes::from_static(&[0; 7]))),
            Packet::Message("ünïcode".into()),
            Packet::Close(Some(crate::protocol::CloseFrame::new(4000, "x"))),
            Packet::Noop,
        ] {
            let mut out = String::new();
            encode_payload_element(&packet, &mut out);
            assert_eq!(encoded_len(&packet), out.len(), "{packet:?}");
        }
    }

    #[test]
    fn rejects_bad_payloads() {
        assert_eq!(decode_payload(b"", 10), Err(DecodeError::EmptyPayload));
        assert_eq!(decode_payload(b"4a\x1e", 10), Err(DecodeError::EmptyPacket));
        assert_eq!(decode_payload(b"bAQ", 10), Err(DecodeError::InvalidBase64));
        assert_eq!(decode_payload(b"4\xff", 10), Err(DecodeError::InvalidUtf8));
        assert_eq!(
            decode_payload(b"4hello", 3),
            Err(DecodeError::TooLarge { limit: 3 })
        );
    }
}
