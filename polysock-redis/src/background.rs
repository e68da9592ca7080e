//! The adapter's two tasks: the subscriber (broadcasts and requests from
//! the other nodes, answers to this node's requests) and the heartbeat
//! (this node's registry entry, and the list of the others).
//!
//! ```text
//!  subscriber: connect ─ SUBSCRIBE broadcast, requests, replies:<me> ─ read ─┐
//!       ▲   (stream ends: Redis gone; or Redis back and no PONG)             │
//!       └──────────── wait (backoff: 100 ms, 200 ms, ... 5 s) ◀──────────────┘
//!                     (cut short when the heartbeat sees Redis back)
//!  heartbeat, every beat: SET node:<me> PX ttl, SADD nodes ─ list the others
//!                         (MGET + PTTL: each one's entry and when it expires)
//! ```
//!
//! ## A Redis restart
//!
//! A restarted Redis (same address, nothing saved) has no subscriptions and
//! no registry. Three things make the cluster whole again within about one
//! heartbeat of Redis answering:
//!
//! * the first heartbeat that succeeds after failing ones wakes the
//!   subscriber, out of its backoff wait (which may have grown to
//!   [`RedisConfig::reconnect_backoff`]'s maximum) or, when it believes
//!   itself subscribed, into a PING on the subscription's own connection:
//!   no answer within the request timeout and it subscribes again;
//! * the node list is not what one listing says but what the entries say:
//!   a node stays known until its entry's expiry as last seen (`PTTL`), and
//!   after an outage every known node gets one more TTL to write its entry
//!   into the new Redis. Without this the first node to beat into an empty
//!   Redis would see no others, and for a beat its directory would answer
//!   "Session ID unknown" to every forwarded request;
//! * broadcasts published while a node is not subscribed are lost to that
//!   node (Redis pub/sub is at most once): the window is the time between
//!   Redis answering and the next heartbeat, plus one subscribe.
//!
//! [`RedisConfig::reconnect_backoff`]: crate::RedisConfig::reconnect_backoff

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use polysock::LocalNode;
use redis::aio::ConnectionManager;
use tokio::time::Instant;

use crate::adapter::{answer_locally, backoff, manager_config, Channels, Command, Inner, NodeInfo};
use crate::wire::{self, Frame};

/// Starts the tasks; called once, from `Adapter::attach`.
pub(crate) fn start(inner: &Arc<Inner>, node: LocalNode) {
    if inner.node.set(node).is_err() {
        tracing::error!("a RedisAdapter serves one server; attached twice");
        return;
    }
    match ConnectionManager::new_lazy_with_config(
        inner.client.clone(),
        manager_config(&inner.config),
    ) {
        Ok(conn) => {
            let _ = inner.conn.set(conn);
        }
        Err(error) => {
            tracing::error!(%error, "redis adapter: no connection manager");
            return;
        }
    }
    let subscriber = tokio::spawn(subscribe(inner.clone()));
    let heartbeat = tokio::spawn(heartbeat(inner.clone()));
    let mut tasks = inner.tasks.lock().unwrap_or_else(|p| p.into_inner());
    tasks.push(subscriber);
    tasks.push(heartbeat);
}

