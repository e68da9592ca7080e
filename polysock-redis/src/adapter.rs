//! [`RedisAdapter`]: the [`Adapter`] calls, each answered here first and
//! then, when the socket or the answer is elsewhere, by the other nodes
//! over Redis.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::future::FutureExt;
use polysock::{Adapter, AdapterError, AdapterFuture, LocalNode, Message, Target};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::config::RedisConfig;
use crate::wire::{self, Answer, Op};

/// A node of the cluster, as the registry lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's id.
    pub id: String,
    /// The address it advertised, if any.
    pub advertise: Option<String>,
}

/// [`RedisAdapter::new`] failed.
#[derive(Debug)]
pub struct RedisAdapterError(String);

impl fmt::Display for RedisAdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis adapter: {}", self.0)
    }
}

impl std::error::Error for RedisAdapterError {}

/// The Redis adapter; see the [crate docs](crate). Cheap to clone: keep a
/// clone to list [`nodes`](Self::nodes) or [`shutdown`](Self::shutdown)
/// after handing one to `Builder::adapter`.
#[derive(Clone)]
pub struct RedisAdapter {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: RedisConfig,
    pub(crate) client: redis::Client,
    pub(crate) conn: OnceLock<ConnectionManager>,
    pub(crate) node: OnceLock<LocalNode>,
    pub(crate) pending: Mutex<HashMap<u64, mpsc::UnboundedSender<(String, Answer)>>>,
    next_request: AtomicU64,
    /// Live nodes other than this one, as of the last heartbeat.
    pub(crate) peers: Mutex<Vec<NodeInfo>>,
    /// Whether the subscriber is subscribed now.
    pub(crate) subscribed: AtomicBool,
    /// Whether the last heartbeat reached Redis.
    pub(crate) beating: AtomicBool,
    /// Told to resubscribe (Redis came back after heartbeats failed).
    pub(crate) resubscribe: Notify,
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) channels: Channels,
}

/// The names of the channels and keys.
pub(crate) struct Channels {
    pub(crate) broadcast: String,
    pub(crate) requests: String,
    pub(crate) replies: String,
    pub(crate) nodes: String,
}

impl Channels {
    pub(crate) fn replies_of(config: &RedisConfig, node: &str) -> String {
        config.channel(&format!("replies:{node}"))
    }

    pub(crate) fn node_key(config: &RedisConfig, node: &str) -> String {
        config.channel(&format!("node:{node}"))
    }
}

impl RedisAdapter {
    /// An adapter for the Redis at `config`'s URL. Nothing connects until
    /// the server is built (`Builder::build`, inside a Tokio runtime);
    /// Redis may be down then: the adapter keeps trying.
    pub fn new(config: RedisConfig) -> Result<Self, RedisAdapterError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|error| RedisAdapterError(format!("{}: {error}", config.url)))?;
        if config.node_id.is_empty() || config.node_id.contains(char::is_whitespace) {
            return Err(RedisAdapterError("a node id is one word".into()));
        }
        let channels = Channels {
            broadcast: config.channel("broadcast"),
            requests: config.channel("requests"),
            replies: Channels::replies_of(&config, &config.node_id),
            nodes: config.channel("nodes"),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                client,
                conn: OnceLock::new(),
                node: OnceLock::new(),
                pending: Mutex::new(HashMap::new()),
                next_request: AtomicU64::new(1),
                peers: Mutex::new(Vec::new()),
                subscribed: AtomicBool::new(false),
                beating: AtomicBool::new(false),
                resubscribe: Notify::new(),
                tasks: Mutex::new(Vec::new()),
                channels,
            }),
        })
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.inner.config.node_id
    }

    /// The live nodes, this one first, as of the last heartbeat.
    pub fn nodes(&self) -> Vec<NodeInfo> {
        let mut nodes = vec![NodeInfo {
            id: self.inner.config.node_id.clone(),
            advertise: self.inner.config.advertise.clone(),
        }];
        nodes.extend(self.inner.peers().iter().cloned());
        nodes
    }

    /// Whether the adapter is connected: subscribed to the cluster's
    /// channels and its last heartbeat reached Redis.
    pub fn is_connected(&self) -> bool {
        self.inner.subscribed.load(Ordering::SeqCst) && self.inner.beating.load(Ordering::SeqCst)
    }

    /// Leaves the cluster: stops the background tasks and removes this
    /// node from the registry at once (the others forget it without
    /// waiting for its TTL).
    pub async fn shutdown(&self) {
        self.inner.stop();
        if let Some(mut conn) = self.inner.conn.get().cloned() {
            let key = Channels::node_key(&self.inner.config, &self.inner.config.node_id);
            let mut pipe = redis::pipe();
            pipe.del(&key)
                .ignore()
                .srem(&self.inner.channels.nodes, &self.inner.config.node_id)
                .ignore();
            let _ = tokio::time::timeout(
                self.inner.config.request_timeout,
                pipe.query_async::<()>(&mut conn),
            )
            .await;
        }
    }

    /// Stops every background task without telling the cluster, as a
    /// crash would: the other nodes forget this one when its registry
    /// entry expires. For tests and fail-over drills.
    pub fn abandon(&self) {
        self.inner.stop();
    }
}

