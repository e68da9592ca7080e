//! Session ids that name their owner node: `<node id>.<32 hex digits>`.
//!
//! With a `node_id` configured, every session id this node issues starts
//! with that id and a dot, so that any node can tell from the id alone
//! where a session lives, without asking anyone. Without one, ids are the
//! 32 hex digits they always were and nothing is ever forwarded. Pure
//! functions: no IO.

/// Longest node id: with the dot and the 32 digits a session id stays
/// within the 64 characters the query parser accepts.
pub(crate) const MAX_NODE_ID_LEN: usize = 24;

/// Whether `id` may name a node: 1 to 24 of `A-Z a-z 0-9 _ -` (no dot, so
/// the first dot of a session id ends the node id; nothing to escape in a
/// URL).
pub(crate) fn is_valid_node_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_NODE_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A new session id, prefixed by the node's id when it has one.
pub(crate) fn new_session_id(node_id: Option<&str>) -> String {
    let random = uuid::Uuid::new_v4().simple();
    match node_id {
        Some(node) => format!("{node}.{random}"),
        None => random.to_string(),
    }
}

/// The node a session id names, if it names one.
pub(crate) fn owner(sid: &str) -> Option<&str> {
    let (node, rest) = sid.split_once('.')?;
    (is_valid_node_id(node) && !rest.is_empty()).then_some(node)
}

/// How a request names its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Addressed<'a> {
    /// `sid=`: every request of a session.
    Sid(&'a str),
    /// `resume=`: the resume handshake (issue 14); its value `1` on a
    /// first handshake names no node.
    Resume(&'a str),
}

impl<'a> Addressed<'a> {
    pub(crate) fn sid(self) -> &'a str {
        match self {
            Self::Sid(sid) | Self::Resume(sid) => sid,
        }
    }
}

/// The session a request is about, read from its raw query string; the
/// first `sid` or `resume` wins, as in the query parser.
pub(crate) fn addressed_session(query: Option<&str>) -> Option<Addressed<'_>> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(key, value)| match key {
            "sid" => Some(Addressed::Sid(value)),
            "resume" => Some(Addressed::Resume(value)),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_node_or_none() {
        let id = new_session_id(Some("node-2"));
        assert!(id.starts_with("node-2."), "{id}");
        assert_eq!(id.len(), "node-2.".len() + 32);
        assert_eq!(owner(&id), Some("node-2"));
        let plain = new_session_id(None);
        assert_eq!(plain.len(), 32);
        assert_eq!(owner(&plain), None);
        let longest = new_session_id(Some(&"n".repeat(MAX_NODE_ID_LEN)));
        assert!(longest.len() <= 64);
    }

    #[test]
    fn only_well_formed_prefixes_count() {
        assert_eq!(owner("a.b"), Some("a"));
        assert_eq!(owner(".abc"), None);
        assert_eq!(owner("a."), None);
        assert_eq!(owner("a b.c"), None);
        assert_eq!(owner(&format!("{}.x", "n".repeat(25))), None);
        assert!(!is_valid_node_id(""));
        assert!(!is_valid_node_id("a.b"));
        assert!(!is_valid_node_id("a%2e"));
        assert!(is_valid_node_id("Node_7-b"));
    }

    #[test]
    fn finds_the_addressed_session() {
        assert_eq!(
            addressed_session(Some("EIO=4&transport=polling&sid=a.x&t=1")),
            Some(Addressed::Sid("a.x"))
        );
        assert_eq!(
            addressed_session(Some("EIO=4&transport=websocket&ext=1&resume=b.y&last=3")),
            Some(Addressed::Resume("b.y"))
        );
        assert_eq!(
            addressed_session(Some("resume=1&ext=1")).map(Addressed::sid),
            Some("1")
        );
        assert_eq!(owner("1"), None);
        assert_eq!(addressed_session(Some("EIO=4&transport=polling")), None);
        assert_eq!(addressed_session(None), None);
    }
}
