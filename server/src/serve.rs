//! [`serve`]: an HTTP/1.1 server for an axum app (or any tower service)
//! that enforces the request-head limits of `protocol-spec/10-limits.md`
//! §10.2, which `axum::serve` does not; with [`Serve::tls`] (feature
//! `tls`, on by default) it serves HTTPS with HTTP/2 and HTTP/1.1 chosen by
//! ALPN.
//!
//! `axum::serve` sets no request-head timeout, so a client that sends its
//! head one byte per second (slowloris) keeps its connection, and the task
//! and buffer behind it, forever. [`serve`] runs hyper's HTTP/1.1 connection
//! directly with a timer and these bounds:
//!
//! | bound | default | at the bound |
//! |---|---|---|
//! | request head timeout | 10 s | connection closed, no response |
//! | request head size (request line and headers) | 16 KiB | `431`, connection closed |
//! | number of headers | 100 | `431`, connection closed |
//!
//! It also sets `TCP_NODELAY` on every connection, keeps HTTP upgrades
//! working (the WebSocket transport needs them), inserts the peer address as
//! axum's [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo) so that
//! [`Handshake::remote_addr`](crate::Handshake::remote_addr) and
//! [`RequestInfo::remote_addr`](crate::RequestInfo::remote_addr) are set,
//! retries failed accepts (out of file descriptors, say) with a short
//! back-off instead of stopping, and shuts down gracefully.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use axum::Router;
//! use polysock::Polysock;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let realtime = Polysock::builder()
//!     .on_connect(|mut socket| async move {
//!         while let Some(message) = socket.recv().await {
//!             let _ = socket.send(message).await;
//!         }
//!     })
//!     .build()?;
//! let app = Router::new().nest_service("/engine.io", realtime.service());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! polysock::serve(listener, app)
//!     .with_graceful_shutdown(async move {
//!         let _ = tokio::signal::ctrl_c().await;
//!         // Sockets first (close 1001), then the HTTP server.
//!         realtime.shutdown(Duration::from_secs(5)).await;
//!     })
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! Shutdown, once the signal future completes:
//!
//! ```text
//!  signal done ──> stop accepting, close the listener
//!              ──> every connection: finish the request in progress, then close
//!                  (idle keep-alive connections close at once)
//!              ──> after the drain timeout: close whatever is still open
//!              ──> the serve future returns Ok(())
//! ```
//!
//! Connections already upgraded to WebSocket are no longer HTTP connections
//! and are not waited for; close them with
//! [`Polysock::shutdown`](crate::Polysock::shutdown) inside the signal
//! future, as above.
//!
//! ## TLS and HTTP/2
//!
//! Browsers open at most six HTTP/1.1 connections per host, shared by every
//! tab of the origin. A polling or streaming socket keeps one request
//! waiting at all times, so on HTTP/1.1 a seventh such socket (another tab,
//! or 25 sockets on one page behind a proxy that blocks WebSocket) waits
//! for a free connection and its uploads starve. Over HTTP/2 every request
//! to the origin is a stream of one connection, so they all proceed.
//! Browsers speak HTTP/2 only over TLS, hence [`Serve::tls`]:
//!
//! ```text
//!  TCP accept ──> TLS handshake (bounded by the head timeout)
//!     ALPN "h2"        ──> HTTP/2: every request a stream, at most
//!                          max_concurrent_streams (default 256) at a time
//!     ALPN "http/1.1"  ──> HTTP/1.1 as without TLS, upgrades included
//!     (or none)            (WebSocket: browsers open it over HTTP/1.1)
//! ```
//!
//! The protocol is picked from ALPN, not by sniffing the first bytes (what
//! hyper-util's auto builder does with upgrades on), so the head timeout
//! bounds every connection from its first byte. HTTP/2 has no request-head
//! timeout of its own: the TLS handshake is bounded, the header list is
//! limited to [`max_header_size`](Serve::max_header_size), and idle peers
//! are pinged every 20 s and dropped when they do not answer within 20 s.
//!
//! ```no_run
//! # async fn run(app: axum::Router) -> std::io::Result<()> {
//! let cert = std::fs::read("cert.pem")?;
//! let key = std::fs::read("key.pem")?;
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
//! polysock::serve(listener, app).tls_pem(&cert, &key)?.await
//! # }
//! ```
//!
//! Behind a TLS-terminating proxy that speaks HTTP/2 to browsers (nginx
//! does, to an HTTP/1.1 upstream) the plain server is all that is needed.

