//! The shared test vectors of `protocol-spec/vectors/`, run against the
//! sans-IO protocol layer byte for byte.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use polysock::protocol::{
    decode_payload, encode_payload, encode_payload_element, htmlfile, multipart, Message, Packet,
};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!(
        "{}/../protocol-spec/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {value}"))
}

/// A packet object of the vector files: `{"type", "text"?, "binary_base64"?}`.
fn packet(value: &Value) -> Packet {
    if let Some(b64) = value["binary_base64"].as_str() {
        return Packet::Message(Message::Binary(BASE64.decode(b64).unwrap().into()));
    }
    let digit = match str_of(value, "type") {
        "open" => '0',
        "close" => '1',
        "ping" => '2',
        "pong" => '3',
        "message" => '4',
        "upgrade" => '5',
        "noop" => '6',
        other => panic!("unknown type {other}"),
    };
    let text = format!("{digit}{}", value["text"].as_str().unwrap_or(""));
    Packet::decode_text(&text).unwrap_or_else(|e| panic!("{value}: {e}"))
}

#[test]
fn packets() {
    let cases = load("packets.json");
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 12);
    for case in cases {
        let name = str_of(case, "name");
        let packet = packet(&case["packet"]);
        let mut element = String::new();
        encode_payload_element(&packet, &mut element);
        assert_eq!(element, str_of(case, "polling"), "{name}: polling");
        match (&packet, case["ws"]["text"].as_str()) {
            (Packet::Message(Message::Binary(bytes)), None) => {
                assert_eq!(
                    BASE64.encode(bytes),
                    str_of(&case["ws"], "binary_base64"),
                    "{name}: ws"
                )
            }
            (_, Some(text)) => {
                assert_eq!(packet.to_text(), text, "{name}: ws");
                assert_eq!(
                    Packet::decode_text(text).as_ref(),
                    Ok(&packet),
                    "{name}: ws decode"
                );
            }
            _ => panic!("{name}: ws form does not match the packet"),
        }
    }
}

#[test]
fn payloads() {
    let vectors = load("payloads.json");
    let default_max = vectors["max_payload_default"].as_u64().unwrap() as usize;
    for case in vectors["valid"].as_array().unwrap() {
        let name = str_of(case, "name");
        let payload = str_of(case, "payload");
        let expected: Vec<Packet> = case["packets"]
            .as_array()
            .unwrap()
            .iter()
            .map(packet)
            .collect();
        assert_eq!(
            decode_payload(payload.as_bytes(), default_max).as_ref(),
            Ok(&expected),
            "{name}"
        );
        let mut encoded = String::new();
        encode_payload(&expected, &mut encoded);
        assert_eq!(encoded, payload, "{name}: re-encoding");
    }
    for case in vectors["invalid"].as_array().unwrap() {
        let name = str_of(case, "name");
        let bytes = BASE64.decode(str_of(case, "payload_base64")).unwrap();
        let max = case["max_payload"]
            .as_u64()
            .map_or(default_max, |m| m as usize);
        match decode_payload(&bytes, max) {
            Err(error) => assert_eq!(error.kind(), str_of(case, "error"), "{name}"),
            Ok(packets) => panic!("{name}: decoded to {packets:?}"),
        }
    }
}

#[test]
fn htmlfile_framing() {
    let vectors = load("htmlfile.json");
    assert_eq!(
        vectors["default_callback_id"].as_u64(),
        Some(u64::from(htmlfile::DEFAULT_CALLBACK_ID))
    );
    assert_eq!(str_of(&vectors, "end"), htmlfile::END);
    for id in vectors["callbacks"]["valid"].as_array().unwrap() {
        assert!(
            htmlfile::parse_callback_id(id.as_str().unwrap()).is_some(),
            "{id}"
        );
    }
    for id in vectors["callbacks"]["invalid"].as_array().unwrap() {
        assert!(
            htmlfile::parse_callback_id(id.as_str().unwrap()).is_none(),
            "{id}"
        );
    }
    for preamble in vectors["preambles"].as_array().unwrap() {
        let id = htmlfile::parse_callback_id(str_of(preamble, "callback")).unwrap();
        assert_eq!(htmlfile::preamble(id), str_of(preamble, "bytes"));
    }
    for case in vectors["cases"].as_array().unwrap() {
        let mut chunk = String::new();
        htmlfile::chunk(&packet(&case["packet"]), &mut chunk);
        assert_eq!(chunk, str_of(case, "chunk"), "{}", str_of(case, "name"));
    }
    for case in vectors["hostile"].as_array().unwrap() {
        let mut chunk = String::new();
        htmlfile::chunk(&Packet::Message(str_of(case, "text").into()), &mut chunk);
        assert_eq!(chunk, str_of(case, "chunk"), "{}", str_of(case, "name"));
    }
}

#[test]
fn xhr_streaming_framing() {
    let vectors = load("xhr-streaming.json");
    assert_eq!(
        vectors["padding_bytes"].as_u64(),
        Some(multipart::PADDING_LEN as u64)
    );
    let example = &vectors["preamble_example"];
    let mut preamble = Vec::new();
    multipart::MultipartFramer::new(str_of(example, "boundary")).preamble(&mut preamble);
    assert_eq!(
        String::from_utf8(preamble).unwrap(),
        str_of(example, "bytes")
    );
    for case in vectors["cases"]
        .as_array()
        .unwrap()
        .iter()
        .chain(vectors["harmless"].as_array().unwrap())
    {
        let framer = multipart::MultipartFramer::new(str_of(case, "boundary"));
        let mut out = Vec::new();
        framer.part(&packet(&case["packet"]), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            str_of(case, "chunk"),
            "{}",
            str_of(case, "name")
        );
    }
    for case in vectors["collisions"].as_array().unwrap() {
        let framer = multipart::MultipartFramer::new(str_of(case, "boundary"));
        assert!(
            framer
                .part(&packet(&case["packet"]), &mut Vec::new())
                .is_err(),
            "{}",
            str_of(case, "name")
        );
    }
    let mut end = Vec::new();
    multipart::MultipartFramer::new("x").end(&mut end);
    assert_eq!(String::from_utf8(end).unwrap(), str_of(&vectors, "end"));
}