impl fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("node", &self.node_id())
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl Inner {
    pub(crate) fn peers(&self) -> std::sync::MutexGuard<'_, Vec<NodeInfo>> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stop(&self) {
        let tasks: Vec<JoinHandle<()>> = self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        for task in tasks {
            task.abort();
        }
        self.subscribed.store(false, Ordering::SeqCst);
        self.beating.store(false, Ordering::SeqCst);
    }

    pub(crate) fn local(&self) -> Result<&LocalNode, AdapterError> {
        self.node.get().ok_or(AdapterError::Stopped)
    }

    fn connection(&self) -> Result<ConnectionManager, AdapterError> {
        self.conn.get().cloned().ok_or(AdapterError::Stopped)
    }

    /// Runs a Redis command (or pipeline) within the request timeout. A
    /// connection that broke while Redis was away fails its first command
    /// and reconnects: that one failure is retried once, inside the same
    /// timeout.
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        command: Command,
    ) -> Result<T, AdapterError> {
        let mut conn = self.connection()?;
        let attempt = async {
            let mut retried = false;
            loop {
                let result = match &command {
                    Command::One(cmd) => cmd.query_async::<T>(&mut conn).await,
                    Command::Pipe(pipe) => pipe.query_async::<T>(&mut conn).await,
                };
                match result {
                    Err(error)
                        if !retried && (error.is_io_error() || error.is_connection_dropped()) =>
                    {
                        retried = true;
                    }
                    other => return other,
                }
            }
        };
        let result = match tokio::time::timeout(self.config.request_timeout, attempt).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(AdapterError::Unavailable(error.to_string())),
            Err(_) => Err(AdapterError::Unavailable(
                "redis did not answer in time".into(),
            )),
        };
        if let Err(error) = &result {
            polysock::metrics::adapter_error(op, error.kind());
        }
        result
    }

    /// Publishes `payload` on `channel`; how many subscribers got it.
    pub(crate) async fn publish(
        &self,
        op: &'static str,
        channel: &str,
        payload: Vec<u8>,
    ) -> Result<usize, AdapterError> {
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(channel).arg(payload);
        self.run(op, Command::One(cmd)).await
    }

    /// Asks every other node `op` and collects their answers: as many as
    /// `PUBLISH` says received it (less this node), or, at the timeout,
    /// those of every node the registry lists. `done` may end the wait
    /// early (a socket found).
    async fn ask(
        &self,
        name: &'static str,
        op: Op,
        message: Option<&Message>,
        done: impl Fn(&Answer) -> bool,
    ) -> Result<Vec<(String, Answer)>, AdapterError> {
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let _forget = Forget { inner: self, id };
        if !self.subscribed.load(Ordering::SeqCst) {
            let error = AdapterError::Unavailable("not subscribed to the cluster".into());
            polysock::metrics::adapter_error(name, error.kind());
            return Err(error);
        }
        let frame = wire::request(&self.config.node_id, id, op, message);
        let receivers = self.publish(name, &self.channels.requests, frame).await?;
        let expected = receivers.saturating_sub(1);
        let mut answers: Vec<(String, Answer)> = Vec::new();
        let deadline = tokio::time::Instant::now() + self.config.request_timeout;
        while answers.len() < expected {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((from, answer))) => {
                    let stop = done(&answer);
                    if !answers.iter().any(|(node, _)| *node == from) {
                        answers.push((from, answer));
                    }
                    if stop {
                        return Ok(answers);
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    // Late or missing answers: fine if every live node of
                    // the registry answered (a subscriber is leaving).
                    let answered: HashSet<&str> =
                        answers.iter().map(|(node, _)| node.as_str()).collect();
                    let all = self
                        .peers()
                        .iter()
                        .all(|peer| answered.contains(peer.id.as_str()));
                    if all {
                        return Ok(answers);
                    }
                    polysock::metrics::adapter_error(name, AdapterError::Timeout.kind());
                    return Err(AdapterError::Timeout);
                }
            }
        }
        Ok(answers)
    }

    /// A targeted operation on a socket that is not here: the first node
    /// that holds it answers.
    async fn ask_holder(
        &self,
        name: &'static str,
        op: Op,
        message: Option<&Message>,
    ) -> Result<Answer, AdapterError> {
        let answers = self
            .ask(name, op, message, |answer| {
                !matches!(answer, Answer::NotHere)
            })
            .await?;
        answers
            .into_iter()
            .map(|(_, answer)| answer)
            .find(|answer| !matches!(answer, Answer::NotHere))
            .ok_or(AdapterError::NotFound)
    }
}

