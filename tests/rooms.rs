//! Rooms against a real server and real WebSocket clients: membership,
//! who gets what, pruning of closed sockets, slow members closed with 1008,
//! and joins, leaves and disconnects racing broadcasts.

mod common;
#[path = "common/rooms_support.rs"]
mod rooms_support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use polysock::{CloseReason, Polysock};
use rooms_support::{connect, next_message, read_until, Peer};
use tokio::time::timeout;

/// Sends `end` straight to the peer and returns what it received before.
async fn drain(peer: &mut Peer) -> Vec<String> {
    peer.socket.try_send("end").unwrap();
    let mut seen = read_until(&mut peer.ws, "end").await;
    assert_eq!(seen.pop().as_deref(), Some("end"));
    seen
}

#[tokio::test]
async fn join_leave_and_listing() {
    let mut server = start(Polysock::builder()).await;
    let a = connect(&mut server).await;
    let b = connect(&mut server).await;
    let rooms = server.polysock.rooms().clone();
    let (ida, idb) = (a.id(), b.id());

    assert!(rooms.join(&a.socket.sender(), "x"));
    assert!(rooms.join(&a.socket.sender(), "y"));
    assert!(!rooms.join(&a.socket.sender(), "x"), "already in x");
    assert!(rooms.join(&b.socket.sender(), "x"));

    let mut both = vec![ida.clone(), idb.clone()];
    both.sort();
    assert_eq!(rooms.members("x"), both);
    assert_eq!(rooms.members("y"), vec![ida.clone()]);
    assert!(rooms.members("nowhere").is_empty());
    assert_eq!(rooms.rooms_of(&ida), ["x", "y"]);
    assert_eq!(rooms.rooms(), ["x", "y"]);
    assert_eq!(
        rooms.socket(&idb).map(|s| s.id().to_owned()),
        Some(idb.clone())
    );

    assert!(rooms.leave(&idb, "x"));
    assert!(!rooms.leave(&idb, "x"), "left already");
    assert!(rooms.rooms_of(&idb).is_empty());
    assert!(
        rooms.socket(&idb).is_none(),
        "in no room, no longer tracked"
    );

    assert_eq!(rooms.leave_all(&ida), ["x", "y"]);
    assert!(rooms.leave_all(&ida).is_empty(), "harmless twice");
    assert!(rooms.rooms().is_empty(), "empty rooms disappear");
}

#[tokio::test]
async fn sends_reach_the_targeted_members_once() {
    let mut server = start(Polysock::builder()).await;
    let mut a = connect(&mut server).await;
    let mut b = connect(&mut server).await;
    let mut c = connect(&mut server).await;
    let rooms = server.polysock.rooms().clone();
    rooms.join(&a.socket.sender(), "x");
    rooms.join(&a.socket.sender(), "y");
    rooms.join(&b.socket.sender(), "x");
    rooms.join(&c.socket.sender(), "y");

    assert_eq!(rooms.to("x").send("to x"), 2);
    assert_eq!(rooms.to("x").except(a.id()).send("to x but a"), 1);
    assert_eq!(rooms.to("x").to("y").send("to x and y"), 3);
    assert_eq!(rooms.all().except(b.id()).send("to all but b"), 2);
    assert_eq!(rooms.to("nowhere").send("to nobody"), 0);
    assert_eq!(rooms.to("x").send("record\u{1e}separator"), 0);

    assert_eq!(drain(&mut a).await, ["to x", "to x and y", "to all but b"]);
    assert_eq!(drain(&mut b).await, ["to x", "to x but a", "to x and y"]);
    assert_eq!(drain(&mut c).await, ["to x and y", "to all but b"]);
}

#[tokio::test]
async fn closed_members_stop_receiving_and_leave_their_rooms_on_their_own() {
    let mut server = start(Polysock::builder()).await;
    let mut a = connect(&mut server).await;
    let mut b = connect(&mut server).await;
    let c = connect(&mut server).await;
    let rooms = server.polysock.rooms().clone();
    for peer in [&a, &b, &c] {
        rooms.join(&peer.socket.sender(), "x");
    }
    rooms.join(&b.socket.sender(), "y");

    // b's client goes away: it is no longer listed nor sent to...
    b.ws.close(None).await.unwrap();
    timeout(WAIT, b.socket.closed()).await.expect("b closed");
    assert!(!rooms.members("x").contains(&b.id()));
    // ...c is closed by the server; a send finds it closed and prunes it.
    c.socket.close(4000, "bye").unwrap();
    assert_eq!(rooms.to("x").send("after"), 1);
    assert_eq!(rooms.members("x"), vec![a.id()]);
    assert!(rooms.members("y").is_empty());
    assert_eq!(drain(&mut a).await, ["after"]);

    // Once the server forgets them, nothing of them is left, although the
    // application never called leave_all (issue 11: no leak).
    let (idb, idc) = (b.id(), c.id());
    server
        .eventually("closed sockets leave their rooms", || {
            rooms.rooms_of(&idb).is_empty() && rooms.rooms_of(&idc).is_empty()
        })
        .await;
    assert!(rooms.socket(&idc).is_none());
    assert_eq!(rooms.rooms(), ["x"]);

    // A closed socket cannot join.
    assert!(!rooms.join(&c.socket.sender(), "x"));
}

