//! # polysock-redis
//!
//! A [`polysock::Adapter`] over Redis: many Polysock nodes behind a load
//! balancer act as one server. A broadcast from any node reaches every
//! targeted socket of every node, rooms work across nodes, and sockets are
//! sent to and closed by id wherever they are.
//!
//! ```no_run
//! use polysock::{Polysock, Target};
//! use polysock_redis::{RedisAdapter, RedisConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = RedisAdapter::new(RedisConfig::new("redis://127.0.0.1:6379"))?;
//! let realtime = Polysock::builder()
//!     .adapter(cluster.clone())
//!     .on_connect(|mut socket| async move {
//!         let _ = socket.join("lobby").await;
//!         while let Some(message) = socket.recv().await {
//!             let to = Target::room("lobby").except(socket.id());
//!             let _ = socket.adapter().broadcast(to, message).await;
//!         }
//!     })
//!     .build()?;
//! # drop(realtime); Ok(()) }
//! ```
//!
//! ## How it works
//!
//! * **Broadcast**: the sending node delivers to its own sockets, frames the
//!   message once ([`wire`](self)'s format: a small JSON header, then the
//!   message's bytes as they are) and `PUBLISH`es it on one channel that
//!   every node subscribes to; each node delivers it to its own sockets.
//!   Delivery is Redis pub/sub's: at most once, and a node that is not
//!   subscribed at that moment (Redis down, reconnecting) misses it.
//! * **Rooms and sockets** stay in each node's memory, where the sockets
//!   are: nothing per socket is written to Redis. Membership, counts and
//!   ids of the whole cluster are asked of every node (a request on a
//!   shared channel, answers on the asking node's own channel, all within
//!   [`RedisConfig::request_timeout`]); the number of answers to expect is
//!   the number of subscribers `PUBLISH` reports. A dead node's sockets and
//!   memberships therefore vanish with it.
//! * **Node registry**: every node refreshes a key with a time-to-live
//!   ([`RedisConfig::node_ttl`], 3 s) every [`RedisConfig::heartbeat`]
//!   (1 s), and lists the others from the keys that still exist: a node
//!   that stops beating is forgotten within the TTL plus one beat.
//! * **Faults**: every Redis call has a timeout. With Redis down, local
//!   operations (this node's sockets) keep working; cross-node ones return
//!   [`AdapterError::Unavailable`](polysock::AdapterError::Unavailable) at
//!   once, and count in `polysock_adapter_errors_total`. The subscriber
//!   reconnects with exponential backoff; when Redis is back (even
//!   restarted empty), broadcasts reach every node again within about one
//!   heartbeat, and the node list holds meanwhile (see the `background`
//!   module's notes on a restart and docs/scaling.md).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod adapter;
mod background;
mod config;
mod wire;

pub use adapter::{NodeInfo, RedisAdapter, RedisAdapterError};
pub use config::RedisConfig;
