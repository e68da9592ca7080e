//! Three Polysock nodes on one real `redis-server`, with real WebSocket
//! clients: broadcast from every node reaches every socket exactly once,
//! rooms joined on one node are used from another, counts and ids, remote
//! send and close, a dead node forgotten within its bound, and a Redis
//! outage: local traffic goes on, cross-node calls fail fast with
//! `AdapterError::Unavailable`, broadcasts reach every node again after.

mod support;

use std::time::{Duration, Instant};

use polysock::{AdapterError, Target};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_from_each_node_reaches_every_socket_once() {
    let redis = Redis::start().await;
    let nodes = cluster(&redis, 3, |config| config).await;
    let mut clients = Vec::new();
    for node in &nodes {
        clients.push(node.client().await);
        clients.push(node.client().await);
    }
    for (i, node) in nodes.iter().enumerate() {
        let queued = node
            .polysock
            .adapter()
            .broadcast(Target::all(), text(&format!("from-{i}")))
            .await
            .expect("broadcast");
        assert_eq!(queued, 2, "two sockets on node {i}");
    }
    for client in &mut clients {
        let mut seen = client.until_all(&["from-0", "from-1", "from-2"]).await;
        seen.sort();
        assert_eq!(seen, ["from-0", "from-1", "from-2"], "each once");
    }
    // A marker from every node: Redis delivers a channel in publish order,
    // so a duplicate of any broadcast would arrive before the markers.
    for (i, node) in nodes.iter().enumerate() {
        node.polysock
            .adapter()
            .broadcast(Target::all(), text(&format!("end-{i}")))
            .await
            .unwrap();
    }
    for client in &mut clients {
        let mut seen = client.until_all(&["end-0", "end-1", "end-2"]).await;
        seen.sort();
        assert_eq!(seen, ["end-0", "end-1", "end-2"], "no duplicate");
    }
    // Except: a socket on another node left out.
    let left_out = clients[3].id.clone();
    nodes[2]
        .polysock
        .adapter()
        .broadcast(Target::all().except(left_out), text("but-one"))
        .await
        .unwrap();
    // The marker from the same node: it follows "but-one" everywhere.
    nodes[2]
        .polysock
        .adapter()
        .broadcast(Target::all(), text("end2"))
        .await
        .unwrap();
    for (i, client) in clients.iter_mut().enumerate() {
        let seen = client.until("end2").await;
        let expected: &[&str] = if i == 3 {
            &["end2"]
        } else {
            &["but-one", "end2"]
        };
        assert_eq!(seen, expected, "client {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_members_counts_and_sockets_by_id_across_nodes() {
    let redis = Redis::start().await;
    let nodes = cluster(&redis, 3, |config| config).await;
    let mut a = nodes[0].client().await;
    let mut b = nodes[1].client().await;
    let mut c = nodes[2].client().await;
    let adapter = |i: usize| nodes[i].polysock.adapter().clone();

    // a (on node 0) joins x from node 1; c joins x on its own node.
    assert_eq!(adapter(1).join(&a.id, "x").await, Ok(true));
    assert_eq!(adapter(2).join(&a.id, "x").await, Ok(false), "in x already");
    assert_eq!(adapter(2).join(&c.id, "x").await, Ok(true));
    let mut in_x = vec![a.id.clone(), c.id.clone()];
    in_x.sort();
    assert_eq!(adapter(1).members("x").await.unwrap(), in_x);
    assert_eq!(adapter(2).rooms_of(&a.id).await.unwrap(), ["x"]);
    assert!(adapter(0).rooms_of(&b.id).await.unwrap().is_empty());

    // A room broadcast from the node with no member reaches both members.
    adapter(1)
        .broadcast(Target::room("x"), text("to-x"))
        .await
        .unwrap();
    adapter(1)
        .broadcast(Target::all(), text("end"))
        .await
        .unwrap();
    assert_eq!(a.until("end").await, ["to-x", "end"]);
    assert_eq!(b.until("end").await, ["end"]);
    assert_eq!(c.until("end").await, ["to-x", "end"]);

    // Counts and ids of the whole cluster, from any node.
    let mut all = vec![a.id.clone(), b.id.clone(), c.id.clone()];
    all.sort();
    for i in 0..3 {
        assert_eq!(adapter(i).socket_count().await, Ok(3));
        assert_eq!(adapter(i).socket_ids().await.unwrap(), all);
    }

    // Send to and close sockets on other nodes.
    adapter(0).send_to(&b.id, text("direct")).await.unwrap();
    assert_eq!(b.next().await.as_deref(), Some("direct"));
    assert_eq!(
        adapter(0).send_to("no-such-socket", text("lost")).await,
        Err(AdapterError::NotFound)
    );
    assert_eq!(adapter(2).leave(&a.id, "x").await, Ok(true));
    assert_eq!(adapter(1).members("x").await.unwrap(), [c.id.clone()]);
    assert!(matches!(
        adapter(1).close(&c.id, 999, "bad code").await,
        Err(AdapterError::Invalid(_))
    ));
    adapter(0).close(&c.id, 4000, "bye").await.unwrap();
    assert_eq!(c.next().await, None, "closed from node 0");
    let c_id = c.id.clone();
    eventually("c forgotten everywhere", WAIT, || {
        let adapter = adapter(1);
        let c_id = c_id.clone();
        async move {
            !adapter
                .socket_ids()
                .await
                .unwrap_or_default()
                .contains(&c_id)
        }
    })
    .await;
    assert_eq!(adapter(1).socket_count().await, Ok(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_node_is_forgotten_within_three_missed_beats() {
    let redis = Redis::start().await;
    // The defaults: a beat each second, forgotten 3 s after the last.
    let nodes = cluster(&redis, 3, |config| config).await;
    let _a = nodes[0].client().await;
    let _b = nodes[1].client().await;
    let _c = nodes[2].client().await;
    assert_eq!(nodes[0].polysock.adapter().socket_count().await, Ok(3));

    nodes[2].cluster.abandon(); // as a crash: no goodbye
    let took = eventually("node2 forgotten", WAIT, || {
        let gone = nodes[0].cluster.nodes().len() == 2 && nodes[1].cluster.nodes().len() == 2;
        async move { gone }
    })
    .await;
    // TTL 3 s, plus up to one beat to notice, plus scheduling slack.
    assert!(
        took <= Duration::from_millis(4_500),
        "forgotten after {took:?}"
    );
    assert!(nodes[0]
        .cluster
        .nodes()
        .iter()
        .all(|node| node.id != "node2"));
    // Its sockets are no longer counted; the survivors still answer.
    assert_eq!(nodes[0].polysock.adapter().socket_count().await, Ok(2));
    assert_eq!(
        nodes[1]
            .polysock
            .adapter()
            .socket_ids()
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_keeps_local_traffic_and_fails_cross_node_calls_fast() {
    let mut redis = Redis::start().await;
    let handle = polysock::metrics::install().expect("the test's recorder");
    let timeout = Duration::from_millis(500);
    let mut nodes = Vec::new();
    for i in 0..2 {
        let config = polysock_redis::RedisConfig::new(redis.url())
            .node_id(format!("node{i}"))
            .request_timeout(timeout)
            .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(500));
        let metrics = polysock::metrics::Metrics::new(handle.clone());
        nodes.push(
            Node::start_with(config, move |app, polysock| {
                let metrics = metrics.watch(polysock);
                app.route("/metrics", metrics.handler())
            })
            .await,
        );
    }
    eventually("both nodes connected", WAIT, || {
        let ready = nodes
            .iter()
            .all(|node| node.cluster.is_connected() && node.cluster.nodes().len() == 2);
        async move { ready }
    })
    .await;
    let mut a = nodes[0].client().await;
    let mut b = nodes[1].client().await;

    redis.stop().await;
    // Local echo goes on.
    for i in 0..20 {
        let message = format!("echo-{i}");
        a.send(&message).await;
        assert_eq!(a.next().await, Some(message));
    }
    // Cross-node calls fail fast, with the error type, never hang.
    let started = Instant::now();
    let count = nodes[0].polysock.adapter().socket_count().await;
    assert!(
        matches!(count, Err(AdapterError::Unavailable(_))),
        "{count:?}"
    );
    let sent = nodes[0]
        .polysock
        .adapter()
        .send_to(&b.id, text("lost"))
        .await;
    assert!(
        matches!(sent, Err(AdapterError::Unavailable(_))),
        "{sent:?}"
    );
    // A broadcast still reaches this node's sockets, and says the rest failed.
    let broadcast = nodes[0]
        .polysock
        .adapter()
        .broadcast(Target::all(), text("local-only"))
        .await;
    assert!(
        matches!(broadcast, Err(AdapterError::Unavailable(_))),
        "{broadcast:?}"
    );
    assert!(
        started.elapsed() < timeout * 3 + Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(a.next().await.as_deref(), Some("local-only"));
    // Local operations of the adapter keep working.
    assert_eq!(nodes[0].polysock.adapter().join(&a.id, "x").await, Ok(true));
    assert_eq!(
        nodes[0]
            .polysock
            .adapter()
            .send_to(&a.id, text("self"))
            .await,
        Ok(())
    );
    assert_eq!(a.next().await.as_deref(), Some("self"));

    let scrape = http_get(nodes[0].addr, "/metrics").await;
    assert!(
        scrape.contains("polysock_adapter_errors_total{"),
        "{scrape}"
    );
    assert!(
        scrape.contains("polysock_sessions_open{transport=\"websocket\"} 1"),
        "{scrape}"
    );

    // Redis is back: broadcasts reach every node again.
    redis.restart().await;
    eventually("both nodes reconnected", WAIT, || {
        let ready = nodes.iter().all(|node| node.cluster.is_connected());
        async move { ready }
    })
    .await;
    nodes[0]
        .polysock
        .adapter()
        .broadcast(Target::all(), text("back"))
        .await
        .expect("broadcast after the outage");
    assert_eq!(b.next().await.as_deref(), Some("back"));
    assert_eq!(a.next().await.as_deref(), Some("back"));
    assert_eq!(nodes[1].polysock.adapter().socket_count().await, Ok(2));

    let scrape = http_get(nodes[1].addr, "/metrics").await;
    assert!(
        scrape.contains("polysock_publish_seconds_bucket"),
        "{scrape}"
    );
    assert!(
        scrape.contains("polysock_messages_total{direction=\"in\"}"),
        "{scrape}"
    );
    assert!(
        scrape.contains("polysock_sessions_opened_total{transport=\"websocket\"}"),
        "{scrape}"
    );
}

/// Redis restarted on the same address with nothing saved: no subscription
/// and no registry entry survives. Every node keeps listing every other one
/// throughout (a node whose first beat lands in the empty registry must not
/// forget the others, or forwarding answers "Session ID unknown"), and the
/// subscriptions come back within a few beats even though the reconnect
/// backoff has grown far beyond that during the outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_redis_restart_the_registry_holds_and_subscriptions_return_within_beats() {
    let mut redis = Redis::start().await;
    let beat = Duration::from_millis(500);
    let mut nodes = Vec::new();
    for i in 0..3 {
        let config = polysock_redis::RedisConfig::new(redis.url())
            .node_id(format!("node{i}"))
            .heartbeat(beat)
            .node_ttl(beat * 3)
            .reconnect_backoff(Duration::from_millis(200), Duration::from_secs(60));
        nodes.push(Node::start(config).await);
        // Heartbeats a third of a beat apart, as nodes started at different
        // times have them: the first node to beat into the empty Redis
        // then finds no one else there for a while.
        tokio::time::sleep(beat / 3).await;
    }
    eventually("every node sees the cluster", WAIT, || {
        let ready = nodes
            .iter()
            .all(|node| node.cluster.is_connected() && node.cluster.nodes().len() == 3);
        async move { ready }
    })
    .await;
    let mut clients = Vec::new();
    for node in &nodes {
        clients.push(node.client().await);
    }

    redis.stop().await;
    eventually("every node sees Redis gone", WAIT, || {
        let down = nodes.iter().all(|node| !node.cluster.is_connected());
        async move { down }
    })
    .await;
    // Long enough for the subscriber's backoff to pass 6 s (0.2 s doubling:
    // the wait after the fifth failed attempt is 6.4 s).
    tokio::time::sleep(Duration::from_millis(6_500)).await;
    redis.restart().await;
    let back = Instant::now();

    let mut watch = tokio::time::interval(Duration::from_millis(10));
    let mut fewest = 3;
    while back.elapsed() < WAIT {
        watch.tick().await;
        for node in &nodes {
            fewest = fewest.min(node.cluster.nodes().len());
        }
        let connected = nodes.iter().all(|node| node.cluster.is_connected());
        if connected && back.elapsed() > beat * 4 {
            break;
        }
    }
    let took = back.elapsed();
    assert!(
        nodes.iter().all(|node| node.cluster.is_connected()),
        "reconnected within {WAIT:?}"
    );
    assert_eq!(fewest, 3, "a node forgot another while Redis was empty");
    // Woken by the first good heartbeat, not by a 6.4 s backoff.
    assert!(
        took < Duration::from_secs(4),
        "subscribed again after {took:?}"
    );
    nodes[1]
        .polysock
        .adapter()
        .broadcast(Target::all(), text("after the restart"))
        .await
        .expect("broadcast after the restart");
    for client in &mut clients {
        assert_eq!(client.next().await.as_deref(), Some("after the restart"));
    }
}
