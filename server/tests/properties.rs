//! Properties of the protocol layer over arbitrary input: decoders never
//! panic, encodings round-trip, and the htmlfile escaping never lets
//! message text end a script, open a comment or change its own value.

use polysock::protocol::{
    decode_payload, encode_payload, encode_payload_element, encoded_len, htmlfile, multipart,
    Message, Packet, SharedMessage,
};
use proptest::prelude::*;

fn message() -> impl Strategy<Value = Packet> {
    prop_oneof![
        any::<String>()
            .prop_filter("no record separator", |s| !s.contains('\u{1e}'))
            .prop_map(|s| Packet::Message(Message::Text(s))),
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| Packet::Message(Message::Binary(b.into()))),
        Just(Packet::Ping(String::new())),
        Just(Packet::Pong("probe".into())),
        Just(Packet::Noop),
        Just(Packet::Close(None)),
    ]
}

/// Any application message, U+001E and all (a shared message must encode
/// whatever a direct one does).
fn any_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        any::<String>().prop_map(Message::Text),
        "(</script>|<!--|-->|\u{2028}|\u{2029}|\"|\\\\|&|\r\n--b|[a-z]|é|\u{1F600})*"
            .prop_map(Message::Text),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| Message::Binary(b.into())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A broadcast's message, encoded once ([`SharedMessage`]), frames
    /// exactly as the same message sent directly, in every framing: the
    /// text form, the polling payload element and its length, a payload of
    /// several, a multipart part (or the same boundary collision) and an
    /// htmlfile chunk. (The WebSocket frame is checked beside its framer,
    /// in the crate's unit tests.)
    #[test]
    fn shared_encoding_equals_direct_encoding(message in any_message(), before in any_message()) {
        let direct = Packet::Message(message.clone());
        let shared = Packet::Shared(SharedMessage::new(&message));
        prop_assert_eq!(shared.to_text(), direct.to_text());
        prop_assert_eq!(shared.is_binary(), direct.is_binary());
        prop_assert_eq!(shared.packet_type(), direct.packet_type());
        let (mut a, mut b) = (String::new(), String::new());
        encode_payload_element(&direct, &mut a);
        encode_payload_element(&shared, &mut b);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(encoded_len(&shared), b.len());
        let other = Packet::Message(before.clone());
        let (mut a, mut b) = (String::new(), String::new());
        encode_payload(&[other.clone(), direct.clone(), other.clone()], &mut a);
        encode_payload(&[Packet::Shared(SharedMessage::new(&before)), shared.clone(), other], &mut b);
        prop_assert_eq!(a, b);
        let framer = multipart::MultipartFramer::new("b");
        let (mut a, mut b) = (Vec::new(), Vec::new());
        prop_assert_eq!(framer.part(&direct, &mut a), framer.part(&shared, &mut b));
        prop_assert_eq!(a, b);
        let (mut a, mut b) = (String::new(), String::new());
        htmlfile::chunk(&direct, &mut a);
        htmlfile::chunk(&shared, &mut b);
        htmlfile::chunk(&shared, &mut b);
        prop_assert_eq!(a.repeat(2), b, "made once, the same every time");
        let again = SharedMessage::new(&message);
        prop_assert_eq!(again.len(), message.len());
        prop_assert_eq!(again.to_message(), message.clone());
        prop_assert_eq!(
            again.holds_separator(),
            matches!(&message, Message::Text(t) if t.contains('\u{1e}'))
        );
    }

    #[test]
    fn payload_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_payload(&bytes, 200);
    }

    #[test]
    fn packet_decoding_never_panics(text in any::<String>()) {
        let _ = Packet::decode_text(&text);
    }

    #[test]
    fn payloads_round_trip(packets in proptest::collection::vec(message(), 1..8)) {
        let mut text = String::new();
        encode_payload(&packets, &mut text);
        prop_assert_eq!(decode_payload(text.as_bytes(), usize::MAX), Ok(packets));
    }

    #[test]
    fn htmlfile_escaping_is_inert_and_faithful(text in any::<String>(), tail in "(</[sS][cC][rR][iI][pP][tT]|<!--|-->|\u{2028}|\u{2029}|\"|\\\\|&|<|>)*") {
        let original = format!("{text}{tail}");
        let mut chunk = String::new();
        htmlfile::chunk(&Packet::Message(original.clone().into()), &mut chunk);
        let literal = chunk
            .strip_prefix("<script>p(")
            .and_then(|rest| rest.strip_suffix(");</script>\n"))
            .expect("the chunk's own framing");
        let lower = literal.to_ascii_lowercase();
        prop_assert!(!lower.contains("</script"));
        prop_assert!(!literal.contains("<!--") && !literal.contains("-->"));
        let raw_separators = literal.contains(['\u{2028}', '\u{2029}']);
        prop_assert!(!raw_separators);
        // The escapes used are a subset of both JSON's and JavaScript's, so
        // parsing the literal as JSON is evaluating it as JavaScript.
        let value: String = serde_json::from_str(literal).expect("a valid string literal");
        prop_assert_eq!(value, format!("4{original}"));
    }

    #[test]
    fn multipart_parts_cut_back_to_packets(texts in proptest::collection::vec(any::<String>(), 1..6)) {
        let framer = multipart::MultipartFramer::new("0123456789abcdef0123456789abcdef");
        let mut body = Vec::new();
        framer.preamble(&mut body);
        let mut sent = Vec::new();
        for text in texts.into_iter().filter(|t| !t.contains('\u{1e}')) {
            if framer.part(&Packet::Message(text.clone().into()), &mut body).is_ok() {
                sent.push(format!("4{text}"));
            }
        }
        framer.end(&mut body);
        let body = String::from_utf8(body).unwrap();
        let delimiter = "\r\n--0123456789abcdef0123456789abcdef";
        let parts: Vec<&str> = body.split(delimiter).collect();
        prop_assert_eq!(parts.len(), sent.len() + 2, "padding, parts, end");
        prop_assert_eq!(parts[parts.len() - 1], "--\r\n");
        for (part, expected) in parts[1..parts.len() - 1].iter().zip(&sent) {
            let packet = part.split_once("\r\n\r\n").map(|(_, p)| p);
            prop_assert_eq!(packet, Some(expected.as_str()));
        }
    }
}
