//! The adapter's two tasks: the subscriber (broadcasts and requests from
//! the other nodes, answers to this node's requests) and the heartbeat
//! (this node's registry entry, and the list of the others).
//!
//! ```text
//!  subscriber: connect ─ SUBSCRIBE broadcast, requests, replies:<me> ─ read ─┐
//!       ▲   (stream ends: Redis gone)                                        │
//!       └──────────── wait (backoff: 100 ms, 200 ms, ... 5 s) ◀──────────────┘
//!  heartbeat, every beat: SET node:<me> PX ttl, SADD nodes ─ list the others
//! ```

use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::StreamExt;
use polysock::LocalNode;
use redis::aio::ConnectionManager;

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
            Ok(Ok(mut pubsub)) => {
                attempt = 0;
                inner.subscribed.store(true, Ordering::SeqCst);
                tracing::info!(node = %inner.config.node_id, "subscribed to the cluster");
                {
                    let mut messages = pubsub.on_message();
                    loop {
                        tokio::select! {
                            message = messages.next() => match message {
                                Some(message) => handle(&inner, message.get_channel_name(), message.get_payload_bytes()),
                                None => break,
                            },
                            () = inner.resubscribe.notified() => break,
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
        tokio::time::sleep(backoff(&inner.config, attempt)).await;
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
            node.broadcast(&target, &message);
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
    loop {
        ticks.tick().await;
        if !inner.node.get().is_some_and(LocalNode::is_alive) {
            return;
        }
        match beat(&inner).await {
            Ok(peers) => {
                *inner.peers() = peers;
                let was = inner.beating.swap(true, Ordering::SeqCst);
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

/// One beat: this node's key with its TTL, then the live others.
async fn beat(inner: &Arc<Inner>) -> Result<Vec<NodeInfo>, polysock::AdapterError> {
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
    let mut cmd = redis::cmd("MGET");
    cmd.arg(keys);
    let infos: Vec<Option<String>> = inner.run("registry", Command::One(cmd)).await?;
    let mut live = Vec::new();
    let mut dead = Vec::new();
    for (id, info) in others.into_iter().zip(infos) {
        match info.and_then(|info| serde_json::from_str::<NodeInfo>(&info).ok()) {
            Some(node) => live.push(node),
            None => dead.push(id),
        }
    }
    if !dead.is_empty() {
        let nodes = inner.channels.nodes.clone();
        let mut cmd = redis::cmd("SREM");
        cmd.arg(nodes).arg(dead);
        let _ = inner.run::<()>("registry", Command::One(cmd)).await;
    }
    live.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(live)
}
