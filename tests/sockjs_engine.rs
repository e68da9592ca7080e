//! SockJS sessions are sessions of the same engine: what the application
//! sees of them (`transport()`, close codes, rooms and broadcast, the
//! handshake hook, shutdown), the SockJS timers, and the SockJS rows of
//! the bad-input table (protocol-spec 09). Real server on port 0, real
//! HTTP and WebSocket clients.

#[path = "sockjs/support.rs"]
mod support;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use polysock::{Polysock, Refuse, SockJs, SockJsTransport, Transport};
use tokio::time::timeout;

use support::{session_url, start, start_default, WAIT};

fn sockjs(transport: SockJsTransport) -> Transport {
    Transport::SockJs(transport)
}

#[tokio::test]
async fn transport_names_the_sockjs_transport() {
    let mut server = start_default().await;
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    let socket = server.socket().await;
    assert_eq!(socket.transport(), sockjs(SockJsTransport::XhrPolling));
    assert_eq!(socket.transport().as_str(), "sockjs-xhr-polling");
    // Another receiving transport may serve the session; the one it opened
    // on stays named (the engine moves sessions only to a WebSocket).
    let mut stream = server
        .stream("POST", &format!("{url}/xhr_streaming"), &[])
        .await;
    stream.skip(2049).await;
    server.post(&format!("{url}/xhr_send"), r#"["x"]"#).await;
    stream.expect("a[\"x\"]\n").await;
    assert_eq!(socket.transport(), sockjs(SockJsTransport::XhrPolling));

    let _ws = {
        let mut ws = server
            .websocket(&format!("{}/websocket", session_url("/echo")))
            .await;
        assert_eq!(ws.recv().await, "o");
        ws
    };
    assert_eq!(
        server.socket().await.transport(),
        sockjs(SockJsTransport::WebSocket)
    );
    let mut raw = server.websocket("/echo/websocket").await;
    raw.send("hi").await;
    assert_eq!(raw.recv().await, "hi");
    assert_eq!(
        server.socket().await.transport(),
        sockjs(SockJsTransport::RawWebSocket)
    );
    for (path, transport) in [
        ("eventsource", SockJsTransport::EventSource),
        ("htmlfile?c=cb", SockJsTransport::Htmlfile),
    ] {
        let url = session_url("/echo");
        let _stream = server.stream("GET", &format!("{url}/{path}"), &[]).await;
        assert_eq!(server.socket().await.transport(), sockjs(transport));
    }
    let url = session_url("/echo");
    server.get(&format!("{url}/jsonp?c=cb")).await;
    assert_eq!(
        server.socket().await.transport(),
        sockjs(SockJsTransport::JsonpPolling)
    );
}

#[tokio::test]
async fn broadcast_and_rooms_reach_sockjs_and_engine_io_sessions() {
    let mut server = start_default().await;
    // An Engine.IO polling session and a SockJS one on the same server.
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let base = server.url("/engine.io/?EIO=4&transport=polling");
    let eio = |query: String| {
        let client = client.clone();
        let url = format!("{base}{query}");
        async move {
            let response = timeout(WAIT, client.get(url.parse().unwrap()))
                .await
                .unwrap()
                .unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            String::from_utf8(body.to_vec()).unwrap()
        }
    };
    let open = eio(String::new()).await;
    let open: serde_json::Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
    let sid = open["sid"].as_str().unwrap().to_owned();
    let engine_socket = server.socket().await;
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    let sockjs_socket = server.socket().await;
    assert_eq!(server.polysock.socket_count(), 2);

    assert_eq!(server.polysock.broadcast("to all"), 2);
    assert_eq!(
        server.post(&format!("{url}/xhr"), "").await.body,
        "a[\"to all\"]\n"
    );
    assert_eq!(eio(format!("&sid={sid}")).await, "4to all");

    // The SockJS session's engine id means nothing to the Engine.IO
    // endpoint: no Engine.IO packet can reach it or end it.
    let post = http::Request::post(format!("{base}&sid={}", sockjs_socket.id()))
        .body(Full::new(Bytes::from_static(b"4injected\x1e1")))
        .unwrap();
    let response = timeout(WAIT, client.request(post)).await.unwrap().unwrap();
    assert_eq!(response.status(), 400);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["code"], 1);
    let polled = eio(format!("&sid={}", sockjs_socket.id())).await;
    assert!(polled.contains("\"code\":1"), "{polled}");
    assert!(!sockjs_socket.is_closed());

    let rooms = server.polysock.rooms();
    assert!(rooms.join(&sockjs_socket, "lobby"));
    assert!(rooms.join(&engine_socket, "lobby"));
    assert_eq!(rooms.to("lobby").send("in the lobby"), 2);
    assert_eq!(
        server.post(&format!("{url}/xhr"), "").await.body,
        "a[\"in the lobby\"]\n"
    );
    assert_eq!(eio(format!("&sid={sid}")).await, "4in the lobby");
}

