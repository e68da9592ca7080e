//! The handshake hook: the application's chance to look at a new client's
//! request (cookies, tokens, origin) and accept or refuse it.
//!
//! ```
//! use polysock::{Accept, Handshake, Polysock, Refuse};
//!
//! #[derive(Clone)]
//! struct User(String);
//!
//! let server = Polysock::builder()
//!     .on_handshake(|handshake: Handshake| async move {
//!         match handshake.headers().get("x-token").and_then(|v| v.to_str().ok()) {
//!             Some(token) if token.starts_with("secret-") => {
//!                 Ok(Accept::new().insert(User(token[7..].to_owned())))
//!             }
//!             _ => Err(Refuse::new("missing or bad token")),
//!         }
//!     })
//!     .on_connect(|socket| async move {
//!         let user = socket.request().extensions().get::<User>().cloned();
//!         drop((socket, user));
//!     })
//!     .build()
//!     .unwrap();
//! # drop(server);
//! ```

use std::fmt;
use std::net::SocketAddr;

use http::{Extensions, HeaderMap, Uri};

use crate::Transport;

/// A new client's handshake request, as the hook sees it.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) remote_addr: Option<SocketAddr>,
    pub(crate) transport: Transport,
    pub(crate) protocols: Vec<String>,
}

impl Handshake {
    /// The request URI, with its query string.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The client's address, when the server records it: [`serve`](crate::serve)
    /// does, and so does axum's
    /// `into_make_service_with_connect_info::<SocketAddr>()`.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// The transport the client opens on.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The subprotocols the client asked for, in its order of preference.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }
}

/// The hook's yes, with anything the socket should carry.
#[derive(Debug, Clone, Default)]
pub struct Accept {
    pub(crate) extensions: Extensions,
    pub(crate) protocol: Option<String>,
}

impl Accept {
    /// Accept the client.
    pub fn new() -> Self {
        Self::default()
    }

    /// Attach a value (an authenticated user, a tenant...) that the socket
    /// exposes through [`RequestInfo::extensions`](crate::RequestInfo::extensions).
    pub fn insert<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.extensions.insert(value);
        self
    }

    /// Choose the subprotocol instead of the default rule (the first one the
    /// client listed that the server speaks). It should be one the client
    /// asked for.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }
}

/// The hook's no: the client gets 403 with the protocol's `Forbidden` error.
#[derive(Clone, PartialEq, Eq)]
pub struct Refuse {
    reason: String,
}

impl Refuse {
    /// Refuse, with a reason for the server's logs (not sent to the client).
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The reason given.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Debug for Refuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Refuse").field(&self.reason).finish()
    }
}