#[tokio::test]
async fn works_from_threads_outside_the_runtime() {
    let mut server = start(Polysock::builder()).await;
    let a = connect(&mut server).await;
    let mut b = connect(&mut server).await;
    let rooms = server.polysock.rooms().clone();
    let (sa, sb) = (a.socket.sender(), b.socket.sender());
    let sent = {
        let rooms = rooms.clone();
        std::thread::spawn(move || {
            assert!(rooms.join(&sa, "x"));
            assert!(rooms.join(&sb, "x"));
            rooms.to("x").except(sa.id()).send("one")
        })
        .join()
        .unwrap()
    };
    assert_eq!(sent, 1);
    assert_eq!(drain(&mut b).await, ["one"]);
}

#[tokio::test]
async fn a_member_that_cannot_keep_up_is_closed_with_1008() {
    let mut server = start(Polysock::builder().max_queued_packets(4)).await;
    let mut fast = connect(&mut server).await;
    // A polling client that never comes back for its messages.
    let _ = server.handshake("").await;
    let slow = server.socket().await;
    let rooms = server.polysock.rooms().clone();
    rooms.join(&fast.socket.sender(), "x");
    rooms.join(&slow.sender(), "x");

    for i in 0..10 {
        rooms.to("x").send(format!("m{i}"));
        // The fast client reads each message before the next is sent.
        assert_eq!(next_message(&mut fast.ws).await, Some(format!("m{i}")));
    }
    assert!(slow.is_closed());
    match slow.close_reason() {
        Some(CloseReason::ServerClosed(frame)) => {
            assert_eq!(frame.code, 1008);
            assert_eq!(frame.reason, "too slow: outbound queue full");
        }
        other => panic!("expected a 1008 close, got {other:?}"),
    }
    assert_eq!(rooms.members("x"), vec![fast.id()]);
}

/// One line of a churning peer's log, parsed.
enum Line {
    /// A broadcast: which broadcaster ("b0".., "all") and its sequence number.
    Broadcast(String, u32),
    /// A marker the test queued straight to the socket.
    Marker(String),
}

fn parse(line: &str) -> Line {
    let (head, n) = line.rsplit_once(':').expect("tagged line");
    let n = n.parse().expect("numbered line");
    if head.starts_with('b') || head == "all" {
        Line::Broadcast(head.to_owned(), n)
    } else {
        Line::Marker(head.to_owned())
    }
}