/// Subscribes, reads until the connection ends, waits, and again.
async fn subscribe(inner: Arc<Inner>) {
    let mut attempt = 0u32;
    loop {
        if !inner.node.get().is_some_and(LocalNode::is_alive) {
            return;
        }
        let connect = tokio::time::timeout(inner.config.request_timeout, async {
            let mut pubsub = inner.client.get_async_pubsub().await?;
            pubsub
                .subscribe(&[
                    inner.channels.broadcast.as_str(),
                    inner.channels.requests.as_str(),
                    inner.channels.replies.as_str(),
                ])
                .await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await;
        match connect {
            Ok(Ok(pubsub)) => {
                attempt = 0;
                inner.subscribed.store(true, Ordering::SeqCst);
                tracing::info!(node = %inner.config.node_id, "subscribed to the cluster");
                let (mut sink, mut messages) = pubsub.split();
                loop {
                    tokio::select! {
                        message = messages.next() => match message {
                            Some(message) => handle(&inner, message.get_channel_name(), message.get_payload_bytes()),
                            None => break,
                        },
                        () = inner.resubscribe.notified() => {
                            // Redis is back after an outage. A subscription
                            // that answers a PING on its own connection
                            // still stands (it predates nothing: server-side
                            // subscriptions live and die with the
                            // connection); one that does not is dead or
                            // half-open, and is replaced at once.
                            let ping = tokio::time::timeout(
                                inner.config.request_timeout,
                                sink.ping::<redis::Value>(),
                            );
                            if !matches!(ping.await, Ok(Ok(_))) {
                                break;
                            }
                        }
                    }
                }
                inner.subscribed.store(false, Ordering::SeqCst);
                tracing::warn!(node = %inner.config.node_id, "lost the cluster subscription");
            }
            Ok(Err(error)) => {
                tracing::debug!(%error, "cannot subscribe");
                polysock::metrics::adapter_error("subscribe", "unavailable");
            }
            Err(_) => polysock::metrics::adapter_error("subscribe", "timeout"),
        }
        // Redis coming back (the heartbeat's news) ends the wait early: the
        // backoff may have grown to its maximum during a long outage.
        tokio::select! {
            () = tokio::time::sleep(backoff(&inner.config, attempt)) => {}
            () = inner.resubscribe.notified() => {}
        }
        attempt = attempt.saturating_add(1);
    }
}

/// One message from a channel.
fn handle(inner: &Arc<Inner>, channel: &str, payload: &[u8]) {
    let Some(frame) = wire::decode(payload) else {
        tracing::warn!(channel, "undecodable cluster message dropped");
        return;
    };
    let Some(node) = inner.node.get() else {
        return;
    };
    let me = inner.config.node_id.as_str();
    match frame {
        Frame::Broadcast {
            from,
            target,
            message,
        } if from != me => {
            node.broadcast_shared(&target, &message);
        }
        Frame::Request { from, id, op, body } if from != me => {
            let answer = answer_locally(node, op, &body);
            let frame = wire::reply(me, id, answer);
            let channel = Channels::replies_of(&inner.config, &from);
            let inner = inner.clone();
            tokio::spawn(async move {
                let _ = inner.publish("reply", &channel, frame).await;
            });
        }
        Frame::Reply { from, id, answer } => {
            let pending = inner.pending.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(waiter) = pending.get(&id) {
                let _ = waiter.send((from, answer));
            }
        }
        // This node's own broadcasts and requests, back from Redis.
        Frame::Broadcast { .. } | Frame::Request { .. } => {}
    }
}

/// Refreshes this node's entry and the list of the others, every beat.
async fn heartbeat(inner: Arc<Inner>) {
    let mut ticks = tokio::time::interval(inner.config.heartbeat);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut known = Known::default();
    loop {
        ticks.tick().await;
        if !inner.node.get().is_some_and(LocalNode::is_alive) {
            return;
        }
        match beat(&inner).await {
            Ok(seen) => {
                let was = inner.beating.swap(true, Ordering::SeqCst);
                let now = Instant::now();
                if !was {
                    // Beats failed until now: the registry in Redis may be
                    // new (a restart forgets every key) and the other nodes
                    // have not written theirs yet. Each known node gets one
                    // more TTL to show up before it is forgotten.
                    known.grace(now + inner.config.node_ttl);
                }
                *inner.peers() = known.update(seen, now);
                if !was {
                    // Redis is back after beats failed. Subscribe again, at
                    // once and even if the subscriber still believes its
                    // connection alive: a subscription to a server that went
                    // away does not always end by itself, and one to a server
                    // restarted meanwhile hears nothing.
                    inner.resubscribe.notify_waiters();
                }
            }
            Err(error) => {
                inner.beating.store(false, Ordering::SeqCst);
                tracing::debug!(%error, "heartbeat failed");
            }
        }
    }
}

/// The other nodes this one knows, each with the moment its registry entry
/// expires (as Redis last reported it). The directory and the `ask` quorum
/// read the list made from it, so a node leaves them when its entry would
/// have expired, not when one listing misses it.
#[derive(Default)]
struct Known {
    nodes: HashMap<String, (NodeInfo, Instant)>,
}

impl Known {
    /// Every known node is kept at least until `until`.
    fn grace(&mut self, until: Instant) {
        for (_, expires) in self.nodes.values_mut() {
            *expires = (*expires).max(until);
        }
    }

    /// Merges one listing (each live node with its entry's remaining TTL)
    /// and returns the nodes whose entries have not expired, by id.
    fn update(&mut self, seen: Vec<(NodeInfo, Duration)>, now: Instant) -> Vec<NodeInfo> {
        for (node, ttl) in seen {
            self.nodes.insert(node.id.clone(), (node, now + ttl));
        }
        self.nodes.retain(|_, (_, expires)| *expires > now);
        let mut live: Vec<NodeInfo> = self.nodes.values().map(|(node, _)| node.clone()).collect();
        live.sort_by(|a, b| a.id.cmp(&b.id));
        live
    }
}

/// One beat: this node's key with its TTL, then the live others with the
/// time their entries have left.
async fn beat(inner: &Arc<Inner>) -> Result<Vec<(NodeInfo, Duration)>, polysock::AdapterError> {
    let config = &inner.config;
    let me = NodeInfo {
        id: config.node_id.clone(),
        advertise: config.advertise.clone(),
    };
    let info = serde_json::to_string(&me).unwrap_or_default();
    let key = Channels::node_key(config, &config.node_id);
    let nodes = inner.channels.nodes.clone();
    let ttl = config.node_ttl.as_millis().max(1) as u64;
    let id = config.node_id.clone();
    let mut pipe = redis::pipe();
    pipe.cmd("SET")
        .arg(&key)
        .arg(info)
        .arg("PX")
        .arg(ttl)
        .ignore()
        .sadd(&nodes, &id)
        .ignore();
    inner.run::<()>("heartbeat", Command::Pipe(pipe)).await?;
    let nodes = inner.channels.nodes.clone();
    let mut cmd = redis::cmd("SMEMBERS");
    cmd.arg(nodes);
    let ids: Vec<String> = inner.run("registry", Command::One(cmd)).await?;
    let others: Vec<String> = ids.into_iter().filter(|id| *id != config.node_id).collect();
    if others.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = others
        .iter()
        .map(|id| Channels::node_key(config, id))
        .collect();
    let mut pipe = redis::pipe();
    pipe.cmd("MGET").arg(&keys);
    for key in &keys {
        pipe.cmd("PTTL").arg(key);
    }
    let (infos, ttls): (Vec<Option<String>>, Vec<i64>) = {
        let mut values: Vec<redis::Value> = inner.run("registry", Command::Pipe(pipe)).await?;
        let infos = match values.first() {
            Some(value) => redis::from_redis_value(value.clone()).map_err(registry_error)?,
            None => Vec::new(),
        };
        let ttls = values
            .drain(1..)
            .map(redis::from_redis_value)
            .collect::<Result<Vec<i64>, _>>()
            .map_err(registry_error)?;
        (infos, ttls)
    };
    let mut live = Vec::new();
    let mut dead = Vec::new();
    for ((id, info), ttl) in others.into_iter().zip(infos).zip(ttls) {
        let info = info.and_then(|info| serde_json::from_str::<NodeInfo>(&info).ok());
        // PTTL: -2 gone, -1 no expiry (not written by a node); both dead.
        match (info, u64::try_from(ttl)) {
            (Some(node), Ok(ms)) => live.push((node, Duration::from_millis(ms))),
            _ => dead.push(id),
        }
    }
    if !dead.is_empty() {
        let nodes = inner.channels.nodes.clone();
        let mut cmd = redis::cmd("SREM");
        cmd.arg(nodes).arg(dead);
        let _ = inner.run::<()>("registry", Command::One(cmd)).await;
    }
    Ok(live)
}

fn registry_error(error: redis::ParsingError) -> polysock::AdapterError {
    polysock::metrics::adapter_error("registry", "invalid");
    polysock::AdapterError::Invalid(format!("node registry: {error}"))
}
