//! The SockJS endpoint: sockjs-client (1.x, protocol 0.3.3) connects to the
//! same server, the same `on_connect`, rooms and broadcast as Engine.IO
//! and Polysock clients.
//!
//! ```no_run
//! use axum::Router;
//! use polysock::{Polysock, SockJs};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let realtime = Polysock::builder()
//!     .on_connect(|mut socket| async move {
//!         // socket.transport() is e.g. Transport::SockJs(SockJsTransport::XhrStreaming)
//!         while let Some(message) = socket.recv().await {
//!             let _ = socket.send(message).await;
//!         }
//!     })
//!     .build()?;
//! let sockjs = SockJs::builder(&realtime)
//!     .heartbeat_delay(Duration::from_secs(25))
//!     .disconnect_delay(Duration::from_secs(5))
//!     .build()?;
//! let app = Router::new()
//!     .nest_service("/engine.io", realtime.service())
//!     .nest_service("/sockjs", sockjs.service());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! polysock::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! How a request flows: [`SockJsService`] routes by path
//! ([`protocol::sockjs::route`](crate::protocol::sockjs::route)); the
//! receiving transports (`receive`) and the WebSocket ones (`websocket`)
//! frame what the session hands them; everything that touches the session
//! layer is in `seam`, the one file to port when that layer changes.
//! `protocol-spec/12-sockjs.md` is the normative text.

mod http;
mod receive;
mod seam;
mod service;
mod websocket;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use service::SockJsService;

use crate::Polysock;

/// The SockJS transport carrying a socket, as [`Socket::transport`](crate::Socket::transport)
/// reports it inside [`Transport::SockJs`](crate::Transport::SockJs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SockJsTransport {
    /// `websocket`: SockJS frames over a WebSocket.
    WebSocket,
    /// `/websocket`: a raw WebSocket, one message per frame, no framing.
    RawWebSocket,
    /// `xhr_streaming` (sockjs-client's `xhr-streaming`, `xdr-streaming`).
    XhrStreaming,
    /// `xhr` (`xhr-polling`, `xdr-polling`, `iframe-xhr-polling`).
    XhrPolling,
    /// `eventsource` (`eventsource`, `iframe-eventsource`).
    EventSource,
    /// `htmlfile` (`iframe-htmlfile`).
    Htmlfile,
    /// `jsonp` (`jsonp-polling`).
    JsonpPolling,
}

impl SockJsTransport {
    /// The name, prefixed `sockjs-` to tell it from Engine.IO's.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebSocket => "sockjs-websocket",
            Self::RawWebSocket => "sockjs-raw-websocket",
            Self::XhrStreaming => "sockjs-xhr-streaming",
            Self::XhrPolling => "sockjs-xhr-polling",
            Self::EventSource => "sockjs-eventsource",
            Self::Htmlfile => "sockjs-htmlfile",
            Self::JsonpPolling => "sockjs-jsonp-polling",
        }
    }
}

impl fmt::Display for SockJsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The endpoint's settings, named as sockjs-node names them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SockJsOptions {
    /// Bytes of frames after which a streaming response ends (default
    /// 128 KiB); the client opens the next one.
    pub response_limit: usize,
    /// Time between heartbeat frames on an attached receiver (default 25 s).
    pub heartbeat_delay: Duration,
    /// Time a session lives with no receiving request (default 5 s); also
    /// how long a closed session keeps answering with its close frame.
    pub disconnect_delay: Duration,
    /// Send a `JSESSIONID` cookie for load balancers' sticky sessions
    /// (default off).
    pub jsessionid: bool,
    /// Offer the `websocket` transports (default on).
    pub websocket: bool,
    /// The sockjs-client script the iframe page loads.
    pub sockjs_url: String,
}

impl Default for SockJsOptions {
    fn default() -> Self {
        Self {
            response_limit: 128 * 1024,
            heartbeat_delay: Duration::from_secs(25),
            disconnect_delay: Duration::from_secs(5),
            jsessionid: false,
            websocket: true,
            sockjs_url: SockJs::DEFAULT_SOCKJS_URL.to_owned(),
        }
    }
}

/// An option [`SockJsBuilder::build`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SockJsConfigError {
    /// A limit or delay that must be positive was zero.
    Zero(&'static str),
    /// `sockjs_url` is empty, longer than 2 KiB or holds control characters.
    InvalidSockJsUrl,
}

impl fmt::Display for SockJsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zero(name) => write!(f, "{name} must be greater than zero"),
            Self::InvalidSockJsUrl => {
                f.write_str("sockjs_url must be a non-empty URL without control characters")
            }
        }
    }
}

impl std::error::Error for SockJsConfigError {}

/// A SockJS endpoint over a [`Polysock`] server: its sessions are the
/// server's sessions. Cheap to clone.
#[derive(Clone)]
pub struct SockJs {
    endpoint: Arc<seam::Endpoint>,
}

