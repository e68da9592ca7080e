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

use bytes::Bytes;
use http::{Extensions, HeaderMap, HeaderValue, Uri};

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

/// What a socket remembers of its handshake request.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) remote_addr: Option<SocketAddr>,
    pub(crate) extensions: Extensions,
}

impl RequestInfo {
    /// What a session keeps of its handshake, in allocations of its own.
    /// hyper parses the URI and header values as slices of the
    /// connection's read buffer (8 KiB or more), so keeping them for a
    /// session's life would keep that whole buffer alive for every idle
    /// socket.
    pub(crate) fn detached(handshake: Handshake, extensions: Extensions) -> Self {
        Self {
            uri: detached_uri(handshake.uri),
            headers: detached_headers(handshake.headers),
            remote_addr: handshake.remote_addr,
            extensions,
        }
    }

    /// The handshake request's URI (path and query).
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The handshake request's headers (cookies, authorization, origin...).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The client's address, when the server was started with
    /// [`serve`](crate::serve) or with axum's
    /// `into_make_service_with_connect_info::<SocketAddr>()`.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// Values the handshake hook attached (an authenticated user, ...).
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }
}

/// A copy of `uri` in its own allocation (see [`RequestInfo::detached`]).
fn detached_uri(uri: Uri) -> Uri {
    Uri::from_maybe_shared(Bytes::from(uri.to_string())).unwrap_or(uri)
}

/// A copy of `headers` whose values own their bytes.
fn detached_headers(headers: HeaderMap) -> HeaderMap {
    let mut owned = HeaderMap::with_capacity(headers.len());
    for (name, value) in &headers {
        let mut copy = HeaderValue::from_maybe_shared(Bytes::copy_from_slice(value.as_bytes()))
            .unwrap_or_else(|_| value.clone());
        copy.set_sensitive(value.is_sensitive());
        owned.append(name.clone(), copy);
    }
    owned
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `inner` points into `outer`'s bytes.
    fn shares(outer: &Bytes, inner: &[u8]) -> bool {
        let range = outer.as_ptr_range();
        range.contains(&inner.as_ptr())
    }

    #[test]
    fn session_request_info_does_not_pin_the_read_buffer() {
        let buffer =
            Bytes::from(b"/engine.io/?EIO=4&transport=websocket token=abc; theme=dark".to_vec());
        let uri = Uri::from_maybe_shared(buffer.slice(..37)).unwrap();
        let mut headers = HeaderMap::new();
        let mut cookie = HeaderValue::from_maybe_shared(buffer.slice(38..)).unwrap();
        cookie.set_sensitive(true);
        headers.insert(http::header::COOKIE, cookie);
        assert!(shares(&buffer, headers[http::header::COOKIE].as_bytes()));

        let headers = detached_headers(headers);
        let uri = detached_uri(uri);
        let cookie = &headers[http::header::COOKIE];
        assert_eq!(cookie, "token=abc; theme=dark");
        assert!(cookie.is_sensitive());
        assert!(!shares(&buffer, cookie.as_bytes()));
        assert_eq!(uri, "/engine.io/?EIO=4&transport=websocket");
        assert!(!shares(&buffer, uri.path().as_bytes()));
    }
}