/// Checks that in `seen`, within each run the messages of every
/// broadcaster follow each other without gaps.
fn assert_consecutive(who: &str, run: &[(String, u32)]) {
    let mut last: HashMap<&str, u32> = HashMap::new();
    for (tag, n) in run {
        if let Some(prev) = last.insert(tag, *n) {
            assert_eq!(*n, prev + 1, "{who}: {tag} jumped from {prev} to {n}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn joins_leaves_and_disconnects_race_broadcasts() {
    const STABLE: usize = 3;
    const CHURNING: usize = 8;
    const CLOSING: usize = 6;
    const BROADCASTERS: u32 = 3;
    const SENDS: u32 = 300;

    let mut server = start(Polysock::builder().max_queued_packets(1 << 20)).await;
    let rooms = server.polysock.rooms().clone();
    let mut stable = Vec::new();
    let mut churning = Vec::new();
    let mut closing = Vec::new();
    for _ in 0..STABLE {
        stable.push(connect(&mut server).await);
    }
    for _ in 0..CHURNING {
        churning.push(connect(&mut server).await);
    }
    for _ in 0..CLOSING {
        closing.push(connect(&mut server).await);
    }
    for peer in stable.iter().chain(&closing) {
        assert!(rooms.join(&peer.socket.sender(), "r"));
    }
    let outsider = stable[0].id();

    // Every client reads on its own task until its socket closes or the
    // test's closing `end` arrives.
    let mut readers = Vec::new();
    let mut sockets = Vec::new();
    for (kind, peers) in [("stable", stable), ("churning", churning)] {
        for peer in peers {
            let Peer { socket, mut ws } = peer;
            let name = format!("{kind} {}", socket.id());
            readers.push(tokio::spawn(async move {
                (name, read_until(&mut ws, "end").await)
            }));
            sockets.push((kind, socket));
        }
    }

    // Churning goes on until the last broadcaster is done.
    let broadcasting = Arc::new(AtomicUsize::new(BROADCASTERS as usize));
    let race = async {
        let mut tasks = tokio::task::JoinSet::new();
        for b in 0..BROADCASTERS {
            let rooms = rooms.clone();
            let broadcasting = broadcasting.clone();
            tasks.spawn(async move {
                for n in 0..SENDS {
                    let queued = rooms.to("r").send(format!("b{b}:{n}"));
                    assert!(queued >= STABLE, "the stable members always get it");
                    tokio::task::yield_now().await;
                }
                broadcasting.fetch_sub(1, Ordering::SeqCst);
            });
        }
        {
            let rooms = rooms.clone();
            let outsider = outsider.clone();
            tasks.spawn(async move {
                for n in 0..SENDS {
                    rooms
                        .all()
                        .except(outsider.clone())
                        .send(format!("all:{n}"));
                    tokio::task::yield_now().await;
                }
            });
        }
        for (kind, socket) in &sockets {
            if *kind != "churning" {
                continue;
            }
            let rooms = rooms.clone();
            let sender = socket.sender();
            let broadcasting = broadcasting.clone();
            tasks.spawn(async move {
                let id = sender.id().to_owned();
                let mut n = 0;
                while broadcasting.load(Ordering::SeqCst) > 0 {
                    n += 1;
                    // Markers go straight into the same FIFO queue as the
                    // broadcasts, so they cut the log at the join and leave.
                    sender.try_send(format!("joining:{n}")).unwrap();
                    assert!(rooms.join(&sender, "r"));
                    sender.try_send(format!("joined:{n}")).unwrap();
                    if n % 2 == 0 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    } else {
                        tokio::task::yield_now().await;
                    }
                    sender.try_send(format!("leaving:{n}")).unwrap();
                    assert!(rooms.leave(&id, "r"));
                    sender.try_send(format!("left:{n}")).unwrap();
                    // Stay out a while: a broadcast queued now would land
                    // in this span of the log.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            });
        }
        // Sockets that go away mid-broadcast in three ways.
        for (i, peer) in closing.into_iter().enumerate() {
            let rooms = rooms.clone();
            tasks.spawn(async move {
                let Peer { socket, mut ws } = peer;
                // Let some broadcasts through first.
                for _ in 0..(i * 10) {
                    if next_message(&mut ws).await.is_none() {
                        break;
                    }
                }
                match i % 3 {
                    0 => socket.close(4000, "closed by the server").unwrap(),
                    1 => {
                        let _ = ws.close(None).await;
                    }
                    _ => {
                        rooms.leave_all(socket.id());
                        drop(ws);
                    }
                }
                socket.closed().await;
                assert!(!rooms.members("r").contains(&socket.id().to_owned()));
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("no task panicked");
        }
    };
    timeout(Duration::from_secs(60), race)
        .await
        .expect("no deadlock: the race finished in time");

    // Closed sockets are gone; only the stable members remain.
    assert_eq!(rooms.members("r").len(), STABLE);
    assert_eq!(rooms.all().send("ping:0"), STABLE);

    for (_, socket) in &sockets {
        socket.try_send("end").unwrap();
    }
    let mut churned = 0;
    for reader in readers {
        let (name, seen) = timeout(WAIT, reader).await.expect("reader done").unwrap();
        assert_eq!(seen.last().map(String::as_str), Some("end"), "{name}");
        if name.starts_with("stable") {
            for b in 0..BROADCASTERS {
                let got: Vec<u32> = seen
                    .iter()
                    .filter_map(|line| line.strip_prefix(&format!("b{b}:")))
                    .map(|n| n.parse().unwrap())
                    .collect();
                assert_eq!(got, (0..SENDS).collect::<Vec<_>>(), "{name}: every b{b}");
            }
            let all = seen.iter().filter(|l| l.starts_with("all:")).count();
            let expected = if name.ends_with(&outsider) {
                0
            } else {
                SENDS as usize
            };
            assert_eq!(all, expected, "{name}: messages to all");
            continue;
        }
        // A churning peer: nothing between `left` and the next `joining`,
        // no gap inside a `joined`..`leaving` span.
        let mut inside = false;
        let mut outside = true;
        let mut run = Vec::new();
        for line in &seen[..seen.len() - 1] {
            match parse(line) {
                Line::Marker(mark) => match mark.as_str() {
                    "joining" => outside = false,
                    "joined" => inside = true,
                    "leaving" => {
                        inside = false;
                        assert_consecutive(&name, &run);
                        run.clear();
                    }
                    "left" => outside = true,
                    "ping" => {}
                    other => panic!("{name}: unexpected marker {other}"),
                },
                Line::Broadcast(tag, n) => {
                    assert!(
                        !outside,
                        "{name}: got {tag}:{n} after leaving and before joining again"
                    );
                    if inside {
                        run.push((tag, n));
                        churned += 1;
                    }
                }
            }
        }
        assert!(outside, "{name}: ends outside the room");
    }
    assert!(churned > 0, "churning peers got broadcasts while members");
    eprintln!("{churned} broadcasts seen by churning members");
}
