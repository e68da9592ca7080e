//! The names of the four transports and the set of those switched on.

use std::fmt;

/// A transport that can carry a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// Native WebSocket: full duplex, one packet per frame.
    WebSocket,
    /// Multipart XHR streaming down, POST up (extension).
    XhrStreaming,
    /// A forever-iframe of `<script>` chunks down, POST up (extension).
    Htmlfile,
    /// Long-polling GET down, POST up.
    Polling,
    /// A SockJS transport (see [`SockJs`](crate::SockJs)); never in a
    /// [`TransportSet`], never named in `transport=`.
    SockJs(crate::SockJsTransport),
}

impl Transport {
    /// All transports, best first.
    pub const ALL: [Transport; 4] = [
        Self::WebSocket,
        Self::XhrStreaming,
        Self::Htmlfile,
        Self::Polling,
    ];

    /// The name used in the `transport=` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebSocket => "websocket",
            Self::XhrStreaming => "xhr-streaming",
            Self::Htmlfile => "htmlfile",
            Self::Polling => "polling",
            Self::SockJs(transport) => transport.as_str(),
        }
    }

    /// The transport with this query name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether this is one of the two streaming extension transports.
    pub fn is_streaming(self) -> bool {
        matches!(self, Self::XhrStreaming | Self::Htmlfile)
    }

    /// Whether stock Engine.IO clients know this transport.
    pub fn is_eio4(self) -> bool {
        matches!(self, Self::WebSocket | Self::Polling)
    }

    fn bit(self) -> u8 {
        match self {
            Self::WebSocket => 1,
            Self::XhrStreaming => 2,
            Self::Htmlfile => 4,
            Self::Polling => 8,
            Self::SockJs(_) => 0,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of transports, as switched on in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportSet(u8);

impl TransportSet {
    /// All four transports.
    pub fn all() -> Self {
        Self(0b1111)
    }

    /// No transport.
    pub fn empty() -> Self {
        Self(0)
    }

    /// Whether `transport` is in the set.
    pub fn contains(self, transport: Transport) -> bool {
        self.0 & transport.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set with `transport` added.
    pub fn with(self, transport: Transport) -> Self {
        Self(self.0 | transport.bit())
    }

    /// The set with `transport` removed.
    pub fn without(self, transport: Transport) -> Self {
        Self(self.0 & !transport.bit())
    }
}

impl Default for TransportSet {
    fn default() -> Self {
        Self::all()
    }
}

impl FromIterator<Transport> for TransportSet {
    fn from_iter<I: IntoIterator<Item = Transport>>(iter: I) -> Self {
        iter.into_iter().fold(Self::empty(), Self::with)
    }
}