#[tokio::test]
async fn server_close_reaches_the_client_as_a_close_frame() {
    let mut server = start_default().await;
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    server.socket().await.close(4001, "bye </script>").unwrap();
    let expected = "c[4001,\"bye \\u003c/script\\u003e\"]\n";
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, expected);
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, expected);
    assert_eq!(
        server
            .post(&format!("{url}/xhr_send"), r#"["x"]"#)
            .await
            .status,
        404
    );

    let mut ws = server
        .websocket(&format!("{}/websocket", session_url("/echo")))
        .await;
    assert_eq!(ws.recv().await, "o");
    server.socket().await.close(4002, "done").unwrap();
    assert_eq!(ws.recv().await, r#"c[4002,"done"]"#);
    assert_eq!(ws.closed().await, Some((4002, "done".to_owned())));

    // Messages queued before the close are delivered first.
    let url = session_url("/echo");
    let mut stream = server
        .stream("POST", &format!("{url}/xhr_streaming"), &[])
        .await;
    stream.skip(2049).await;
    stream.expect("o\n").await;
    let socket = server.socket().await;
    socket.send("last words").await.unwrap();
    socket.close(3001, "later").unwrap();
    stream.expect("a[\"last words\"]\n").await;
    stream.expect("c[3001,\"later\"]\n").await;
    stream.expect_end().await;
}

#[tokio::test]
async fn shutdown_closes_sockjs_sessions_going_away() {
    let mut server = start_default().await;
    let url = session_url("/echo");
    let mut stream = server
        .stream("POST", &format!("{url}/xhr_streaming"), &[])
        .await;
    stream.skip(2049).await;
    stream.expect("o\n").await;
    let socket = server.socket().await;
    let polysock = server.polysock.clone();
    let shutdown = tokio::spawn(async move { polysock.shutdown(WAIT).await });
    stream.expect("c[1001,\"going away\"]\n").await;
    assert!(
        timeout(WAIT, shutdown).await.unwrap().unwrap(),
        "every session gone in time"
    );
    assert!(socket.is_closed());
    let refused = server
        .post(&format!("{}/xhr", session_url("/echo")), "")
        .await;
    assert_eq!(refused.status, 503);
}

#[tokio::test]
async fn disconnect_delay_ends_a_session_without_receiver() {
    let mut server = start(Polysock::builder().allow_any_origin(), |b| {
        b.disconnect_delay(Duration::from_millis(100))
    })
    .await;
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    let socket = server.socket().await;
    timeout(WAIT, socket.closed())
        .await
        .expect("closed after disconnect_delay");
    assert_eq!(server.polysock.socket_count(), 0);
    // The id is free again: a new session opens.
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
}

#[tokio::test]
async fn heartbeats_on_every_receiver() {
    let server = start(Polysock::builder().allow_any_origin(), |b| {
        b.heartbeat_delay(Duration::from_millis(50))
    })
    .await;
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "h\n");
    let mut ws = server
        .websocket(&format!("{}/websocket", session_url("/echo")))
        .await;
    assert_eq!(ws.recv().await, "o");
    assert_eq!(ws.recv().await, "h");
    let url = session_url("/echo");
    let mut stream = server
        .stream("GET", &format!("{url}/eventsource"), &[])
        .await;
    stream.expect("\r\n").await;
    stream.expect("data: o\r\n\r\n").await;
    stream.expect("data: h\r\n\r\n").await;
}