/// What [`Inner::run`] runs.
pub(crate) enum Command {
    One(redis::Cmd),
    Pipe(redis::Pipeline),
}

/// Takes a request out of the pending table however `ask` ends.
struct Forget<'a> {
    inner: &'a Inner,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

/// The error a remote node reported.
fn failed(kind: &str, message: String) -> AdapterError {
    match kind {
        "not_found" => AdapterError::NotFound,
        "full" => AdapterError::Full,
        "closed" => AdapterError::Closed,
        "stopped" => AdapterError::Stopped,
        "timeout" => AdapterError::Timeout,
        "unavailable" => AdapterError::Unavailable(message),
        _ => AdapterError::Invalid(message),
    }
}

fn unexpected(answer: Answer) -> AdapterError {
    match answer {
        Answer::Failed { kind, message } => failed(&kind, message),
        other => AdapterError::Invalid(format!("unexpected answer {other:?}")),
    }
}

/// The answer to `op` from this node's own sockets.
pub(crate) fn answer_locally(node: &LocalNode, op: Op, body: &[u8]) -> Answer {
    let result = |result: Result<Answer, AdapterError>| match result {
        Ok(answer) => answer,
        Err(AdapterError::NotFound) => Answer::NotHere,
        Err(error) => Answer::Failed {
            kind: error.kind().to_owned(),
            message: error.to_string(),
        },
    };
    match op {
        Op::Count => Answer::Count {
            count: node.socket_count(),
        },
        Op::Ids => Answer::Ids {
            ids: node.socket_ids(),
        },
        Op::Members { room } => Answer::Ids {
            ids: node.members(&room),
        },
        Op::RoomsOf { id } if node.holds(&id) => Answer::Ids {
            ids: node.rooms_of(&id),
        },
        Op::Join { id, room } => result(node.join(&id, &room).map(|value| Answer::Bool { value })),
        Op::Leave { id, room } if node.holds(&id) => Answer::Bool {
            value: node.leave(&id, &room),
        },
        Op::SendTo { id, binary } if node.holds(&id) => match wire::message(body, binary) {
            Some(message) => result(node.send_to(&id, message).map(|()| Answer::Done)),
            None => result(Err(AdapterError::Invalid("text not UTF-8".into()))),
        },
        Op::Close { id, code, reason } => {
            result(node.close(&id, code, &reason).map(|()| Answer::Done))
        }
        Op::RoomsOf { .. } | Op::Leave { .. } | Op::SendTo { .. } => Answer::NotHere,
    }
}

impl Adapter for RedisAdapter {
    fn attach(&self, node: LocalNode) {
        crate::background::start(&self.inner, node);
    }

