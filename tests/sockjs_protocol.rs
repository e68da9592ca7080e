//! The public SockJS protocol test suite, ported: the cases of
//! `sockjs-protocol.py` (sockjs/sockjs-protocol, protocol 0.3.3), against
//! a real server on port 0 with the suite's four endpoints, driven by real
//! HTTP and WebSocket clients. Test names follow the suite's
//! `Class.test_name`. Left out: `Websocket.test_haproxy` (hixie-76, not
//! spoken), and the two `Http10` / `Http11` cases, which test the HTTP
//! server rather than SockJS (hyper's chunking is tested upstream).
//! This file holds the static URLs, sessions, WebSockets and polling; the
//! streaming transports and the rest are in `sockjs_protocol_streams.rs`.

#[path = "sockjs/support.rs"]
mod support;

use support::{
    assert_cors, assert_not_cached, content_type, session_url, start_default, verify_options,
};

// ----- static URLs ----------------------------------------------------------

#[tokio::test]
async fn base_url_greeting() {
    let server = start_default().await;
    for url in ["/echo", "/echo/"] {
        let reply = server.get(url).await;
        assert_eq!(reply.status, 200);
        assert_eq!(content_type(&reply.headers), "text/plain;charset=UTF-8");
        assert_eq!(reply.body, "Welcome to SockJS!\n");
        assert!(reply.header("set-cookie").is_none());
    }
    for suffix in ["/a", "/a.html", "//", "///", "/a/a", "/a/a/", "/a/"] {
        assert_eq!(
            server.get(&format!("/echo{suffix}")).await.status,
            404,
            "{suffix}"
        );
    }
}

#[tokio::test]
async fn iframe_page() {
    let server = start_default().await;
    for suffix in [
        "/iframe.html",
        "/iframe-a.html",
        "/iframe-.html",
        "/iframe-0.1.2.html",
        "/iframe-0.1.2abc-dirty.2144.html",
        "/iframe-a.html?t=1234",
        "/iframe-0.1.2abc-dirty.2144.html?t=qweqweq123",
    ] {
        let reply = server.get(&format!("/echo{suffix}")).await;
        assert_eq!(reply.status, 200, "{suffix}");
        assert_eq!(content_type(&reply.headers), "text/html;charset=UTF-8");
        let cache = reply.header("cache-control").unwrap();
        assert!(cache.contains("public") && cache.contains("max-age=31536000"));
        assert!(reply.header("expires").is_some());
        assert!(reply.header("etag").is_some());
        assert!(reply.header("last-modified").is_none());
        assert!(reply.header("set-cookie").is_none());
        let body = reply.body.trim();
        assert!(body.starts_with("<!DOCTYPE html>\n<html>\n<head>\n"));
        assert!(body.contains("<script src=\"https://"));
        assert!(body
            .contains("    document.domain = document.domain;\n    SockJS.bootstrap_iframe();\n"));
        assert!(body.ends_with("</body>\n</html>"));
    }
    for suffix in [
        "/iframe.htm",
        "/iframe",
        "/IFRAME.HTML",
        "/IFRAME",
        "/iframe.HTML",
        "/iframe.xml",
        "/iframe-/.html",
    ] {
        assert_eq!(
            server.get(&format!("/echo{suffix}")).await.status,
            404,
            "{suffix}"
        );
    }
}

#[tokio::test]
async fn iframe_page_cacheability() {
    let server = start_default().await;
    let first = server.get("/echo/iframe.html").await;
    let second = server.get("/echo/iframe.html").await;
    let etag = first.header("etag").unwrap().to_owned();
    assert_eq!(second.header("etag"), Some(etag.as_str()));
    let again = server
        .request("GET", "/echo/iframe.html", &[("If-None-Match", &etag)], "")
        .await;
    assert_eq!(again.status, 304);
    assert!(again.header("content-type").is_none());
    assert!(again.body.is_empty());
}