#[tokio::test]
async fn a_thousand_messages_arrive_in_order() {
    let mut server = start_default().await;
    let url = session_url("/echo");
    let mut stream = server
        .stream("POST", &format!("{url}/xhr_streaming"), &[])
        .await;
    stream.skip(2049).await;
    stream.expect("o\n").await;
    let _socket = server.socket().await;
    let hostile = ["</script>", "\u{2028}\u{2029}", "\u{0}\u{1e}\u{1f}", "\"\\"];
    let mut expected = Vec::new();
    for n in 0..1000 {
        let text = format!("{n} {}", hostile[n % hostile.len()]);
        let body = serde_json::to_string(&[&text]).unwrap();
        assert_eq!(
            server.post(&format!("{url}/xhr_send"), &body).await.status,
            204
        );
        expected.push(text);
    }
    let mut got: Vec<String> = Vec::new();
    while got.len() < expected.len() {
        // Each response ends after 4 KiB of frames (the suite's limit):
        // reconnect and read on.
        let line = stream.until("\n").await;
        let frame: Vec<String> = serde_json::from_str(line.strip_prefix('a').unwrap()).unwrap();
        got.extend(frame);
        if got.len() < expected.len() && stream_ended(&mut stream).await {
            stream = server
                .stream("POST", &format!("{url}/xhr_streaming"), &[])
                .await;
            stream.skip(2049).await;
        }
    }
    assert_eq!(got, expected);
}

/// Whether a streaming response has ended (without consuming a frame).
async fn stream_ended(stream: &mut support::Streamed) -> bool {
    stream.is_at_end().await
}

// ----- the SockJS rows of the bad-input table (protocol-spec 09) ------------

/// A server with a 1 KiB `max_payload`, one open xhr session on it, and
/// the application's sender for that session.
async fn bad_input_setup() -> (support::SockJsServer, String, polysock::SocketSender) {
    let mut server = start(
        Polysock::builder().allow_any_origin().max_payload(1024),
        |b| b,
    )
    .await;
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    let socket = server.socket().await;
    (server, url, socket)
}

/// The session still works: a message goes round.
async fn still_echoes(server: &support::SockJsServer, url: &str) {
    assert_eq!(
        server
            .post(&format!("{url}/xhr_send"), r#"["ok?"]"#)
            .await
            .status,
        204
    );
    assert_eq!(
        server.post(&format!("{url}/xhr"), "").await.body,
        "a[\"ok?\"]\n"
    );
}

#[tokio::test]
async fn row_s1_bad_json_in_xhr_send() {
    let (server, url, socket) = bad_input_setup().await;
    for body in [r#"["x"#, "[1]", "{}", "\"x\"", "[\"\u{1}\"]", r#"["\x"]"#] {
        let reply = server.post(&format!("{url}/xhr_send"), body).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (500, "Broken JSON encoding."),
            "{body}"
        );
    }
    let not_utf8 = server
        .request(
            "POST",
            &format!("{url}/xhr_send"),
            &[],
            Bytes::from_static(b"[\"\xff\"]"),
        )
        .await;
    assert_eq!(not_utf8.status, 500);
    let jsonp = server
        .request(
            "POST",
            &format!("{url}/jsonp_send"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "d=%5B%22x",
        )
        .await;
    assert_eq!(
        (jsonp.status, jsonp.body.as_str()),
        (500, "Broken JSON encoding.")
    );
    assert!(!socket.is_closed());
    still_echoes(&server, &url).await;
}

#[tokio::test]
async fn row_s2_empty_body() {
    let (server, url, socket) = bad_input_setup().await;
    let reply = server.post(&format!("{url}/xhr_send"), "").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (500, "Payload expected.")
    );
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    for body in ["", "d=", "p=p"] {
        let reply = server
            .request("POST", &format!("{url}/jsonp_send"), &form, body)
            .await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (500, "Payload expected."),
            "{body:?}"
        );
    }
    assert!(!socket.is_closed());
    still_echoes(&server, &url).await;
}

#[tokio::test]
async fn row_s3_oversize_body() {
    let (server, url, socket) = bad_input_setup().await;
    let big = format!("[\"{}\"]", "x".repeat(2000));
    let reply = server.post(&format!("{url}/xhr_send"), &big).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (413, "Payload too large.")
    );
    timeout(WAIT, socket.closed()).await.expect("closed");
    assert_eq!(
        server.post(&format!("{url}/xhr"), "").await.body,
        "c[1009,\"message too large\"]\n"
    );
    // Exactly max_payload is fine on another session.
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    let exact = format!("[\"{}\"]", "x".repeat(1024 - 4));
    assert_eq!(
        server.post(&format!("{url}/xhr_send"), &exact).await.status,
        204
    );
}

