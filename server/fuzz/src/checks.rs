//! One check per fuzz target: feed arbitrary bytes to a decoder or framer
//! and assert what must hold for every input. A panic is a finding.

use polysock::protocol::{encode_payload, htmlfile, multipart, Packet};

/// The payload decoder never panics, and what it accepts re-encodes to a
/// payload that decodes to the same packets.
pub fn decode_payload(data: &[u8]) {
    let Ok(packets) = polysock::protocol::decode_payload(data, 1 << 20) else {
        return;
    };
    assert!(!packets.is_empty());
    let mut text = String::new();
    encode_payload(&packets, &mut text);
    assert_eq!(
        polysock::protocol::decode_payload(text.as_bytes(), usize::MAX),
        Ok(packets)
    );
}

/// The packet decoder never panics on any text, and round-trips what it
/// accepts.
pub fn decode_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(packet) = Packet::decode_text(text) {
        assert_eq!(Packet::decode_text(&packet.to_text()), Ok(packet));
    }
    // A resume session's decoder too: acks round-trip, and `7` stays
    // unknown to a stock one.
    if let Ok(packet) = Packet::decode_text_resume(text) {
        if matches!(packet, Packet::Ack(_)) {
            assert!(Packet::decode_text(text).is_err());
        }
        assert_eq!(Packet::decode_text_resume(&packet.to_text()), Ok(packet));
    }
}

/// An htmlfile chunk of any message text cannot end its script element,
/// open or close a comment, or carry a raw line separator; its literal
/// evaluates back to the packet text.
pub fn htmlfile_chunk(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let mut chunk = String::new();
    htmlfile::chunk(&Packet::Message(text.clone().into()), &mut chunk);
    let literal = chunk
        .strip_prefix("<script>p(")
        .and_then(|rest| rest.strip_suffix(");</script>\n"))
        .expect("the chunk's own framing");
    assert!(!literal.to_ascii_lowercase().contains("</script"));
    assert!(!literal.contains("<!--") && !literal.contains("-->"));
    assert!(!literal.contains(['\u{2028}', '\u{2029}', '\n', '\r']));
    // The escapes used are common to JSON and JavaScript.
    let value: String = serde_json::from_str(literal).expect("a valid string literal");
    assert_eq!(value, format!("4{text}"));
}

/// A multipart part either carries the packet intact between its headers
/// and the delimiter, or is refused because the packet holds the
/// delimiter; nothing is written when it is refused.
pub fn multipart_part(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    // A short boundary makes collisions reachable.
    let boundary: String = "0123456789abcdef0123456789abcdef"
        .chars()
        .take(usize::from(first % 32) + 1)
        .collect();
    let framer = multipart::MultipartFramer::new(boundary.clone());
    let text = String::from_utf8_lossy(rest).into_owned();
    let packet = Packet::Message(text.clone().into());
    let delimiter = format!("\r\n--{boundary}");
    let element = format!("4{text}");
    let mut out = Vec::new();
    match framer.part(&packet, &mut out) {
        Ok(()) => {
            assert!(!element.contains(&delimiter));
            let expected =
                format!("\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{element}{delimiter}");
            assert_eq!(out, expected.as_bytes());
            // Cut back: the first delimiter in the part is the one after it.
            let body = String::from_utf8(out).unwrap();
            let cut = body.find(&delimiter).unwrap();
            assert_eq!(cut, body.len() - delimiter.len());
        }
        Err(multipart::BoundaryCollision) => {
            assert!(element.contains(&delimiter));
            assert!(out.is_empty());
        }
    }
}
