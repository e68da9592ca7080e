//! Configuration: every limit and interval, with defaults that work, checked
//! once by [`Builder::build`](crate::Builder::build).

use std::fmt;
use std::time::Duration;

use crate::{OriginPolicy, TransportSet};

/// Validated settings of a [`Polysock`](crate::Polysock) server.
///
/// Built through [`Builder`](crate::Builder); the defaults are those of
/// Engine.IO where it has one, and bounded everywhere else.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Time between server pings (default 25 s).
    pub ping_interval: Duration,
    /// Time the server waits for a pong before closing (default 20 s).
    pub ping_timeout: Duration,
    /// Largest POST body and WebSocket message, in bytes (default 1,000,000).
    pub max_payload: usize,
    /// Outbound messages a session holds (queued or being written) before
    /// `send` waits (default 1,024).
    pub max_queued_packets: usize,
    /// Bytes of outbound messages a session holds (queued or being written)
    /// before `send` waits (default 32 KiB). A larger message is admitted
    /// when the session holds nothing else.
    pub max_queued_bytes: usize,
    /// Inbound messages buffered per session before the transport waits for
    /// the application to `recv` (default 256).
    pub max_inbound_messages: usize,
    /// Bytes of inbound messages buffered per session before the transport
    /// waits for the application to `recv` (default 32 KiB). A larger
    /// message passes when nothing else waits.
    pub max_inbound_bytes: usize,
    /// How long a session's outbound queue may stay full with nothing
    /// delivered before the session is closed with 1008 "send queue full"
    /// (default 30 s).
    pub send_queue_grace: Duration,
    /// How long a polling session may wait for the request after its
    /// handshake before it is closed as abandoned (default 10 s).
    pub first_request_timeout: Duration,
    /// Sessions open at once; handshakes past it are refused (default 100,000).
    pub max_sessions: usize,
    /// Sessions one client (by address, or by the key the application's
    /// [`client_key`](crate::Builder::client_key) extracts) may hold at once
    /// (default: a tenth of `max_sessions`).
    pub max_sessions_per_client: usize,
    /// Time for a WebSocket upgrade to complete after the probe (default 10 s).
    pub upgrade_timeout: Duration,
    /// Time for a POST body to arrive in full (default 10 s).
    pub body_timeout: Duration,
    /// Bytes after which a streaming response is ended (default 128 KiB).
    pub response_limit: usize,
    /// Whether polling and streaming responses are compressed (gzip or
    /// deflate, as the client accepts) once they reach
    /// `compression_threshold` (default on, as Engine.IO's `httpCompression`).
    pub compression: bool,
    /// Bytes from which a polling payload, or one chunk of a streaming
    /// response, is compressed (default 1 KiB; smaller chunks of a
    /// compressed stream are stored, not compressed).
    pub compression_threshold: usize,
    /// Transports switched on (default all four).
    pub transports: TransportSet,
    /// Subprotocols the server speaks, in its order of preference.
    pub protocols: Vec<String>,
    /// Origins allowed to connect (default: same origin only).
    pub origins: OriginPolicy,
    /// Whether CORS answers allow credentials (cookies) cross-origin
    /// (default false).
    pub cors_credentials: bool,
    /// How long a resume session whose transport was lost waits, suspended,
    /// for its client to resume (protocol-spec 11); `Duration::ZERO` turns
    /// resume off. Default 60 s: a client notices a dead connection within
    /// `ping_interval + ping_timeout` (45 s by default) or at once from a
    /// network event, and phone handovers, a laptop lid closed for a moment
    /// or a proxy that cut an idle stream come back well within a minute;
    /// a suspended session holds up to `max_queued_bytes` (32 KiB) of
    /// queued messages, its retained copies (`resume_buffer_bytes`) and its
    /// place in the session table, so a window much longer (socket.io uses
    /// two minutes) would mostly keep memory for clients that are not coming
    /// back. At most one hour.
    pub resume_window: Duration,
    /// Written messages a resume session keeps until its client
    /// acknowledges them, to send again after a loss (default 4,096).
    /// Retention has its own bound, apart from the queue's: a written
    /// message leaves `max_queued_packets` at once. Past it the oldest
    /// copies are dropped; a resume that would need one is refused
    /// (`resume_overflow`) and the session closes with
    /// [`CloseReason::ResumeOverflow`](crate::CloseReason::ResumeOverflow).
    pub resume_buffer_messages: usize,
    /// Bytes of those copies a resume session keeps (default 1 MiB),
    /// counted as `max_queued_bytes` counts them. One message larger than
    /// this is kept alone (every older copy is dropped for it), so any
    /// message up to `max_payload` can be replayed.
    pub resume_buffer_bytes: usize,
    /// This node's id in a cluster (default none): session ids start with
    /// it and a dot, so that any node can route a request for the session
    /// here (see [`NodeDirectory`](crate::NodeDirectory)).
    pub node_id: Option<String>,
    /// Time to connect to another node when forwarding a request for one of
    /// its sessions (default 2 s); past it the client is told the session
    /// is unknown.
    pub forward_connect_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            max_payload: 1_000_000,
            max_queued_packets: 1024,
            max_queued_bytes: 32 * 1024,
            max_inbound_messages: 256,
            max_inbound_bytes: 32 * 1024,
            send_queue_grace: Duration::from_secs(30),
            first_request_timeout: Duration::from_secs(10),
            max_sessions: 100_000,
            max_sessions_per_client: 10_000,
            upgrade_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            response_limit: 128 * 1024,
            compression: true,
            compression_threshold: 1024,
            transports: TransportSet::all(),
            protocols: Vec::new(),
            origins: OriginPolicy::SameOrigin,
            cors_credentials: false,
            resume_window: Duration::from_secs(60),
            resume_buffer_messages: 4096,
            resume_buffer_bytes: 1024 * 1024,
            node_id: None,
            forward_connect_timeout: Duration::from_secs(2),
        }
    }
}

