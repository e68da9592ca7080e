//! The wire protocol, sans-IO: Engine.IO v4 packets and payloads, the open
//! packet's handshake data, and the framing of the two streaming extensions.
//!
//! Everything here is a pure function over bytes and strings: no sockets, no
//! tokio, no HTTP types. Decoders return a typed [`DecodeError`] for any
//! input and never panic; that is checked by property tests and fuzz targets.
//!
//! The normative text is `protocol-spec/` at the repository root; the test
//! vectors in `protocol-spec/vectors/` are run against this module.

mod error;
mod handshake;
pub mod htmlfile;
pub mod multipart;
mod packet;
mod payload;
mod shared;
pub mod sockjs;

pub use error::DecodeError;
pub use handshake::{OpenData, ResumeOffer};
pub use packet::{CloseFrame, Message, Packet, PacketType};
pub(crate) use payload::payload_packets_with;
pub use payload::{
    decode_payload, encode_payload, encode_payload_element, encoded_len, payload_packets,
    payload_packets_resume,
};
pub use shared::{Encoded, SharedMessage};