#[tokio::test]
async fn info() {
    let server = start_default().await;
    let reply = server
        .request("GET", "/echo/info", &[("Origin", "test")], "")
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        content_type(&reply.headers),
        "application/json;charset=UTF-8"
    );
    assert!(reply.header("set-cookie").is_none());
    assert_not_cached(&reply.headers);
    assert_cors(&reply.headers, "test");
    let data: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(data["websocket"], true);
    assert_eq!(data["cookie_needed"], false);
    assert_eq!(data["origins"], serde_json::json!(["*:*"]));
    let first = data["entropy"].as_u64().unwrap();
    let second: serde_json::Value =
        serde_json::from_str(&server.get("/echo/info").await.body).unwrap();
    assert_ne!(
        second["entropy"].as_u64().unwrap(),
        first,
        "entropy must vary"
    );
    assert!(first <= u64::from(u32::MAX));

    verify_options(&server, "/echo/info", "OPTIONS, GET").await;
    let null = server
        .request(
            "OPTIONS",
            "/echo/info",
            &[
                ("Origin", "null"),
                ("Access-Control-Request-Method", "POST"),
            ],
            "",
        )
        .await;
    assert_eq!(null.header("access-control-allow-origin"), Some("null"));

    let off: serde_json::Value =
        serde_json::from_str(&server.get("/disabled_websocket_echo/info").await.body).unwrap();
    assert_eq!(off["websocket"], false);
}

// ----- session URLs and the protocol --------------------------------------

#[tokio::test]
async fn session_urls() {
    let server = start_default().await;
    for part in ["/a/a1", "/_/_1", "/1/1", "/abcdefgh_i-j%20/abcdefg_i-j%201"] {
        let reply = server.post(&format!("/echo{part}/xhr"), "").await;
        assert_eq!((reply.status, reply.body.as_str()), (200, "o\n"), "{part}");
    }
    for suffix in ["//", "/a./a", "/a/a.", "/./.", "/", "///"] {
        assert_eq!(
            server.get(&format!("/echo{suffix}/xhr")).await.status,
            404,
            "{suffix}"
        );
        assert_eq!(
            server.post(&format!("/echo{suffix}/xhr"), "").await.status,
            404,
            "{suffix}"
        );
    }
    // The server id is ignored: a session is its session id alone.
    let id = "ignoring-server-id";
    assert_eq!(
        server.post(&format!("/echo/000/{id}/xhr"), "").await.body,
        "o\n"
    );
    let sent = server
        .post(&format!("/echo/000/{id}/xhr_send"), r#"["a"]"#)
        .await;
    assert_eq!((sent.status, sent.body.as_str()), (204, ""));
    assert_eq!(
        server.post(&format!("/echo/999/{id}/xhr"), "").await.body,
        "a[\"a\"]\n"
    );
}

#[tokio::test]
async fn protocol_simple_session() {
    let server = start_default().await;
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    let sent = server.post(&format!("{url}/xhr_send"), r#"["a"]"#).await;
    assert_eq!((sent.status, sent.body.as_str()), (204, ""));
    let reply = server.post(&format!("{url}/xhr"), "").await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "a[\"a\"]\n"));
    let bad = server
        .post("/echo/000/bad_session/xhr_send", r#"["a"]"#)
        .await;
    assert_eq!(bad.status, 404);

    // A second receiving request is answered with a close frame; the first
    // one and the session go on.
    let mut first = server
        .stream("POST", &format!("{url}/xhr_streaming"), &[])
        .await;
    first.skip(2049).await;
    let second = server.post(&format!("{url}/xhr"), "").await;
    assert_eq!(
        (second.status, second.body.as_str()),
        (200, "c[2010,\"Another connection still open\"]\n")
    );
    server
        .post(&format!("{url}/xhr_send"), r#"["still here"]"#)
        .await;
    first.expect("a[\"still here\"]\n").await;
}

#[tokio::test]
async fn protocol_close_session() {
    let server = start_default().await;
    let url = session_url("/close");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    for _ in 0..2 {
        let reply = server.post(&format!("{url}/xhr"), "").await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, "c[3000,\"Go away!\"]\n")
        );
    }
}

