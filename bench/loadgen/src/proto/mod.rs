//! Wire formats the generator speaks, parsed from buffers with no socket in
//! sight: Engine.IO v4 packets and payloads, and the streaming response bodies
//! of polysock (xhr-streaming multipart, htmlfile script chunks) and SockJS.

pub mod eio;
pub mod stream;