impl SockJs {
    /// Where the iframe page loads sockjs-client from unless told otherwise
    /// (sockjs-node's default is the same CDN).
    pub const DEFAULT_SOCKJS_URL: &'static str =
        "https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js";

    /// A builder for an endpoint of `server`.
    pub fn builder(server: &Polysock) -> SockJsBuilder {
        SockJsBuilder {
            server: server.clone(),
            options: SockJsOptions::default(),
        }
    }

    /// The endpoint as a tower service; mount it with
    /// `Router::nest_service("/prefix", sockjs.service())` and give
    /// sockjs-client the URL of `/prefix`.
    pub fn service(&self) -> SockJsService {
        SockJsService::new(self.endpoint.clone())
    }

    /// The options in force.
    pub fn options(&self) -> &SockJsOptions {
        &self.endpoint.options
    }

    /// SockJS sessions this endpoint holds now (including closed ones still
    /// answering with their close frame); WebSocket sessions are not held
    /// by id and not counted.
    pub fn session_count(&self) -> usize {
        self.endpoint.held()
    }
}

impl fmt::Debug for SockJs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SockJs")
            .field("options", &self.endpoint.options)
            .finish_non_exhaustive()
    }
}

/// Options of a [`SockJs`] endpoint, checked at [`build`](Self::build).
#[derive(Debug)]
pub struct SockJsBuilder {
    server: Polysock,
    options: SockJsOptions,
}

impl SockJsBuilder {
    /// Bytes per streaming response (sockjs-node `response_limit`).
    pub fn response_limit(mut self, bytes: usize) -> Self {
        self.options.response_limit = bytes;
        self
    }

    /// Time between heartbeat frames (sockjs-node `heartbeat_delay`).
    pub fn heartbeat_delay(mut self, delay: Duration) -> Self {
        self.options.heartbeat_delay = delay;
        self
    }

    /// Time a session survives without a receiving request (sockjs-node
    /// `disconnect_delay`).
    pub fn disconnect_delay(mut self, delay: Duration) -> Self {
        self.options.disconnect_delay = delay;
        self
    }

    /// Whether to set the `JSESSIONID` cookie (sockjs-node `jsessionid`).
    pub fn jsessionid(mut self, on: bool) -> Self {
        self.options.jsessionid = on;
        self
    }

    /// Whether to offer WebSocket (sockjs-node `websocket`).
    pub fn websocket(mut self, on: bool) -> Self {
        self.options.websocket = on;
        self
    }

    /// The sockjs-client URL in the iframe page (sockjs-node `sockjs_url`).
    pub fn sockjs_url(mut self, url: impl Into<String>) -> Self {
        self.options.sockjs_url = url.into();
        self
    }

    /// Checks the options and makes the endpoint.
    pub fn build(self) -> Result<SockJs, SockJsConfigError> {
        let options = self.options;
        if options.response_limit == 0 {
            return Err(SockJsConfigError::Zero("response_limit"));
        }
        if options.heartbeat_delay.is_zero() {
            return Err(SockJsConfigError::Zero("heartbeat_delay"));
        }
        if options.disconnect_delay.is_zero() {
            return Err(SockJsConfigError::Zero("disconnect_delay"));
        }
        let url = &options.sockjs_url;
        if url.is_empty() || url.len() > 2048 || url.chars().any(char::is_control) {
            return Err(SockJsConfigError::InvalidSockJsUrl);
        }
        Ok(SockJs {
            endpoint: Arc::new(seam::Endpoint::new(self.server.engine.clone(), options)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Polysock {
        Polysock::builder()
            .on_connect(|_socket| async {})
            .build()
            .unwrap()
    }

    #[test]
    fn build_checks_every_option() {
        let server = server();
        assert!(SockJs::builder(&server).build().is_ok());
        let zero = Duration::ZERO;
        assert_eq!(
            SockJs::builder(&server).response_limit(0).build().err(),
            Some(SockJsConfigError::Zero("response_limit"))
        );
        assert_eq!(
            SockJs::builder(&server).heartbeat_delay(zero).build().err(),
            Some(SockJsConfigError::Zero("heartbeat_delay"))
        );
        assert_eq!(
            SockJs::builder(&server)
                .disconnect_delay(zero)
                .build()
                .err(),
            Some(SockJsConfigError::Zero("disconnect_delay"))
        );
        for bad in ["", "/a\nb", &"x".repeat(2049)] {
            assert_eq!(
                SockJs::builder(&server).sockjs_url(bad).build().err(),
                Some(SockJsConfigError::InvalidSockJsUrl)
            );
        }
        let built = SockJs::builder(&server)
            .jsessionid(true)
            .websocket(false)
            .response_limit(4096)
            .build()
            .unwrap();
        assert!(built.options().jsessionid);
        assert!(!built.options().websocket);
        assert_eq!(built.options().response_limit, 4096);
    }
}