// ----- WebSocket ----------------------------------------------------------

#[tokio::test]
async fn websocket_http_errors() {
    let server = start_default().await;
    assert_eq!(server.get("/echo/0/0/websocket").await.status, 400);
    let reply = server
        .request(
            "GET",
            "/echo/0/0/websocket",
            &[("Upgrade", "WebSocket"), ("Connection", "close")],
            "",
        )
        .await;
    assert_eq!(reply.status, 400);
    for headers in [
        &[("Upgrade", "WebSocket"), ("Connection", "Upgrade")][..],
        &[],
    ] {
        let reply = server
            .request("POST", "/echo/0/0/websocket", headers, "")
            .await;
        assert_eq!(reply.status, 405);
        assert!(reply.header("content-type").is_none());
        assert!(reply.header("allow").is_some());
        assert!(reply.body.is_empty());
    }
    assert_eq!(
        server
            .get("/disabled_websocket_echo/0/0/websocket")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn websocket_transport() {
    let server = start_default().await;
    let mut ws = server
        .websocket(&format!("{}/websocket", session_url("/echo")))
        .await;
    assert_eq!(ws.recv().await, "o");
    ws.send(r#"["a"]"#).await;
    assert_eq!(ws.recv().await, r#"a["a"]"#);
    // Empty frames and frames with no message are ignored.
    ws.send("").await;
    ws.send("[]").await;
    ws.send(r#""b""#).await;
    assert_eq!(ws.recv().await, r#"a["b"]"#);
}

#[tokio::test]
async fn websocket_close() {
    let server = start_default().await;
    let mut ws = server
        .websocket(&format!("{}/websocket", session_url("/close")))
        .await;
    assert_eq!(ws.recv().await, "o");
    assert_eq!(ws.recv().await, r#"c[3000,"Go away!"]"#);
    assert_eq!(ws.closed().await, Some((3000, "Go away!".to_owned())));
}

#[tokio::test]
async fn websocket_reuse_session_id() {
    let server = start_default().await;
    let url = format!("{}/websocket", session_url("/echo"));
    let mut one = server.websocket(&url).await;
    let mut two = server.websocket(&url).await;
    assert_eq!(one.recv().await, "o");
    assert_eq!(two.recv().await, "o");
    one.send(r#"["a"]"#).await;
    two.send(r#"["b"]"#).await;
    assert_eq!(one.recv().await, r#"a["a"]"#);
    assert_eq!(two.recv().await, r#"a["b"]"#);
    drop((one, two));
    let mut again = server.websocket(&url).await;
    assert_eq!(again.recv().await, "o");
    again.send(r#"["c"]"#).await;
    assert_eq!(again.recv().await, r#"a["c"]"#);
}

#[tokio::test]
async fn websocket_broken_json() {
    let server = start_default().await;
    let mut ws = server
        .websocket(&format!("{}/websocket", session_url("/echo")))
        .await;
    assert_eq!(ws.recv().await, "o");
    ws.send(r#"["a"#).await;
    ws.closed().await;
}

#[tokio::test]
async fn raw_websocket() {
    let server = start_default().await;
    let mut ws = server.websocket("/echo/websocket").await;
    ws.send("Hello world!\u{ffff}").await;
    assert_eq!(ws.recv().await, "Hello world!\u{ffff}");
    let mut closed = server.websocket("/close/websocket").await;
    assert_eq!(closed.closed().await, Some((3000, "Go away!".to_owned())));
}

// ----- xhr polling ----------------------------------------------------------

#[tokio::test]
async fn xhr_polling() {
    let server = start_default().await;
    for suffix in ["/xhr", "/xhr_send"] {
        verify_options(&server, &format!("/echo/abc/abc{suffix}"), "OPTIONS, POST").await;
    }
    let url = session_url("/echo");
    let origin = [("Origin", "test")];
    let reply = server
        .request("POST", &format!("{url}/xhr"), &origin, "")
        .await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "o\n"));
    assert_eq!(
        content_type(&reply.headers),
        "application/javascript;charset=UTF-8"
    );
    assert_cors(&reply.headers, "test");
    assert_not_cached(&reply.headers);
    let sent = server
        .request("POST", &format!("{url}/xhr_send"), &origin, r#"["x"]"#)
        .await;
    assert_eq!((sent.status, sent.body.as_str()), (204, ""));
    assert_eq!(content_type(&sent.headers), "text/plain;charset=UTF-8");
    assert_cors(&sent.headers, "test");
    assert_not_cached(&sent.headers);
    assert_eq!(
        server.post(&format!("{url}/xhr"), "").await.body,
        "a[\"x\"]\n"
    );

    let unknown = server
        .post(&format!("{}/xhr_send", session_url("/echo")), r#"["x"]"#)
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn xhr_polling_invalid_json() {
    let server = start_default().await;
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    let broken = server.post(&format!("{url}/xhr_send"), r#"["x"#).await;
    assert_eq!(broken.status, 500);
    assert!(broken.body.contains("Broken JSON encoding."));
    let empty = server.post(&format!("{url}/xhr_send"), "").await;
    assert_eq!(empty.status, 500);
    assert!(empty.body.contains("Payload expected."));
    // The session survives both.
    assert_eq!(
        server
            .post(&format!("{url}/xhr_send"), r#"["a"]"#)
            .await
            .status,
        204
    );
    assert_eq!(
        server.post(&format!("{url}/xhr"), "").await.body,
        "a[\"a\"]\n"
    );
}

#[tokio::test]
async fn xhr_polling_content_types_and_empty_frames() {
    let mut server = start_default().await;
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    let socket = server.socket().await;
    let types = [
        "text/plain",
        "T",
        "application/json",
        "application/xml",
        "",
        "application/json; charset=utf-8",
        "text/xml; charset=utf-8",
        "text/xml",
    ];
    for content_type in types {
        let headers = [("Content-Type", content_type)];
        let reply = server
            .request("POST", &format!("{url}/xhr_send"), &headers, r#"["a"]"#)
            .await;
        assert_eq!((reply.status, reply.body.as_str()), (204, ""));
    }
    assert_eq!(
        server.post(&format!("{url}/xhr_send"), "[]").await.status,
        204
    );
    // Collect every echo (they may take more than one poll).
    let mut echoed = 0;
    while echoed < types.len() {
        let body = server.post(&format!("{url}/xhr"), "").await.body;
        let frame: Vec<String> =
            serde_json::from_str(body.trim().strip_prefix('a').unwrap()).unwrap();
        assert!(frame.iter().all(|m| m == "a"));
        echoed += frame.len();
    }
    assert_eq!(echoed, types.len());
    assert!(!socket.is_closed());
}

#[tokio::test]
async fn xhr_polling_request_headers_cors() {
    let server = start_default().await;
    let ask = |headers: &'static str| {
        let url = format!("{}/xhr", session_url("/echo"));
        let server = &server;
        async move {
            let mut list = vec![
                ("Origin", "test"),
                ("Access-Control-Request-Method", "POST"),
            ];
            if !headers.is_empty() {
                list.push(("Access-Control-Request-Headers", headers));
            }
            server.request("OPTIONS", &url, &list, "").await
        }
    };
    let reply = ask("a, b, c").await;
    assert_cors(&reply.headers, "test");
    assert_eq!(
        reply.header("access-control-allow-headers"),
        Some("a, b, c")
    );
    let reply = ask("").await;
    assert_cors(&reply.headers, "test");
    assert!(reply.header("access-control-allow-headers").is_none());
}