impl Config {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let checks = [
            (
                self.ping_interval.is_zero(),
                ConfigError::Zero("ping_interval"),
            ),
            (
                self.ping_timeout.is_zero(),
                ConfigError::Zero("ping_timeout"),
            ),
            (
                self.upgrade_timeout.is_zero(),
                ConfigError::Zero("upgrade_timeout"),
            ),
            (
                self.body_timeout.is_zero(),
                ConfigError::Zero("body_timeout"),
            ),
            (
                self.max_queued_packets == 0,
                ConfigError::Zero("max_queued_packets"),
            ),
            (
                self.max_inbound_messages == 0,
                ConfigError::Zero("max_inbound_messages"),
            ),
            (self.max_sessions == 0, ConfigError::Zero("max_sessions")),
            (
                self.max_sessions_per_client == 0,
                ConfigError::Zero("max_sessions_per_client"),
            ),
            (
                self.max_queued_bytes == 0,
                ConfigError::Zero("max_queued_bytes"),
            ),
            (
                self.max_inbound_bytes == 0,
                ConfigError::Zero("max_inbound_bytes"),
            ),
            (
                self.max_inbound_bytes > u32::MAX as usize,
                ConfigError::TooLarge("max_inbound_bytes"),
            ),
            (
                self.send_queue_grace.is_zero(),
                ConfigError::Zero("send_queue_grace"),
            ),
            (
                self.first_request_timeout.is_zero(),
                ConfigError::Zero("first_request_timeout"),
            ),
            (
                self.response_limit == 0,
                ConfigError::Zero("response_limit"),
            ),
            (
                self.max_payload < MIN_PAYLOAD,
                ConfigError::MaxPayloadTooSmall(self.max_payload),
            ),
            (self.transports.is_empty(), ConfigError::NoTransports),
            (
                self.resume_window > MAX_RESUME_WINDOW,
                ConfigError::TooLarge("resume_window"),
            ),
            (
                self.resume_buffer_messages == 0,
                ConfigError::Zero("resume_buffer_messages"),
            ),
            (
                self.resume_buffer_bytes == 0,
                ConfigError::Zero("resume_buffer_bytes"),
            ),
            (
                self.forward_connect_timeout.is_zero(),
                ConfigError::Zero("forward_connect_timeout"),
            ),
        ];
        if let Some((_, error)) = checks.into_iter().find(|(failed, _)| *failed) {
            return Err(error);
        }
        if self.cors_credentials && self.origins == OriginPolicy::Any {
            return Err(ConfigError::CredentialsWithAnyOrigin);
        }
        if let Some(id) = &self.node_id {
            if !crate::cluster::sid::is_valid_node_id(id) {
                return Err(ConfigError::InvalidNodeId(id.clone()));
            }
        }
        if let Some(bad) = self.protocols.iter().find(|p| !is_token(p)) {
            return Err(ConfigError::InvalidProtocol(bad.clone()));
        }
        if let OriginPolicy::List(origins) = &self.origins {
            if let Some(bad) = origins
                .iter()
                .find(|o| !crate::origin::is_serialized_origin(o))
            {
                return Err(ConfigError::InvalidOrigin(bad.clone()));
            }
        }
        Ok(())
    }

    /// The negotiated subprotocol: the first the client listed that the
    /// server speaks.
    pub(crate) fn select_protocol<'a>(
        &self,
        requested: impl IntoIterator<Item = &'a str>,
    ) -> Option<String> {
        requested
            .into_iter()
            .map(str::trim)
            .find(|candidate| self.protocols.iter().any(|p| p == candidate))
            .map(str::to_owned)
    }
}

