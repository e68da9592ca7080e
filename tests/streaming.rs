//! The streaming extensions against a real server, read chunk by chunk as
//! a browser would: packets arrive while the response is open, response
//! limits and cuts lose nothing, and the one-receiver rule holds.

mod common;

use common::*;
use polysock::{Polysock, Transport};

/// Cuts packets out of a streaming response body, for either framing.
struct Framing {
    transport: Transport,
    delimiter: String,
    /// Bytes of the buffer already consumed.
    offset: usize,
    ended: bool,
}

impl Framing {
    fn for_response(transport: Transport, stream: &Streamed) -> Self {
        let delimiter = match transport {
            Transport::XhrStreaming => {
                let content_type = stream.headers["content-type"].to_str().unwrap();
                let boundary = content_type
                    .split("boundary=\"")
                    .nth(1)
                    .unwrap()
                    .trim_end_matches('"');
                format!("\r\n--{boundary}")
            }
            _ => String::new(),
        };
        Self {
            transport,
            delimiter,
            offset: 0,
            ended: false,
        }
    }

    /// The next complete packet in `buffer`, if there is one.
    fn next(&mut self, buffer: &[u8]) -> Option<String> {
        let text = std::str::from_utf8(&buffer[self.offset..]).ok()?;
        match self.transport {
            Transport::XhrStreaming => {
                if self.offset == 0 {
                    let start = text.find(&self.delimiter)?;
                    assert_eq!(start, 2048, "2 KiB of padding before the first part");
                    self.offset = start + self.delimiter.len();
                    return self.next(buffer);
                }
                let text = std::str::from_utf8(&buffer[self.offset..]).ok()?;
                if text.starts_with("--\r\n") {
                    self.ended = true;
                    return None;
                }
                let end = text.find(&self.delimiter)?;
                let part = &text[..end];
                let (headers, packet) = part.split_once("\r\n\r\n").expect("part headers");
                assert_eq!(headers, "\r\nContent-Type: text/plain; charset=UTF-8");
                self.offset += end + self.delimiter.len();
                Some(packet.to_owned())
            }
            _ => {
                if self.offset == 0 {
                    let start = text.find("<script>p(\"")?;
                    assert!(start >= 1024, "a preamble of at least 1 KiB");
                    self.offset = start;
                    return self.next(buffer);
                }
                if text.starts_with("<script>p(null);</script>") {
                    self.ended = true;
                    return None;
                }
                let end = text.find(");</script>\n")?;
                let literal = text[..end]
                    .strip_prefix("<script>p(")
                    .expect("a script chunk");
                self.offset += end + ");</script>\n".len();
                Some(serde_json::from_str(literal).expect("a JSON-compatible string literal"))
            }
        }
    }
}

/// Reads the next packet from a stream, waiting for it to arrive.
async fn next_packet(stream: &mut Streamed, framing: &mut Framing) -> Option<String> {
    let mut found = None;
    stream
        .read_until(|buffer| {
            found = framing.next(buffer);
            found.is_some() || framing.ended
        })
        .await;
    found
}

fn query(transport: Transport, rest: &str) -> String {
    format!("EIO=4&transport={transport}&ext=1{rest}")
}

async fn arrives_while_open(transport: Transport) {
    let mut server = start(Polysock::builder()).await;
    let mut stream = server.stream(&query(transport, "")).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.headers["x-accel-buffering"], "no");
    assert_eq!(stream.headers["x-content-type-options"], "nosniff");
    assert!(stream.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    let mut framing = Framing::for_response(transport, &stream);
    let open = next_packet(&mut stream, &mut framing).await.unwrap();
    assert!(open.starts_with("0{\"sid\""), "{open}");
    let socket = server.socket().await;
    assert_eq!(socket.transport(), transport);
    for text in [
        "hello",
        "</script><!--",
        "\u{2028}\u{2029}\"\\",
        "\u{1F600}",
    ] {
        socket.send(text).await.unwrap();
        assert_eq!(
            next_packet(&mut stream, &mut framing).await.unwrap(),
            format!("4{text}")
        );
        assert!(!stream.ended, "the packet came while the response is open");
    }
    socket.send(vec![1u8, 2, 3]).await.unwrap();
    assert_eq!(
        next_packet(&mut stream, &mut framing).await.unwrap(),
        "bAQID"
    );
}

#[tokio::test]
async fn xhr_streaming_delivers_while_open() {
    arrives_while_open(Transport::XhrStreaming).await;
}

#[tokio::test]
async fn htmlfile_delivers_while_open() {
    arrives_while_open(Transport::Htmlfile).await;
}

