//! What nodes publish to each other, sans-IO: a broadcast, a request, a
//! reply. One frame each:
//!
//! ```text
//!  kind (1 byte: B, Q, R) | header length (u32, big-endian) | header (JSON) | body
//! ```
//!
//! The body is the message's own bytes (UTF-8 text or binary), never
//! re-encoded: a broadcast is framed once and published once, whatever the
//! number of nodes and sockets. A node that receives a broadcast decodes
//! it straight into a [`SharedMessage`]: encoded once per node, shared by
//! every socket of it. Decoding never panics on any input.

use bytes::Bytes;
use polysock::protocol::SharedMessage;
use polysock::{Message, Target};
use serde::{Deserialize, Serialize};

const BROADCAST: u8 = b'B';
const REQUEST: u8 = b'Q';
const REPLY: u8 = b'R';

/// Largest header accepted (rooms and ids are short).
const MAX_HEADER: usize = 1 << 20;

/// A frame, decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Frame {
    Broadcast {
        from: String,
        target: Target,
        /// Encoded once, here, for every socket of this node.
        message: SharedMessage,
    },
    Request {
        from: String,
        id: u64,
        op: Op,
        body: Bytes,
    },
    Reply {
        from: String,
        id: u64,
        answer: Answer,
    },
}

/// An operation one node asks of the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Op {
    Count,
    Ids,
    Members {
        room: String,
    },
    RoomsOf {
        id: String,
    },
    Join {
        id: String,
        room: String,
    },
    Leave {
        id: String,
        room: String,
    },
    /// The message is the frame's body.
    SendTo {
        id: String,
        binary: bool,
    },
    Close {
        id: String,
        code: u16,
        reason: String,
    },
}

/// A node's answer to an [`Op`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub(crate) enum Answer {
    Count {
        count: usize,
    },
    Ids {
        ids: Vec<String>,
    },
    Bool {
        value: bool,
    },
    Done,
    /// The socket is not on this node.
    NotHere,
    /// It is here but the operation failed.
    Failed {
        kind: String,
        message: String,
    },
}

#[derive(Serialize, Deserialize)]
struct BroadcastHeader<'a> {
    from: std::borrow::Cow<'a, str>,
    rooms: Vec<String>,
    except: Vec<String>,
    binary: bool,
}

#[derive(Serialize, Deserialize)]
struct RequestHeader {
    from: String,
    /// The request's number (not `id`: the operations have an `id` field).
    req: u64,
    #[serde(flatten)]
    op: Op,
}

#[derive(Serialize, Deserialize)]
struct ReplyHeader {
    from: String,
    req: u64,
    #[serde(flatten)]
    answer: Answer,
}

fn frame(kind: u8, header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + header.len() + body.len());
    out.push(kind);
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    out
}

fn body_of(message: &Message) -> (&[u8], bool) {
    match message {
        Message::Text(text) => (text.as_bytes(), false),
        Message::Binary(bytes) => (bytes, true),
    }
}

/// Frames a broadcast once.
pub(crate) fn broadcast(from: &str, target: &Target, message: &Message) -> Vec<u8> {
    let (body, binary) = body_of(message);
    let header = BroadcastHeader {
        from: from.into(),
        rooms: target.room_names().to_vec(),
        except: target.excepted().to_vec(),
        binary,
    };
    let header = serde_json::to_vec(&header).unwrap_or_default();
    frame(BROADCAST, &header, body)
}

/// Frames a request; `message` is the body of a `SendTo`.
pub(crate) fn request(from: &str, id: u64, op: Op, message: Option<&Message>) -> Vec<u8> {
    let body = message.map(|m| body_of(m).0).unwrap_or_default();
    let header = RequestHeader {
        from: from.to_owned(),
        req: id,
        op,
    };
    let header = serde_json::to_vec(&header).unwrap_or_default();
    frame(REQUEST, &header, body)
}