use std::error::Error as StdError;
use std::fmt;
use std::future::{poll_fn, Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::rt::{Read, Write};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

type BoxError = Box<dyn StdError + Send + Sync>;
type Signal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Shortest and longest pause after an accept error that is not about one
/// connection (out of file descriptors, out of memory).
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Connections a listener made by [`bind`] queues before they are accepted.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds a listener for [`serve`] with a backlog of [`LISTEN_BACKLOG`]
/// connections. `TcpListener::bind` listens with 1,024: when thousands of
/// clients reconnect at once (after a deploy) the kernel drops the SYNs
/// past it and each of those clients waits a one-second retransmit. The
/// kernel caps the backlog at `net.core.somaxconn`. Call it inside a tokio
/// runtime.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let listener = polysock::bind("127.0.0.1:3000".parse().unwrap())?;
/// # drop(listener);
/// # Ok(())
/// # }
/// ```
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `service` on `listener` over HTTP/1.1 with the request-head
/// limits of this module; await the returned [`Serve`] to run it.
///
/// `service` is any tower service taking `Request<axum::body::Body>`: an
/// axum [`Router`](axum::Router) (with its state already applied), or a
/// [`PolysockService`](crate::PolysockService) on its own. The future runs
/// until the signal given to [`Serve::with_graceful_shutdown`] completes
/// and the connections have drained; without one, forever. It does not
/// return errors: failed accepts are logged (with `tracing`, target
/// `polysock::serve`) and retried. The `io::Result` makes it a drop-in
/// replacement for `axum::serve`.
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<S> {
    Serve {
        listener,
        service,
        header_read_timeout: Duration::from_secs(10),
        max_header_size: 16 * 1024,
        max_headers: 100,
        drain_timeout: Duration::from_secs(10),
        max_concurrent_streams: 256,
        signal: None,
        #[cfg(feature = "tls")]
        tls: None,
    }
}

/// An HTTP/1.1 server in the making, returned by [`serve`]: set its limits
/// and shutdown signal, then `.await` it.
#[must_use = "a Serve does nothing until it is awaited"]
pub struct Serve<S> {
    listener: TcpListener,
    service: S,
    header_read_timeout: Duration,
    max_header_size: usize,
    max_headers: usize,
    drain_timeout: Duration,
    max_concurrent_streams: u32,
    signal: Option<Signal>,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl<S> Serve<S> {
    /// Time a client has to send a complete request head, from when the
    /// server starts waiting for it; past it the connection is closed
    /// without a response. Default 10 s.
    ///
    /// The wait starts when the connection opens and again after each
    /// response, so this is also how long an idle keep-alive connection
    /// stays open. A zero duration closes every connection before its first
    /// request.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Largest request head (request line and headers) in bytes; a larger
    /// one is answered `431 Request Header Fields Too Large` and the
    /// connection closed. Default 16 KiB. Values above hyper's read buffer
    /// (about 400 KB) have no further effect.
    pub fn max_header_size(mut self, bytes: usize) -> Self {
        self.max_header_size = bytes;
        self
    }

    /// Most header lines a request may carry; one more is answered `431`
    /// and the connection closed. Default 100.
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// After the shutdown signal, how long connections get to finish the
    /// request in progress; those still open then are closed. Default 10 s.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Most requests one HTTP/2 connection may have in progress at once
    /// (`SETTINGS_MAX_CONCURRENT_STREAMS`); the browser queues the rest.
    /// Default 256: 25 polling sockets of one page take 50 (a waiting GET
    /// and a POST each). Without [`tls`](Self::tls) there is no HTTP/2 and
    /// this has no effect.
    pub fn max_concurrent_streams(mut self, streams: u32) -> Self {
        self.max_concurrent_streams = streams;
        self
    }

    /// Serves HTTPS with `config` (rustls 0.23): HTTP/2 to clients that
    /// offer `h2` by ALPN, HTTP/1.1 to the others. The ALPN list of
    /// `config` is replaced by `["h2", "http/1.1"]`. See the module docs.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<tokio_rustls::rustls::ServerConfig>) -> Self {
        let mut config = Arc::unwrap_or_clone(config);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        self.tls = Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)));
        self
    }

    /// [`tls`](Self::tls) with a certificate chain and its private key in
    /// PEM (the chain leaf first, the key PKCS#8, PKCS#1 or SEC1). Fails
    /// with `InvalidData` when either does not parse or they do not match.
    #[cfg(feature = "tls")]
    pub fn tls_pem(self, cert_chain_pem: &[u8], key_pem: &[u8]) -> io::Result<Self> {
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let invalid = |what: &str, error: &dyn fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {error}"))
        };
        let chain = CertificateDer::pem_slice_iter(cert_chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("certificate chain", &e))?;
        if chain.is_empty() {
            return Err(invalid("certificate chain", &"no certificate in the PEM"));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| invalid("private key", &e))?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("TLS versions", &e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid("certificate and key", &e))?;
        Ok(self.tls(Arc::new(config)))
    }

    /// Stops the server when `signal` completes: no more connections are
    /// accepted, open ones finish their request in progress (bounded by
    /// [`drain_timeout`](Self::drain_timeout)), then the future returns.
    pub fn with_graceful_shutdown<F>(mut self, signal: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.signal = Some(Box::pin(signal));
        self
    }
}

