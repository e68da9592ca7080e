//! # Polysock
//!
//! One WebSocket-shaped connection for every browser. Polysock speaks
//! Engine.IO v4 over WebSocket and long-polling, so the stock
//! `engine.io-client` connects, and adds two streaming transports for
//! browsers and networks where WebSocket does not get through:
//! multipart XHR streaming and the `htmlfile` iframe stream. Application
//! code sees one [`Socket`] per client, whatever carries it.
//!
//! ```no_run
//! use axum::Router;
//! use polysock::{Message, Polysock};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let realtime = Polysock::builder()
//!         .protocols(["chat"])
//!         .on_connect(|mut socket| async move {
//!             while let Some(message) = socket.recv().await {
//!                 if let Message::Text(text) = &message {
//!                     println!("{} says {text}", socket.id());
//!                 }
//!                 let _ = socket.send(message).await;
//!             }
//!         })
//!         .build()?;
//!     let app = Router::new().nest_service("/engine.io", realtime.service());
//!     let listener = polysock::bind("127.0.0.1:3000".parse()?)?;
//!     polysock::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! The layers, top to bottom: the [`PolysockService`] parses requests,
//! routes them and maps rejections to responses; the transports adapt HTTP
//! and WebSocket to a session; the engine opens, registers and forgets
//! sessions and publishes their lifecycle ([`SessionEvent`]); the session
//! layer is one state machine per client (queue, receiver, upgrade, close);
//! [`protocol`] is the sans-IO codec. Around them, [`serve`] runs the HTTP
//! server with the request-head limits `axum::serve` lacks (a head timeout
//! against slowloris clients, head size and header count). The wire
//! protocol is specified in `protocol-spec/` in the repository.
//!
//! ## Connections that survive the network
//!
//! Clients that ask for it (the Polysock browser client with `resume: true`) get *resume
//! sessions*: when the transport is lost without a close (a reset, a proxy
//! cutting a stream, a ping timeout) the session is suspended for
//! [`Builder::resume_window`] (60 s by default) instead of closed, and the
//! client comes back on any transport with nothing lost, duplicated or
//! reordered either way. The application's [`Socket`] never notices:
//! `on_connect` runs once, `send` keeps working within the usual bounds, and
//! only a session that is not resumed in time closes, with
//! [`CloseReason::ResumeWindowOver`]. What is promised and what is not:
//! `docs/delivery-guarantees.md`; the wire: `protocol-spec/11-resume.md`.
//! Several nodes behind a load balancer need no sticky sessions: give each
//! a [`node_id`](Builder::node_id), a [`NodeDirectory`] of the others and
//! the cluster's secret, and a request for another node's session is
//! forwarded to that node (`docs/scaling.md` in the repository).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod adapter;
mod client_script;
mod close;
mod cluster;
mod config;
mod engine;
mod handshake;
pub mod metrics;
mod origin;
pub mod protocol;
mod query;
mod rejection;
mod rooms;
mod sender;
mod serve;
mod server;
mod service;
mod session;
mod socket;
mod sockjs;
mod transport;
mod transport_kind;

pub use adapter::{Adapter, AdapterError, AdapterFuture, LocalAdapter, LocalNode, Target};
pub use client_script::{CLIENT_HTTP_SCRIPT, CLIENT_SCRIPT};
pub use close::{CloseReason, InvalidCloseCode, SendError, TransportError, TrySendError};
pub use cluster::{NodeDirectory, StaticDirectory};
pub use config::{Config, ConfigError};
pub use engine::SessionEvent;
pub use handshake::{Accept, Handshake, Refuse};
pub use origin::OriginPolicy;
pub use protocol::{CloseFrame, Message};
pub use rooms::{Broadcast, Rooms};
pub use serve::{bind, serve, Serve, LISTEN_BACKLOG};
pub use server::{Builder, Polysock};
pub use service::PolysockService;
pub use socket::{RequestInfo, Socket, SocketSender};
pub use sockjs::{
    SockJs, SockJsBuilder, SockJsConfigError, SockJsOptions, SockJsService, SockJsTransport,
};
pub use transport_kind::{Transport, TransportSet};
