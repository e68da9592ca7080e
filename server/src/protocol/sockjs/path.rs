//! The URL grammar under a SockJS prefix.
//!
//! ```text
//! /  or  (empty)                    greeting
//! /info                             server capabilities
//! /iframe.html, /iframe-V.html      the iframe page (V: [0-9a-z._-]*)
//! /websocket                        raw WebSocket, no SockJS framing
//! /<server>/<session>/<transport>   a session's transport; server and
//!                                   session are [^/.]+, at most MAX_ID_LEN
//! ```
//!
//! Paths are matched as sent (still percent-encoded): the ids are opaque.

/// Longest `<server>` or `<session>` id accepted. sockjs-client sends 3 and
/// 8 characters; sockjs-node sets no bound.
pub const MAX_ID_LEN: usize = 128;

/// What a path under the prefix names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/`: the greeting.
    Greeting,
    /// `/info`.
    Info,
    /// The iframe page, any version.
    Iframe,
    /// `/websocket`: a raw WebSocket.
    RawWebSocket,
    /// A session transport.
    Session {
        /// The load balancer's part, ignored by the server.
        server: &'a str,
        /// The session id the client chose.
        session: &'a str,
        /// Which transport.
        transport: SessionTransport,
    },
    /// Anything else: 404.
    NotFound,
}

/// The transports and send URLs of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionTransport {
    /// `websocket`: SockJS frames over a WebSocket.
    WebSocket,
    /// `xhr`: polling, one response per frame.
    Xhr,
    /// `xhr_send`: messages up, for every transport but JSONP.
    XhrSend,
    /// `xhr_streaming`: one long response of frames.
    XhrStreaming,
    /// `eventsource`: server-sent events.
    EventSource,
    /// `htmlfile`: a forever-iframe of script blocks.
    Htmlfile,
    /// `jsonp`: polling through `<script>` tags.
    Jsonp,
    /// `jsonp_send`: messages up for JSONP (a form POST).
    JsonpSend,
}

impl SessionTransport {
    /// The name in the URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebSocket => "websocket",
            Self::Xhr => "xhr",
            Self::XhrSend => "xhr_send",
            Self::XhrStreaming => "xhr_streaming",
            Self::EventSource => "eventsource",
            Self::Htmlfile => "htmlfile",
            Self::Jsonp => "jsonp",
            Self::JsonpSend => "jsonp_send",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "websocket" => Self::WebSocket,
            "xhr" => Self::Xhr,
            "xhr_send" => Self::XhrSend,
            "xhr_streaming" => Self::XhrStreaming,
            "eventsource" => Self::EventSource,
            "htmlfile" => Self::Htmlfile,
            "jsonp" => Self::Jsonp,
            "jsonp_send" => Self::JsonpSend,
            _ => return None,
        })
    }

    /// Whether this URL carries messages up rather than frames down.
    pub fn is_send(self) -> bool {
        matches!(self, Self::XhrSend | Self::JsonpSend)
    }
}

/// What `path` (under the prefix) names.
pub fn route(path: &str) -> Route<'_> {
    match path {
        "" | "/" => return Route::Greeting,
        "/info" => return Route::Info,
        "/websocket" => return Route::RawWebSocket,
        _ => {}
    }
    if let Some(version) = path
        .strip_prefix("/iframe")
        .and_then(|rest| rest.strip_suffix(".html"))
    {
        let versioned = version.is_empty()
            || version.strip_prefix('-').is_some_and(|v| {
                v.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b"._-".contains(&b))
            });
        return if versioned {
            Route::Iframe
        } else {
            Route::NotFound
        };
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Route::NotFound;
    };
    let mut parts = rest.split('/');
    let (Some(server), Some(session), Some(name), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::NotFound;
    };
    let valid_id = |id: &str| !id.is_empty() && id.len() <= MAX_ID_LEN && !id.contains('.');
    match SessionTransport::from_name(name) {
        Some(transport) if valid_id(server) && valid_id(session) => Route::Session {
            server,
            session,
            transport,
        },
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_urls() {
        assert_eq!(route(""), Route::Greeting);
        assert_eq!(route("/"), Route::Greeting);
        assert_eq!(route("/info"), Route::Info);
        assert_eq!(route("/websocket"), Route::RawWebSocket);
        for iframe in [
            "/iframe.html",
            "/iframe-a.html",
            "/iframe-.html",
            "/iframe-0.1.2.html",
            "/iframe-0.1.2abc-dirty.2144.html",
        ] {
            assert_eq!(route(iframe), Route::Iframe, "{iframe}");
        }
        for missing in [
            "//",
            "///",
            "/a",
            "/a.html",
            "/a/a",
            "/a/a/",
            "/a/",
            "/iframe.htm",
            "/iframe",
            "/IFRAME.HTML",
            "/iframe.HTML",
            "/iframe.xml",
            "/iframe-/.html",
            "/iframeX.html",
            "/info/",
            "/websocket/",
        ] {
            assert_eq!(route(missing), Route::NotFound, "{missing}");
        }
    }

    #[test]
    fn session_urls() {
        assert_eq!(
            route("/000/abc/xhr"),
            Route::Session {
                server: "000",
                session: "abc",
                transport: SessionTransport::Xhr
            }
        );
        assert!(matches!(
            route("/abcdefgh_i-j%20/abcdefg_i-j%20x/jsonp_send"),
            Route::Session {
                transport: SessionTransport::JsonpSend,
                ..
            }
        ));
        for bad in [
            "//xhr",
            "/a./a/xhr",
            "/a/a./xhr",
            "/./././xhr",
            "/a/xhr",
            "/a/a/a/xhr",
            "/a/a/nope",
            "/a//xhr",
            "/../a/xhr",
            "/a/a/xhr/",
        ] {
            assert_eq!(route(bad), Route::NotFound, "{bad}");
        }
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert_eq!(route(&format!("/0/{long}/xhr")), Route::NotFound);
        let longest = "x".repeat(MAX_ID_LEN);
        assert!(matches!(
            route(&format!("/0/{longest}/xhr")),
            Route::Session { .. }
        ));
    }
}
