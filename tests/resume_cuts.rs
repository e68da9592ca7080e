//! The resume extension through many cuts: a client that follows
//! protocol-spec 11 by the letter, alternating WebSocket resets and polling
//! stretches that lose GET responses and send every POST twice, against a
//! real server; nothing is lost, duplicated or reordered either way.

mod common;
#[path = "common/resume_support.rs"]
mod resume_support;

use std::time::Duration;

use common::*;
use futures::SinkExt;
use polysock::Polysock;
use resume_support::*;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A client that follows chapter 11 by the letter, for the cut test: it
/// numbers and keeps what it sends, counts what it receives, and after a
/// loss resumes (alternating WebSocket and polling) and sends again what
/// the server lacks.
struct ModelClient {
    sid: String,
    /// Every message the client sends, in order; number = index + 1.
    outbox: Vec<String>,
    /// How many of them the server acknowledged / said it had.
    server_has: u64,
    /// Server messages received, in order.
    inbox: Vec<String>,
}

impl ModelClient {
    fn received(&self) -> u64 {
        self.inbox.len() as u64
    }

    /// Takes one server packet; false for a close.
    fn take(&mut self, packet: &str) -> bool {
        match packet.as_bytes().first() {
            Some(b'4') => self.inbox.push(packet[1..].to_owned()),
            Some(b'7') => {
                let n: u64 = packet[1..].parse().expect("an ack count");
                assert!(n as usize <= self.outbox.len(), "acks only what was sent");
                self.server_has = self.server_has.max(n);
            }
            Some(b'1') => return false,
            _ => {}
        }
        true
    }

    /// Runs one WebSocket connection: resume, re-send, exchange `frames`
    /// frames, then a reset.
    async fn websocket_round(&mut self, server: &TestServer, frames: usize, total: usize) {
        let mut ws = ws_connect(&server.ws_url(&format!(
            "EIO=4&transport=websocket&ext=1&resume={}&last={}",
            self.sid,
            self.received()
        )))
        .await;
        let open = open_json(&ws_next_text(&mut ws).await);
        self.server_has = open["resumed"].as_u64().expect("resumed");
        let mut next = self.server_has as usize;
        for _ in 0..frames {
            if next < total {
                if next == self.outbox.len() {
                    self.outbox.push(format!("c{}", next + 1));
                }
                ws.send(WsMessage::text(format!("4{}", self.outbox[next])))
                    .await
                    .unwrap();
                next += 1;
            }
            if self.inbox.len() >= total && next >= total {
                break;
            }
            let frame = tokio::time::timeout(Duration::from_millis(50), ws_next(&mut ws)).await;
            match frame {
                Ok(Some(WsMessage::Text(text))) => {
                    if text.as_str() == "2" {
                        ws.send(WsMessage::text(format!("7{}", self.received())))
                            .await
                            .unwrap();
                        ws.send(WsMessage::text("3")).await.unwrap();
                    } else {
                        assert!(self.take(text.as_str()), "no close");
                    }
                }
                Ok(other) => panic!("unexpected {other:?}"),
                Err(_) => {}
            }
        }
        ws.send(WsMessage::text(format!("7{}", self.received())))
            .await
            .unwrap();
        reset(ws);
    }

    /// Runs one polling stretch: resume, then GETs and POSTs; every other
    /// GET's response is "lost" (read, then forgotten), and every POST is
    /// sent twice.
    async fn polling_round(&mut self, server: &TestServer, rounds: usize, total: usize) {
        let reply = server
            .get(&format!(
                "EIO=4&transport=polling&ext=1&resume={}&last={}",
                self.sid,
                self.received()
            ))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        self.server_has = open_json(&reply.body)["resumed"].as_u64().unwrap();
        for round in 0..rounds {
            let first = self.server_has as usize;
            let upto = (first + 7).min(total);
            for n in self.outbox.len()..upto {
                self.outbox.push(format!("c{}", n + 1));
            }
            if first < upto {
                let body = self.outbox[first..upto]
                    .iter()
                    .map(|m| format!("4{m}"))
                    .collect::<Vec<_>>()
                    .join(&RS.to_string());
                let query = format!("EIO=4&transport=polling&sid={}&seq={}", self.sid, first + 1);
                for _ in 0..2 {
                    assert_eq!(server.post(&query, body.clone()).await.body, "ok");
                }
                self.server_has = upto as u64;
            }
            if self.inbox.len() >= total {
                continue;
            }
            let reply = server
                .get(&format!(
                    "EIO=4&transport=polling&sid={}&ack={}",
                    self.sid,
                    self.received()
                ))
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            if round % 2 == 1 {
                continue; // this response never reached the client
            }
            for packet in reply.body.split(RS) {
                if packet == "2" {
                    let pong = format!("EIO=4&transport=polling&sid={}", self.sid);
                    let body = format!("7{}{RS}3", self.received());
                    assert_eq!(server.post(&pong, body).await.body, "ok");
                } else {
                    assert!(self.take(packet), "no close");
                }
            }
        }
    }
}

#[tokio::test]
async fn many_cuts_lose_duplicate_and_reorder_nothing_either_way() {
    const TOTAL: usize = 400;
    let mut server = start(Polysock::builder().max_queued_packets(64)).await;
    let mut ws = ws_connect(&server.ws_url("EIO=4&transport=websocket&ext=1&resume=1")).await;
    let sid = open_json(&ws_next_text(&mut ws).await)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    reset(ws);
    let mut socket = server.socket().await;
    let sender = socket.sender();
    let sending = tokio::spawn(async move {
        for n in 1..=TOTAL {
            sender.send(format!("s{n}")).await.expect("never closed");
        }
    });
    let receiving = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < TOTAL {
            got.push(recv(&mut socket).await);
        }
        (got, socket)
    });
    let mut client = ModelClient {
        sid,
        outbox: Vec::new(),
        server_has: 0,
        inbox: Vec::new(),
    };
    let mut cuts = 0;
    let mut seed: u32 = 14;
    while (client.inbox.len() < TOTAL || (client.server_has as usize) < TOTAL) && cuts < 400 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let size = 3 + (seed >> 16) as usize % 12;
        if cuts % 2 == 0 {
            client.websocket_round(&server, size, TOTAL).await;
        } else {
            client.polling_round(&server, size / 5 + 1, TOTAL).await;
        }
        cuts += 1;
    }
    let expected: Vec<String> = (1..=TOTAL).map(|n| format!("s{n}")).collect();
    assert_eq!(client.inbox, expected, "server to client: exact");
    assert!(cuts >= 20, "at least twenty cuts: {cuts}");
    let (got, socket) = tokio::time::timeout(WAIT, receiving)
        .await
        .expect("all client messages in time")
        .unwrap();
    let expected: Vec<String> = (1..=TOTAL).map(|n| format!("c{n}")).collect();
    assert_eq!(got, expected, "client to server: exact");
    tokio::time::timeout(WAIT, sending).await.unwrap().unwrap();
    assert!(!socket.is_closed());
    assert_eq!(server.polysock.socket_count(), 1, "one session throughout");
}
