//! [`RedisConfig`]: where Redis is, who this node is, and the timings of
//! heartbeats, requests and reconnects, with defaults that work.

use std::time::Duration;

/// How a node joins the cluster.
///
/// ```
/// use std::time::Duration;
/// use polysock_redis::RedisConfig;
///
/// let config = RedisConfig::new("redis://127.0.0.1:6379")
///     .node_id("node-a")
///     .advertise("10.0.0.5:3000")
///     .request_timeout(Duration::from_millis(500));
/// assert_eq!(config.node_ttl_value(), Duration::from_secs(3));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisConfig {
    pub(crate) url: String,
    pub(crate) node_id: String,
    pub(crate) advertise: Option<String>,
    pub(crate) prefix: String,
    pub(crate) heartbeat: Duration,
    pub(crate) node_ttl: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) reconnect_min: Duration,
    pub(crate) reconnect_max: Duration,
}

impl RedisConfig {
    /// Defaults for the Redis server at `url` (`redis://host:port/db`): a
    /// random node id, key prefix `polysock`, a heartbeat every second, a
    /// node forgotten after 3 s without one, cluster requests answered
    /// within 1 s, reconnects from 100 ms backing off to 5 s.
    pub fn new(url: impl Into<String>) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self {
            url: url.into(),
            node_id: id[..12].to_owned(),
            advertise: None,
            prefix: "polysock".into(),
            heartbeat: Duration::from_secs(1),
            node_ttl: Duration::from_secs(3),
            request_timeout: Duration::from_secs(1),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
        }
    }

    /// This node's id, unique in the cluster (default: random).
    pub fn node_id(mut self, id: impl Into<String>) -> Self {
        self.node_id = id.into();
        self
    }

    /// The address other nodes (or a forwarder) reach this node at, as
    /// published in the node registry.
    pub fn advertise(mut self, address: impl Into<String>) -> Self {
        self.advertise = Some(address.into());
        self
    }

    /// The prefix of every key and channel (default `polysock`): clusters
    /// sharing one Redis keep apart by prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Time between heartbeats (default 1 s).
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval;
        self
    }

    /// How long a node stays listed after its last heartbeat (default 3 s:
    /// three missed beats).
    pub fn node_ttl(mut self, ttl: Duration) -> Self {
        self.node_ttl = ttl;
        self
    }

    /// How long a cluster operation waits for Redis and for the other
    /// nodes' answers (default 1 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The first and the longest wait between reconnect attempts
    /// (default 100 ms and 5 s, doubling in between).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.reconnect_min = min;
        self.reconnect_max = max.max(min);
        self
    }

    /// This node's id.
    pub fn node_id_value(&self) -> &str {
        &self.node_id
    }

    /// How long a node stays listed without a heartbeat.
    pub fn node_ttl_value(&self) -> Duration {
        self.node_ttl
    }

    pub(crate) fn channel(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }
}