    fn broadcast(&self, target: Target, message: Message) -> AdapterFuture<'_, usize> {
        async move {
            let inner = &self.inner;
            let queued = inner.local()?.broadcast(&target, &message);
            let frame = wire::broadcast(&inner.config.node_id, &target, &message);
            let started = Instant::now();
            inner
                .publish("broadcast", &inner.channels.broadcast, frame)
                .await?;
            polysock::metrics::publish_latency(started.elapsed());
            Ok(queued)
        }
        .boxed()
    }

    fn join<'a>(&'a self, id: &'a str, room: &'a str) -> AdapterFuture<'a, bool> {
        async move {
            let local = self.inner.local()?;
            if local.holds(id) {
                return local.join(id, room);
            }
            let op = Op::Join {
                id: id.to_owned(),
                room: room.to_owned(),
            };
            match self.inner.ask_holder("join", op, None).await? {
                Answer::Bool { value } => Ok(value),
                other => Err(unexpected(other)),
            }
        }
        .boxed()
    }

    fn leave<'a>(&'a self, id: &'a str, room: &'a str) -> AdapterFuture<'a, bool> {
        async move {
            let local = self.inner.local()?;
            if local.holds(id) {
                return Ok(local.leave(id, room));
            }
            let op = Op::Leave {
                id: id.to_owned(),
                room: room.to_owned(),
            };
            match self.inner.ask_holder("leave", op, None).await? {
                Answer::Bool { value } => Ok(value),
                other => Err(unexpected(other)),
            }
        }
        .boxed()
    }

    fn members<'a>(&'a self, room: &'a str) -> AdapterFuture<'a, Vec<String>> {
        async move {
            let mut ids: BTreeSet<String> = self.inner.local()?.members(room).into_iter().collect();
            let op = Op::Members {
                room: room.to_owned(),
            };
            for (_, answer) in self.inner.ask("members", op, None, |_| false).await? {
                match answer {
                    Answer::Ids { ids: theirs } => ids.extend(theirs),
                    other => return Err(unexpected(other)),
                }
            }
            Ok(ids.into_iter().collect())
        }
        .boxed()
    }

    fn rooms_of<'a>(&'a self, id: &'a str) -> AdapterFuture<'a, Vec<String>> {
        async move {
            let local = self.inner.local()?;
            if local.holds(id) {
                return Ok(local.rooms_of(id));
            }
            let op = Op::RoomsOf { id: id.to_owned() };
            match self.inner.ask_holder("rooms_of", op, None).await {
                Ok(Answer::Ids { ids }) => Ok(ids),
                Ok(other) => Err(unexpected(other)),
                Err(AdapterError::NotFound) => Ok(Vec::new()),
                Err(error) => Err(error),
            }
        }
        .boxed()
    }

    fn socket_ids(&self) -> AdapterFuture<'_, Vec<String>> {
        async move {
            let mut ids: BTreeSet<String> = self.inner.local()?.socket_ids().into_iter().collect();
            for (_, answer) in self
                .inner
                .ask("socket_ids", Op::Ids, None, |_| false)
                .await?
            {
                match answer {
                    Answer::Ids { ids: theirs } => ids.extend(theirs),
                    other => return Err(unexpected(other)),
                }
            }
            Ok(ids.into_iter().collect())
        }
        .boxed()
    }

    fn socket_count(&self) -> AdapterFuture<'_, usize> {
        async move {
            let mut count = self.inner.local()?.socket_count();
            for (_, answer) in self
                .inner
                .ask("socket_count", Op::Count, None, |_| false)
                .await?
            {
                match answer {
                    Answer::Count { count: theirs } => count += theirs,
                    other => return Err(unexpected(other)),
                }
            }
            Ok(count)
        }
        .boxed()
    }

    fn send_to<'a>(&'a self, id: &'a str, message: Message) -> AdapterFuture<'a, ()> {
        async move {
            let local = self.inner.local()?;
            if local.holds(id) {
                return local.send_to(id, message);
            }
            let op = Op::SendTo {
                id: id.to_owned(),
                binary: matches!(message, Message::Binary(_)),
            };
            match self.inner.ask_holder("send_to", op, Some(&message)).await? {
                Answer::Done => Ok(()),
                other => Err(unexpected(other)),
            }
        }
        .boxed()
    }

    fn close<'a>(&'a self, id: &'a str, code: u16, reason: &'a str) -> AdapterFuture<'a, ()> {
        async move {
            let local = self.inner.local()?;
            if local.holds(id) {
                return local.close(id, code, reason);
            }
            let op = Op::Close {
                id: id.to_owned(),
                code,
                reason: reason.to_owned(),
            };
            match self.inner.ask_holder("close", op, None).await? {
                Answer::Done => Ok(()),
                other => Err(unexpected(other)),
            }
        }
        .boxed()
    }
}

/// The connection manager's settings: one quick retry, every call bounded.
pub(crate) fn manager_config(config: &RedisConfig) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_min_delay(config.reconnect_min)
        .set_max_delay(config.reconnect_max)
        .set_connection_timeout(Some(config.request_timeout))
        .set_response_timeout(Some(config.request_timeout))
}

/// A wait of `attempt` reconnect attempts: doubling from the minimum.
pub(crate) fn backoff(config: &RedisConfig, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.min(16);
    config
        .reconnect_min
        .saturating_mul(factor)
        .min(config.reconnect_max)
}

/// The node registry as the directory request forwarding looks nodes up
/// in: answered from the copy the heartbeat refreshes, so forwarding goes
/// on while Redis is away (with the nodes known when it left).
impl polysock::NodeDirectory for RedisAdapter {
    fn address(&self, node_id: &str) -> Option<http::uri::Authority> {
        let advertised = if node_id == self.inner.config.node_id {
            self.inner.config.advertise.clone()
        } else {
            self.inner
                .peers()
                .iter()
                .find(|node| node.id == node_id)
                .and_then(|node| node.advertise.clone())
        };
        advertised.and_then(|address| address.parse().ok())
    }
}