impl<S> fmt::Debug for Serve<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_header_size", &self.max_header_size)
            .field("max_headers", &self.max_headers)
            .field("drain_timeout", &self.drain_timeout)
            .field("max_concurrent_streams", &self.max_concurrent_streams)
            .field("graceful_shutdown", &self.signal.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, B> IntoFuture for Serve<S>
where
    S: tower_service::Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl<S, B> Serve<S>
where
    S: tower_service::Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    async fn run(self) -> io::Result<()> {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_header_size(self.max_header_size)
            .max_headers(self.max_headers);
        let mut h2 = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
        h2.timer(TokioTimer::new())
            .max_concurrent_streams(self.max_concurrent_streams)
            .max_header_list_size(u32::try_from(self.max_header_size).unwrap_or(u32::MAX))
            .keep_alive_interval(H2_PING_INTERVAL)
            .keep_alive_timeout(H2_PING_TIMEOUT);
        let builders = Arc::new(Builders {
            http1: http,
            http2: h2,
            head_timeout: self.header_read_timeout,
        });
        let (stop, stopping) = watch::channel(false);
        let mut connections = JoinSet::new();
        let mut signal = self
            .signal
            .unwrap_or_else(|| Box::pin(std::future::pending()));
        let mut backoff = ACCEPT_BACKOFF_MIN;
        loop {
            tokio::select! {
                biased;
                () = &mut signal => break,
                Some(ended) = connections.join_next() => log_panic(ended),
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        // Eased back, not reset: at the fd limit accepts fail
                        // and succeed in turn, and a reset would log an
                        // error every few milliseconds.
                        backoff = (backoff / 2).max(ACCEPT_BACKOFF_MIN);
                        if let Err(error) = stream.set_nodelay(true) {
                            tracing::debug!(%error, %peer, "cannot set TCP_NODELAY");
                        }
                        #[cfg(feature = "tls")]
                        if let Some(acceptor) = &self.tls {
                            connections.spawn(tls_connection(
                                builders.clone(),
                                acceptor.clone(),
                                stream,
                                peer,
                                self.service.clone(),
                                stopping.clone(),
                            ));
                            continue;
                        }
                        connections.spawn(connection(
                            builders.clone(),
                            Protocol::Http1,
                            TokioIo::new(stream),
                            peer,
                            self.service.clone(),
                            stopping.clone(),
                        ));
                    }
                    Err(error) if is_connection_error(&error) => {
                        tracing::debug!(%error, "accept: connection failed before it was accepted");
                    }
                    Err(error) => {
                        tracing::error!(%error, ?backoff, "accept failed; retrying");
                        tokio::select! {
                            () = &mut signal => break,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    }
                },
            }
        }
        drop(self.listener);
        let _ = stop.send(true);
        let drained = tokio::time::timeout(self.drain_timeout, async {
            while let Some(ended) = connections.join_next().await {
                log_panic(ended);
            }
        })
        .await;
        if drained.is_err() {
            tracing::debug!(
                open = connections.len(),
                "drain timeout: closing the connections still open"
            );
            connections.shutdown().await;
        }
        Ok(())
    }
}