/// The longest resume window accepted: suspended sessions hold memory and
/// a place in the table for that long.
const MAX_RESUME_WINDOW: Duration = Duration::from_secs(3600);

/// The smallest `max_payload` accepted: room for an open packet.
const MIN_PAYLOAD: usize = 256;

/// Whether `s` is an RFC 7230 token, as subprotocol names must be.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A configuration that [`Builder::build`](crate::Builder::build) refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A duration or count that must be positive was zero.
    Zero(&'static str),
    /// `max_payload` below 256 bytes.
    MaxPayloadTooSmall(usize),
    /// Every transport switched off.
    NoTransports,
    /// A subprotocol name that is not an RFC 7230 token.
    InvalidProtocol(String),
    /// A value over what it may be (`max_inbound_bytes` above 4 GiB,
    /// `resume_window` above an hour).
    TooLarge(&'static str),
    /// An allowed origin that is not `scheme://host[:port]` (as browsers
    /// send it in `Origin`: no path, no trailing slash).
    InvalidOrigin(String),
    /// No connect handler was given.
    MissingConnectHandler,
    /// Credentials allowed for any origin: every site could act as the user.
    CredentialsWithAnyOrigin,
    /// A node id that is not 1 to 24 of `A-Z a-z 0-9 _ -`.
    InvalidNodeId(String),
    /// A node directory without a node id, or without a cluster secret, or
    /// a secret that is empty or not visible ASCII.
    IncompleteCluster(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zero(name) => write!(f, "{name} must be greater than zero"),
            Self::MaxPayloadTooSmall(n) => {
                write!(f, "max_payload {n} is below the minimum of {MIN_PAYLOAD}")
            }
            Self::NoTransports => f.write_str("at least one transport must be enabled"),
            Self::InvalidProtocol(p) => write!(f, "subprotocol {p:?} is not a valid token"),
            Self::TooLarge(name) => write!(f, "{name} is larger than it may be"),
            Self::InvalidOrigin(o) => write!(
                f,
                "allowed origin {o:?} is not scheme://host[:port] (for example https://app.example)"
            ),
            Self::MissingConnectHandler => f.write_str("no on_connect handler was given"),
            Self::InvalidNodeId(id) => {
                write!(f, "node id {id:?} is not 1 to 24 of A-Z a-z 0-9 _ -")
            }
            Self::IncompleteCluster(what) => write!(f, "cluster: {what}"),
            Self::CredentialsWithAnyOrigin => f.write_str(
                "cors_credentials with allow_any_origin would let every site act as the user",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn rejects_nonsense() {
        let config = Config {
            ping_interval: Duration::ZERO,
            ..Config::default()
        };
        assert_eq!(config.validate(), Err(ConfigError::Zero("ping_interval")));
        let config = Config {
            protocols: vec!["chat room".into()],
            ..Config::default()
        };
        assert!(matches!(
            config.validate(),
            Err(ConfigError::InvalidProtocol(_))
        ));
        let config = Config {
            transports: TransportSet::empty(),
            ..Config::default()
        };
        assert_eq!(config.validate(), Err(ConfigError::NoTransports));
        let config = Config {
            resume_window: Duration::from_secs(3601),
            ..Config::default()
        };
        assert_eq!(
            config.validate(),
            Err(ConfigError::TooLarge("resume_window"))
        );
        let config = Config {
            resume_window: Duration::ZERO,
            ..Config::default()
        };
        assert_eq!(config.validate(), Ok(()), "zero turns resume off");
        let config = Config {
            resume_buffer_messages: 0,
            ..Config::default()
        };
        assert_eq!(
            config.validate(),
            Err(ConfigError::Zero("resume_buffer_messages"))
        );
        let config = Config {
            resume_buffer_bytes: 0,
            ..Config::default()
        };
        assert_eq!(
            config.validate(),
            Err(ConfigError::Zero("resume_buffer_bytes"))
        );
        for bad in [
            "app.example",
            "https://app.example/",
            "https://app.example/path",
            "//x",
        ] {
            let config = Config {
                origins: OriginPolicy::List(vec![bad.into()]),
                ..Config::default()
            };
            assert_eq!(
                config.validate(),
                Err(ConfigError::InvalidOrigin(bad.into())),
                "{bad}"
            );
        }
        let config = Config {
            origins: OriginPolicy::List(vec!["https://app.example:8443".into()]),
            ..Config::default()
        };
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn protocol_selection_follows_client_order() {
        let config = Config {
            protocols: vec!["chat".into(), "superchat".into()],
            ..Config::default()
        };
        assert_eq!(
            config.select_protocol(["superchat", "chat"]),
            Some("superchat".into())
        );
        assert_eq!(config.select_protocol(["other"]), None);
    }
}