#[tokio::test]
async fn row_s4_unknown_session() {
    let (server, url, socket) = bad_input_setup().await;
    let reply = server
        .post(&format!("{}/xhr_send", session_url("/echo")), r#"["x"]"#)
        .await;
    assert_eq!(reply.status, 404);
    let reply = server
        .request(
            "POST",
            &format!("{}/jsonp_send", session_url("/echo")),
            &[],
            "d=%5B%5D",
        )
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(server.polysock.socket_count(), 1);
    assert!(!socket.is_closed());
    still_echoes(&server, &url).await;
}

#[tokio::test]
async fn row_s5_wrong_method() {
    let (server, url, socket) = bad_input_setup().await;
    for (method, path, allow) in [
        ("GET", "xhr_send", "OPTIONS, POST"),
        ("GET", "xhr", "OPTIONS, POST"),
        ("PUT", "xhr_streaming", "OPTIONS, POST"),
        ("POST", "eventsource", "GET"),
        ("POST", "htmlfile?c=x", "GET"),
        ("POST", "jsonp?c=x", "GET"),
        ("GET", "jsonp_send", "POST"),
        ("DELETE", "websocket", "GET"),
    ] {
        let reply = server
            .request(method, &format!("{url}/{path}"), &[], "")
            .await;
        assert_eq!(reply.status, 405, "{method} {path}");
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
        assert!(reply.body.is_empty());
    }
    for (method, path) in [
        ("POST", "/echo/info"),
        ("PUT", "/echo"),
        ("POST", "/echo/iframe.html"),
    ] {
        assert_eq!(
            server.request(method, path, &[], "").await.status,
            405,
            "{method} {path}"
        );
    }
    assert!(!socket.is_closed());
    still_echoes(&server, &url).await;
}

#[tokio::test]
async fn row_s6_session_id_with_path_characters() {
    let (server, url, socket) = bad_input_setup().await;
    let long = "x".repeat(129);
    for path in [
        "/echo/a./b/xhr",
        "/echo/a/b./xhr",
        "/echo/a/../xhr",
        "/echo/../../xhr",
        "/echo/a/b/c/xhr",
        "/echo/a//xhr",
        "/echo/a/b/xhr/",
        &format!("/echo/a/{long}/xhr"),
    ] {
        assert_eq!(server.post(path, "").await.status, 404, "{path}");
        assert_eq!(
            server
                .post(&path.replace("/xhr", "/xhr_send"), "[]")
                .await
                .status,
            404
        );
    }
    // Nothing was opened, the session carries on.
    assert_eq!(server.polysock.socket_count(), 1);
    assert!(!socket.is_closed());
    still_echoes(&server, &url).await;
}

#[tokio::test]
async fn origins_follow_the_servers_policy() {
    // The default policy: same origin only.
    let server = start(Polysock::builder(), |b| b).await;
    let url = session_url("/echo");
    let foreign = [("Origin", "http://elsewhere.example")];
    for (method, path) in [
        ("POST", format!("{url}/xhr")),
        ("GET", "/echo/info".to_owned()),
    ] {
        let reply = server.request(method, &path, &foreign, "").await;
        assert_eq!(reply.status, 403, "{path}");
    }
    assert_eq!(server.polysock.socket_count(), 0);
    let own = format!("http://{}", server.addr);
    let reply = server
        .request(
            "POST",
            &format!("{url}/xhr"),
            &[("Origin", own.as_str())],
            "",
        )
        .await;
    assert_eq!(reply.body, "o\n");
}

#[tokio::test]
async fn the_handshake_hook_sees_and_may_refuse_sockjs_sessions() {
    let polysock = Polysock::builder()
        .allow_any_origin()
        .on_handshake(|handshake| async move {
            assert!(matches!(handshake.transport(), Transport::SockJs(_)));
            match handshake.headers().get("x-token") {
                Some(_) => Ok(polysock::Accept::new()),
                None => Err(Refuse::new("no token")),
            }
        })
        .on_connect(|_socket| async {})
        .build()
        .unwrap();
    let endpoint = SockJs::builder(&polysock).build().unwrap();
    let app = axum::Router::new().nest_service("/sockjs", endpoint.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { polysock::serve(listener, app).await.unwrap() });
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let post = |token: bool| {
        let mut request = http::Request::post(format!("http://{addr}/sockjs/0/abc/xhr"));
        if token {
            request = request.header("x-token", "1");
        }
        let request = request.body(Full::new(Bytes::new())).unwrap();
        let client = client.clone();
        async move {
            let response = timeout(WAIT, client.request(request))
                .await
                .unwrap()
                .unwrap();
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    assert_eq!(post(false).await.0, 403);
    assert_eq!(polysock.socket_count(), 0);
    assert_eq!(post(true).await, (200, "o\n".to_owned()));
    assert_eq!(polysock.socket_count(), 1);
}

#[tokio::test]
async fn racing_first_requests_share_one_session() {
    // A hook that yields widens the window between looking the id up and
    // claiming it, so the requests really race.
    let builder = Polysock::builder()
        .allow_any_origin()
        .on_handshake(|_handshake| async {
            tokio::task::yield_now().await;
            Ok(polysock::Accept::new())
        });
    let mut server = start(builder, |b| b.heartbeat_delay(Duration::from_millis(100))).await;
    let url = session_url("/echo");
    let server_ref = &server;
    let replies = futures::future::join_all((0..8).map(|n| {
        let url = url.clone();
        async move {
            if n % 2 == 0 {
                return (server_ref.post(&format!("{url}/xhr"), "").await.body, None);
            }
            let mut stream = server_ref
                .stream("POST", &format!("{url}/xhr_streaming"), &[])
                .await;
            stream.skip(2049).await;
            // Kept open: a receiver cut off would end the session.
            (stream.until("\n").await + "\n", Some(stream))
        }
    }))
    .await;
    let (replies, _streams): (Vec<String>, Vec<_>) = replies.into_iter().unzip();
    // Every first frame: one `o` in all, the others `h` or the busy close.
    let firsts: Vec<&str> = replies
        .iter()
        .map(|body| body.trim_start_matches('h').trim_start_matches('\n'))
        .map(|body| body.split('\n').next().unwrap_or(""))
        .collect();
    assert_eq!(
        firsts.iter().filter(|f| **f == "o").count(),
        1,
        "{firsts:?}"
    );
    for first in &firsts {
        assert!(
            ["o", "", "c[2010,\"Another connection still open\"]"].contains(first),
            "{first:?}"
        );
    }
    let socket = server.socket().await;
    assert_eq!(server.polysock.socket_count(), 1);
    assert!(!socket.is_closed());
    assert_eq!(
        server
            .post(&format!("{url}/xhr_send"), r#"["one"]"#)
            .await
            .status,
        204
    );
}

/// The engine pings every session and closes those that do not pong;
/// SockJS clients never pong. Engine pings every 30 ms with 30 ms to
/// answer: across many ping cycles (told by SockJS heartbeats, every
/// 100 ms) a streaming and a polling session both stay open.
#[tokio::test]
async fn engine_pings_do_not_end_sockjs_sessions() {
    let builder = Polysock::builder()
        .allow_any_origin()
        .ping_interval(Duration::from_millis(30))
        .ping_timeout(Duration::from_millis(30));
    let mut server = start(builder, |b| b.heartbeat_delay(Duration::from_millis(100))).await;
    let streaming = session_url("/echo");
    let mut stream = server
        .stream("POST", &format!("{streaming}/xhr_streaming"), &[])
        .await;
    stream.skip(2049).await;
    stream.expect("o\n").await;
    let streaming_socket = server.socket().await;
    let polling = session_url("/echo");
    assert_eq!(server.post(&format!("{polling}/xhr"), "").await.body, "o\n");
    let polling_socket = server.socket().await;
    for _ in 0..4 {
        stream.expect("h\n").await;
        assert_eq!(server.post(&format!("{polling}/xhr"), "").await.body, "h\n");
    }
    assert!(!streaming_socket.is_closed());
    assert!(!polling_socket.is_closed());
    server
        .post(&format!("{streaming}/xhr_send"), r#"["still"]"#)
        .await;
    let mut frame = stream.until("\n").await;
    while frame == "h" {
        frame = stream.until("\n").await;
    }
    assert_eq!(frame, "a[\"still\"]");
}
