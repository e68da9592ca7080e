//! SockJS protocol 0.3.3, sans-IO: the frames, how each transport wraps
//! them, what clients send, the URL grammar and the static pages.
//!
//! ```text
//! frame      o                      the session is open
//!            h                      heartbeat
//!            a["m1","m2"]           messages (JSON strings, see json::quote)
//!            c[3000,"Go away!"]     closed, with code and reason
//!
//! xhr, xhr_streaming   <frame>\n
//! eventsource          data: <frame>\r\n\r\n
//! htmlfile             <script>\np(<frame as a JSON string>);\n</script>\r\n
//! jsonp                /**/<callback>(<frame as a JSON string>);\r\n
//! websocket            <frame>, one per WebSocket message
//! ```
//!
//! Nothing here panics on any input; the endpoint in `crate::sockjs` does
//! the IO. The normative text is `protocol-spec/12-sockjs.md`.

mod json;
mod pages;
mod path;

pub use json::{parse_messages, parse_websocket_frame, quote, BodyError};
pub use pages::{
    http_date, iframe_etag, iframe_page, info_body, is_valid_callback, jsonp_send_messages,
    query_value, GREETING, MAX_CALLBACK_LEN,
};
pub use path::{route, Route, SessionTransport, MAX_ID_LEN};

/// The open frame.
pub const OPEN: &str = "o";
/// The heartbeat frame.
pub const HEARTBEAT: &str = "h";
/// The close frame's code when a second receiver asks for a session.
pub const ANOTHER_CONNECTION: (u16, &str) = (2010, "Another connection still open");
/// The close frame's code after a receiving connection broke.
pub const INTERRUPTED: (u16, &str) = (1002, "Connection interrupted");

/// Appends a message frame, `a[...]`.
pub fn message_frame<'a>(messages: impl IntoIterator<Item = &'a str>, out: &mut String) {
    out.push_str("a[");
    for (index, message) in messages.into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        quote(message, out);
    }
    out.push(']');
}

/// Appends a close frame, `c[code,"reason"]`.
pub fn close_frame(code: u16, reason: &str, out: &mut String) {
    out.push_str("c[");
    out.push_str(&code.to_string());
    out.push(',');
    quote(reason, out);
    out.push(']');
}

/// How a transport wraps each frame in its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wrap {
    /// `xhr` and `xhr_streaming`: the frame and a newline.
    Xhr,
    /// `eventsource`: one `data:` event per frame.
    EventSource,
    /// `htmlfile`: one `<script>` calling `p` per frame.
    Htmlfile,
    /// `jsonp`: a call of the (validated) callback.
    Jsonp(String),
    /// A WebSocket message holds the bare frame.
    Bare,
}

impl Wrap {
    /// Appends `frame`, wrapped.
    pub fn frame(&self, frame: &str, out: &mut String) {
        match self {
            Self::Xhr => {
                out.push_str(frame);
                out.push('\n');
            }
            Self::EventSource => {
                out.push_str("data: ");
                out.push_str(frame);
                out.push_str("\r\n\r\n");
            }
            Self::Htmlfile => {
                out.push_str("<script>\np(");
                quote(frame, out);
                out.push_str(");\n</script>\r\n");
            }
            Self::Jsonp(callback) => {
                // The comment in front keeps a response from starting with
                // bytes a plugin could take for its own file format.
                out.push_str("/**/");
                out.push_str(callback);
                out.push('(');
                quote(frame, out);
                out.push_str(");\r\n");
            }
            Self::Bare => out.push_str(frame),
        }
    }

    /// The frame, wrapped, as a new string.
    pub fn to_string(&self, frame: &str) -> String {
        let mut out = String::with_capacity(frame.len() + 32);
        self.frame(frame, &mut out);
        out
    }
}

/// The first bytes of a streaming response, before any frame: 2 KiB of
/// `h` for `xhr_streaming` (some browsers deliver nothing of a response
/// before that much arrived), one empty line for `eventsource`, and the
/// document opening, padded past 1 KiB, for `htmlfile`.
pub fn prelude(transport: SessionTransport, callback: &str) -> String {
    match transport {
        SessionTransport::XhrStreaming => {
            let mut out = "h".repeat(2048);
            out.push('\n');
            out
        }
        SessionTransport::EventSource => "\r\n".to_owned(),
        SessionTransport::Htmlfile => pages::htmlfile_head(callback),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(messages: &[&str]) -> String {
        let mut out = String::new();
        message_frame(messages.iter().copied(), &mut out);
        out
    }

    #[test]
    fn frames() {
        assert_eq!(frame_of(&["a"]), r#"a["a"]"#);
        assert_eq!(frame_of(&["a", "b\"c"]), r#"a["a","b\"c"]"#);
        assert_eq!(frame_of(&[]), "a[]");
        let mut close = String::new();
        close_frame(3000, "Go away!", &mut close);
        assert_eq!(close, r#"c[3000,"Go away!"]"#);
        let mut hostile = String::new();
        close_frame(4000, "</script>", &mut hostile);
        assert_eq!(hostile, r#"c[4000,"\u003c/script\u003e"]"#);
    }

    /// The wire bytes the SockJS protocol suite expects of each transport.
    #[test]
    fn wrapping_matches_the_protocol_suite() {
        assert_eq!(Wrap::Xhr.to_string("o"), "o\n");
        assert_eq!(
            Wrap::EventSource.to_string(r#"a["x"]"#),
            "data: a[\"x\"]\r\n\r\n"
        );
        assert_eq!(
            Wrap::Htmlfile.to_string(r#"a["x"]"#),
            "<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n"
        );
        assert_eq!(
            Wrap::Jsonp("callback".into()).to_string("o"),
            "/**/callback(\"o\");\r\n"
        );
        assert_eq!(Wrap::Bare.to_string("h"), "h");
    }

    /// A message can never end the script it travels in: after two rounds
    /// of quoting, no `<` is left anywhere in the chunk.
    #[test]
    fn no_message_escapes_its_script() {
        let mut frame = String::new();
        message_frame(
            ["</script><script>alert(1)</script>", "\u{2028}"],
            &mut frame,
        );
        for wrap in [Wrap::Htmlfile, Wrap::Jsonp("cb".into())] {
            let chunk = wrap.to_string(&frame);
            let inner = chunk
                .trim_start_matches("/**/cb(")
                .trim_start_matches("<script>\np(");
            let inner = &inner[..inner.find(");").unwrap()];
            assert!(!inner.contains('<'), "{chunk}");
            assert!(!inner.contains('\u{2028}'), "{chunk}");
        }
    }

    #[test]
    fn preludes() {
        let xhr = prelude(SessionTransport::XhrStreaming, "");
        assert_eq!(xhr.len(), 2049);
        assert!(xhr.ends_with("hh\n"));
        assert_eq!(prelude(SessionTransport::EventSource, ""), "\r\n");
        let html = prelude(SessionTransport::Htmlfile, "cb");
        assert!(html.len() > 1024);
        assert!(html.contains("var c = parent.cb;"));
        assert_eq!(prelude(SessionTransport::Xhr, ""), "");
    }
}