/// Frames a reply.
pub(crate) fn reply(from: &str, id: u64, answer: Answer) -> Vec<u8> {
    let header = ReplyHeader {
        from: from.to_owned(),
        req: id,
        answer,
    };
    let header = serde_json::to_vec(&header).unwrap_or_default();
    frame(REPLY, &header, &[])
}

/// The message a body carries.
pub(crate) fn message(body: &[u8], binary: bool) -> Option<Message> {
    if binary {
        Some(Message::Binary(Bytes::copy_from_slice(body)))
    } else {
        std::str::from_utf8(body)
            .ok()
            .map(|text| Message::Text(text.to_owned()))
    }
}

/// The message a broadcast's body carries, encoded at once for this
/// node's sockets: the one copy a node makes of a broadcast it receives.
fn shared_message(body: &[u8], binary: bool) -> Option<SharedMessage> {
    if binary {
        Some(SharedMessage::binary(Bytes::copy_from_slice(body)))
    } else {
        std::str::from_utf8(body).ok().map(SharedMessage::text)
    }
}

/// Decodes a frame; `None` for anything malformed.
pub(crate) fn decode(bytes: &[u8]) -> Option<Frame> {
    let (&kind, rest) = bytes.split_first()?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    if len > MAX_HEADER {
        return None;
    }
    let header = rest.get(4..4 + len)?;
    let body = rest.get(4 + len..)?;
    match kind {
        BROADCAST => {
            let header: BroadcastHeader = serde_json::from_slice(header).ok()?;
            Some(Frame::Broadcast {
                from: header.from.into_owned(),
                target: Target::from_parts(header.rooms, header.except),
                message: shared_message(body, header.binary)?,
            })
        }
        REQUEST => {
            let header: RequestHeader = serde_json::from_slice(header).ok()?;
            Some(Frame::Request {
                from: header.from,
                id: header.req,
                op: header.op,
                body: Bytes::copy_from_slice(body),
            })
        }
        REPLY => {
            let header: ReplyHeader = serde_json::from_slice(header).ok()?;
            Some(Frame::Reply {
                from: header.from,
                id: header.req,
                answer: header.answer,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let target = Target::room("x").and("y").except("s1");
        let text = Message::Text("héllo".into());
        assert_eq!(
            decode(&broadcast("n1", &target, &text)),
            Some(Frame::Broadcast {
                from: "n1".into(),
                target: target.clone(),
                message: SharedMessage::new(&text)
            })
        );
        let binary = Message::Binary(Bytes::from_static(&[0, 159, 146, 150]));
        match decode(&broadcast("n1", &Target::all(), &binary)) {
            Some(Frame::Broadcast { message, .. }) => {
                assert_eq!(message, SharedMessage::new(&binary))
            }
            other => panic!("{other:?}"),
        }
        let op = Op::SendTo {
            id: "s".into(),
            binary: false,
        };
        match decode(&request("n2", 7, op.clone(), Some(&text))) {
            Some(Frame::Request {
                from,
                id,
                op: got,
                body,
            }) => {
                assert_eq!((from.as_str(), id, got), ("n2", 7, op));
                assert_eq!(&body[..], "héllo".as_bytes());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            decode(&reply("n3", 9, Answer::Count { count: 4 })),
            Some(Frame::Reply {
                from: "n3".into(),
                id: 9,
                answer: Answer::Count { count: 4 }
            })
        );
    }

    #[test]
    fn garbage_decodes_to_none() {
        for bytes in [
            &b""[..],
            b"B",
            b"B\0\0\0\x05{}",
            b"Q\xff\xff\xff\xff",
            b"X\0\0\0\x02{}",
            b"B\0\0\0\x02{}",
        ] {
            assert_eq!(decode(bytes), None, "{bytes:?}");
        }
        // Text that is not UTF-8.
        let mut bad = broadcast("n", &Target::all(), &Message::Text(String::new()));
        bad.push(0xff);
        assert_eq!(decode(&bad), None);
    }
}