/// 10,000 messages through responses limited to 4 KiB: the client reopens
/// after every response, acknowledging what it read; every message arrives
/// once, in order.
async fn ten_thousand_in_order(transport: Transport) {
    const COUNT: usize = 10_000;
    let mut server = start(Polysock::builder().response_limit(4096)).await;
    let mut stream = server.stream(&query(transport, "")).await;
    let mut framing = Framing::for_response(transport, &stream);
    let open = next_packet(&mut stream, &mut framing).await.unwrap();
    let sid = serde_json::from_str::<serde_json::Value>(&open[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let socket = server.socket().await;
    let sender = socket.sender();
    let producer = tokio::spawn(async move {
        for n in 0..COUNT {
            sender.send(n.to_string()).await.unwrap();
        }
    });
    let mut received = 0;
    let mut acknowledged = 1; // the open packet
    let mut responses = 1;
    while received < COUNT {
        match next_packet(&mut stream, &mut framing).await {
            Some(packet) => {
                acknowledged += 1;
                if let Some(message) = packet.strip_prefix('4') {
                    assert_eq!(message, received.to_string(), "in order, once each");
                    received += 1;
                }
            }
            None => {
                assert!(framing.ended, "responses end with the end marker");
                stream = server
                    .stream(&query(transport, &format!("&sid={sid}&ack={acknowledged}")))
                    .await;
                assert_eq!(stream.status, 200);
                framing = Framing::for_response(transport, &stream);
                responses += 1;
            }
        }
    }
    producer.await.unwrap();
    assert!(
        responses > 10,
        "the response limit ended responses ({responses})"
    );
}

#[tokio::test]
async fn xhr_streaming_ten_thousand_messages() {
    ten_thousand_in_order(Transport::XhrStreaming).await;
}

#[tokio::test]
async fn htmlfile_ten_thousand_messages() {
    ten_thousand_in_order(Transport::Htmlfile).await;
}

/// A response cut after the client read only some of it: the next GET with
/// `ack` gets the rest again, nothing lost or doubled.
#[tokio::test]
async fn a_cut_stream_resumes_from_the_ack() {
    let transport = Transport::XhrStreaming;
    let mut server = start(Polysock::builder()).await;
    let mut stream = server.stream(&query(transport, "")).await;
    let mut framing = Framing::for_response(transport, &stream);
    let open = next_packet(&mut stream, &mut framing).await.unwrap();
    let sid = serde_json::from_str::<serde_json::Value>(&open[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let socket = server.socket().await;
    for n in 0..10 {
        socket.send(n.to_string()).await.unwrap();
    }
    // Read three messages, then lose the connection with the rest unread.
    for n in 0..3 {
        assert_eq!(
            next_packet(&mut stream, &mut framing).await.unwrap(),
            format!("4{n}")
        );
    }
    drop(stream);
    let mut stream = server
        .stream(&query(transport, &format!("&sid={sid}&ack=4")))
        .await;
    let mut framing = Framing::for_response(transport, &stream);
    for n in 3..10 {
        assert_eq!(
            next_packet(&mut stream, &mut framing).await.unwrap(),
            format!("4{n}")
        );
    }
}

#[tokio::test]
async fn a_second_receiver_is_refused() {
    for transport in [Transport::XhrStreaming, Transport::Htmlfile] {
        let server = start(Polysock::builder()).await;
        let mut first = server.stream(&query(transport, "")).await;
        assert_eq!(first.status, 200);
        let mut framing = Framing::for_response(transport, &first);
        let open = next_packet(&mut first, &mut framing).await.unwrap();
        let sid = serde_json::from_str::<serde_json::Value>(&open[1..]).unwrap()["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        let second = server.get(&query(transport, &format!("&sid={sid}"))).await;
        assert_eq!((second.status, second.error_code()), (400, Some(3)));
        // The session is closed; the first stream ends with a close packet.
        first.read_to_end().await;
        let body = String::from_utf8_lossy(&first.buffer);
        let close = "1{\"code\":1008,\"reason\":\"overlapping receive requests\"}";
        let escaped = close.replace('"', "\\\"");
        assert!(
            body.contains(&format!("\r\n\r\n{close}\r\n--"))
                || body.contains(&format!("p(\"{escaped}\")")),
            "{transport}: {body}"
        );
    }
}

/// Issue 12.1: the client names only an index; the server fixes the
/// callback's shape, so `c=eval` and friends cannot make a chunk run text.
#[tokio::test]
async fn the_htmlfile_callback_is_an_index_the_server_shapes() {
    let server = start(Polysock::builder()).await;
    for callback in [
        "eval",
        "setTimeout",
        "Function",
        "location.assign",
        "_polysock_cb.c1",
        "alert(1)",
        "1234567890",
        "%3Cscript%3E",
    ] {
        let reply = server
            .get(&query(Transport::Htmlfile, &format!("&c={callback}")))
            .await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (400, Some(3)),
            "{callback}"
        );
    }
    let mut ok = server.stream(&query(Transport::Htmlfile, "&c=17")).await;
    ok.read_until(|b| b.len() > 200).await;
    assert!(String::from_utf8_lossy(&ok.buffer).contains("var p=parent._polysock_cb.c17;"));
    let csp = ok.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'unsafe-inline'"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
}

/// Issue 12.1: a browser that says the htmlfile GET is a top-level
/// navigation or comes from another site is refused (403, code 4).
#[tokio::test]
async fn htmlfile_is_only_for_same_origin_iframes() {
    let server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("&ext=1").await;
    for (dest, site) in [
        ("document", "none"),
        ("document", "cross-site"),
        ("iframe", "cross-site"),
        ("iframe", "same-site"),
    ] {
        let reply = server
            .get_with_headers(
                &query(Transport::Htmlfile, &format!("&sid={sid}&c=1")),
                &[("sec-fetch-dest", dest), ("sec-fetch-site", site)],
            )
            .await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (403, Some(4)),
            "{dest} {site}"
        );
    }
}

#[tokio::test]
async fn a_session_stays_on_its_transport() {
    let server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("&ext=1").await;
    let reply = server
        .get(&query(Transport::Htmlfile, &format!("&sid={sid}")))
        .await;
    assert_eq!((reply.status, reply.error_code()), (400, Some(3)));
    let poll = server
        .post(&format!("EIO=4&transport=polling&sid={sid}"), "4still open")
        .await;
    assert_eq!(
        poll.body, "ok",
        "a transport mismatch leaves the session alone"
    );
}

#[tokio::test]
async fn stock_sessions_cannot_stream() {
    let server = start(Polysock::builder()).await;
    let reply = server.get("EIO=4&transport=xhr-streaming").await;
    assert_eq!(
        reply.error_code(),
        Some(0),
        "unknown to a client without ext=1"
    );
    let (sid, _) = server.handshake("").await;
    let reply = server
        .get(&format!("EIO=4&transport=htmlfile&sid={sid}"))
        .await;
    assert_eq!(reply.error_code(), Some(3));
}

#[tokio::test]
async fn upstream_is_a_post_with_the_streams_transport_name() {
    let mut server = start(Polysock::builder()).await;
    let (sid, _) = server.handshake("&ext=1").await;
    let mut socket = server.socket().await;
    let reply = server
        .post(
            &query(Transport::XhrStreaming, &format!("&sid={sid}")),
            "4up\x1ebAQ==",
        )
        .await;
    assert_eq!(reply.body, "ok");
    assert_eq!(
        socket.recv().await,
        Some(polysock::Message::Text("up".into()))
    );
    assert_eq!(
        socket.recv().await,
        Some(polysock::Message::Binary(vec![1u8].into()))
    );
}

/// Bad-input row 56: a client that comes back with the same `ack` on every
/// GET never acknowledges anything. Each response replays what it left
/// unacknowledged and, once that fills a response, carries nothing new: the
/// ledger stays within its bound, and since no ping gets through either, the
/// heartbeat closes the session.
#[tokio::test]
async fn a_client_that_never_acknowledges_is_bounded_then_closed_by_the_heartbeat() {
    let mut server = start(
        // Room for 2 KiB of packets after the 2 KiB multipart preamble.
        Polysock::builder()
            .response_limit(4096)
            .max_payload(256)
            .ping_interval(std::time::Duration::from_millis(200))
            .ping_timeout(std::time::Duration::from_millis(200)),
    )
    .await;
    let mut first = server.stream(&query(Transport::XhrStreaming, "")).await;
    let socket = server.socket().await;
    // Fill the first response past its limit, so that it ends.
    for n in 0..30 {
        socket.try_send(format!("{n:0>100}")).unwrap();
    }
    first.read_to_end().await;
    let sid = socket.id().to_owned();
    let ledger_bound = 2 * (4096 + 256 * 4 / 3 + 16);
    let mut bodies = Vec::new();
    let refused = loop {
        let _ = socket.try_send("more");
        assert!(socket.buffered_bytes() <= ledger_bound + 32 * 1024);
        let reply = server
            .get(&query(
                Transport::XhrStreaming,
                &format!("&sid={sid}&ack=0"),
            ))
            .await;
        if reply.status != 200 {
            break reply;
        }
        bodies.push(reply.body.len());
        assert!(bodies.len() < 10_000, "never closed");
    };
    assert_eq!(
        (refused.status, refused.error_code()),
        (400, Some(1)),
        "{}",
        refused.body
    );
    assert_eq!(
        socket.close_reason(),
        Some(polysock::CloseReason::PingTimeout)
    );
    assert!(!bodies.is_empty());
}
