//! The JSON body of the open packet (`0{...}`).

use serde::Serialize;

/// Handshake data sent in the open packet.
///
/// A stock Engine.IO client sees exactly the five EIO4 keys; `ext` and
/// `protocol` are written only for clients that asked for the extensions
/// with `ext=1`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OpenData {
    /// The session id.
    pub sid: String,
    /// Transports the client may upgrade to from the one it opened on.
    pub upgrades: Vec<&'static str>,
    /// Milliseconds between server pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong.
    pub ping_timeout: u64,
    /// Largest payload the server accepts in one POST, in bytes.
    pub max_payload: usize,
    /// `Some(1)` when the Polysock extensions are on for this session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<u8>,
    /// The negotiated subprotocol (empty when none); extension sessions only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The resume offer: present only when the client asked (`resume=1`)
    /// and the server has resume on; the session is then a resume session
    /// (protocol-spec 11).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeOffer>,
    /// On the answer to a resume handshake only: how many of the client's
    /// messages the server has received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<u64>,
}

/// The `resume` object of the open packet.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct ResumeOffer {
    /// Milliseconds a lost session waits for its client to resume.
    pub window: u64,
}

impl OpenData {
    /// The JSON text that follows the `0` type character.
    pub fn to_json(&self) -> String {
        // Serialising plain strings, integers and a Vec cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_clients_see_exactly_five_keys() {
        let data = OpenData {
            sid: "abc".into(),
            upgrades: vec!["websocket"],
            ping_interval: 25000,
            ping_timeout: 20000,
            max_payload: 1_000_000,
            ext: None,
            protocol: None,
            resume: None,
            resumed: None,
        };
        assert_eq!(
            data.to_json(),
            r#"{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
    }

    #[test]
    fn extension_keys_follow_when_asked() {
        let data = OpenData {
            sid: "abc".into(),
            upgrades: vec![],
            ping_interval: 1,
            ping_timeout: 2,
            max_payload: 3,
            ext: Some(1),
            protocol: Some("chat".into()),
            resume: None,
            resumed: None,
        };
        assert!(data
            .to_json()
            .ends_with(r#""maxPayload":3,"ext":1,"protocol":"chat"}"#));
        let resumed = OpenData {
            resume: Some(ResumeOffer { window: 60000 }),
            resumed: Some(7),
            ..data
        };
        assert!(resumed
            .to_json()
            .ends_with(r#""protocol":"chat","resume":{"window":60000},"resumed":7}"#));
    }
}