/// Pings an idle HTTP/2 peer this often, and drops it when a ping goes
/// unanswered this long.
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);

/// The connection builders every connection shares, and the bound on the
/// TLS handshake.
struct Builders {
    http1: http1::Builder,
    http2: hyper::server::conn::http2::Builder<hyper_util::rt::TokioExecutor>,
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    head_timeout: Duration,
}

/// Which HTTP a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Http1,
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Http2,
}

/// Runs the TLS handshake (within the head timeout), then serves the
/// connection in the protocol ALPN chose.
#[cfg(feature = "tls")]
async fn tls_connection<S, B>(
    builders: Arc<Builders>,
    acceptor: tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    service: S,
    stopping: watch::Receiver<bool>,
) where
    S: tower_service::Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let tls = match tokio::time::timeout(builders.head_timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => {
            tracing::debug!(%error, %peer, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    let protocol = match tls.get_ref().1.alpn_protocol() {
        Some(b"h2") => Protocol::Http2,
        _ => Protocol::Http1,
    };
    connection(
        builders,
        protocol,
        TokioIo::new(tls),
        peer,
        service,
        stopping,
    )
    .await;
}

/// Serves one connection until it ends, or, once `stopping` turns true,
/// until its requests in progress are answered.
async fn connection<I, S, B>(
    builders: Arc<Builders>,
    protocol: Protocol,
    io: I,
    peer: SocketAddr,
    service: S,
    mut stopping: watch::Receiver<bool>,
) where
    I: Read + Write + Unpin + Send + 'static,
    S: tower_service::Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let handler = hyper::service::service_fn(move |request: Request<Incoming>| {
        let mut service = service.clone();
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        async move {
            poll_fn(|cx| service.poll_ready(cx)).await?;
            service.call(request).await
        }
    });
    let stop = async move {
        // An error means the server itself is gone: stop as well.
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    let ended = match protocol {
        Protocol::Http1 => {
            let mut conn = pin!(builders.http1.serve_connection(io, handler).with_upgrades());
            tokio::select! {
                ended = conn.as_mut() => ended,
                () = stop => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            }
        }
        Protocol::Http2 => {
            let mut conn = pin!(builders.http2.serve_connection(io, handler));
            tokio::select! {
                ended = conn.as_mut() => ended,
                () = stop => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            }
        }
    };
    if let Err(error) = ended {
        // Timeouts, oversized heads, resets: what clients do, not news.
        tracing::debug!(%error, %peer, ?protocol, "connection ended with an error");
    }
}

fn log_panic(ended: Result<(), tokio::task::JoinError>) {
    if let Err(error) = ended {
        if error.is_panic() {
            tracing::error!(%error, "a connection task panicked");
        }
    }
}

/// Accept errors about the one connection being accepted; the listener is
/// fine and the next accept can follow at once.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(all(test, feature = "tls"))]
mod tests {
    use super::*;

    async fn serve_nothing() -> Serve<axum::Router> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        serve(listener, axum::Router::new())
    }

    #[tokio::test]
    async fn tls_pem_refuses_what_does_not_parse() {
        let cases: [(&[u8], &[u8], &str); 3] = [
            (b"", b"", "no certificate"),
            (b"not pem at all", b"", "no certificate"),
            (
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
                "private key",
            ),
        ];
        for (cert, key, what) in cases {
            let error = serve_nothing()
                .await
                .tls_pem(cert, key)
                .expect_err("must be refused");
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            assert!(error.to_string().contains(what), "{error}");
        }
    }
}
