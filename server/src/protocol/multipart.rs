//! Framing of the `xhr-streaming` transport: one `multipart/mixed` response
//! read by the client as it grows.
//!
//! ```text
//! <2048 spaces>\r\n--B                                    preamble
//! \r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n4hi\r\n--B   one part per packet
//! --\r\n                                                 end of response
//! ```
//!
//! Every part is followed at once by the delimiter `\r\n--B`, so a client
//! knows a part is complete as soon as it has it, without waiting for the
//! next packet. The padding makes browsers that hold back the first bytes
//! of a response hand them to the page.

use memchr::memmem;

use super::payload::element_parts;
use super::{encode_payload_element, Packet};

/// Bytes of padding before the first delimiter.
pub const PADDING_LEN: usize = 2048;

const PART_HEADERS: &str = "\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n";

/// The packet's encoding contains this response's delimiter; it must go out
/// in a new response with a fresh boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundaryCollision;

/// Writes one `xhr-streaming` response body, given its boundary.
#[derive(Debug, Clone)]
pub struct MultipartFramer {
    boundary: String,
    delimiter: String,
}

impl MultipartFramer {
    /// A framer for `boundary`, which should be random per response
    /// (the server uses 32 characters from `[0-9a-f]`).
    pub fn new(boundary: impl Into<String>) -> Self {
        let boundary = boundary.into();
        let delimiter = format!("\r\n--{boundary}");
        Self {
            boundary,
            delimiter,
        }
    }

    /// The response's `Content-Type` header value.
    pub fn content_type(&self) -> String {
        format!("multipart/mixed; boundary=\"{}\"", self.boundary)
    }

    /// The padding and the first delimiter.
    pub fn preamble(&self, out: &mut Vec<u8>) {
        out.resize(out.len() + PADDING_LEN, b' ');
        out.extend_from_slice(self.delimiter.as_bytes());
    }

    /// One packet as a part, followed by the delimiter.
    pub fn part(&self, packet: &Packet, out: &mut Vec<u8>) -> Result<(), BoundaryCollision> {
        let start = out.len();
        out.extend_from_slice(PART_HEADERS.as_bytes());
        let element_start = out.len();
        match (packet, element_parts(packet)) {
            (Packet::Shared(message), _) => {
                out.extend_from_slice(message.payload_element().as_bytes());
            }
            (_, Some((kind, rest))) => {
                let mut utf8 = [0; 4];
                out.extend_from_slice(kind.encode_utf8(&mut utf8).as_bytes());
                out.extend_from_slice(rest.as_bytes());
            }
            (_, None) => {
                let mut element = String::new();
                encode_payload_element(packet, &mut element);
                out.extend_from_slice(element.as_bytes());
            }
        }
        if memmem::find(&out[element_start..], self.delimiter.as_bytes()).is_some() {
            out.truncate(start);
            return Err(BoundaryCollision);
        }
        out.extend_from_slice(self.delimiter.as_bytes());
        Ok(())
    }

    /// The close delimiter's suffix that ends the body.
    pub fn end(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"--\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Message;

    #[test]
    fn body_layout() {
        let framer = MultipartFramer::new("B");
        let mut out = Vec::new();
        framer.preamble(&mut out);
        framer
            .part(&Packet::Message("hi".into()), &mut out)
            .unwrap();
        framer
            .part(
                &Packet::Message(Message::Binary(vec![1u8, 2].into())),
                &mut out,
            )
            .unwrap();
        framer.end(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.len() - text.trim_start_matches(' ').len(), PADDING_LEN);
        assert_eq!(
            text.trim_start_matches(' '),
            "\r\n--B\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n4hi\r\n--B\
             \r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nbAQI=\r\n--B--\r\n"
        );
        assert_eq!(framer.content_type(), "multipart/mixed; boundary=\"B\"");
    }

    #[test]
    fn refuses_a_packet_holding_the_delimiter() {
        let framer = MultipartFramer::new("abc");
        let mut out = Vec::new();
        let hostile = Packet::Message("x\r\n--abc".into());
        assert_eq!(framer.part(&hostile, &mut out), Err(BoundaryCollision));
        assert!(out.is_empty());
        assert!(framer
            .part(&Packet::Message("x\r\n--ab".into()), &mut out)
            .is_ok());
    }
}
