//! The public SockJS protocol test suite, ported (second half): the
//! streaming transports, JSONP, the `JSESSIONID` cookie, JSON encoding and
//! the handling of closes, from `sockjs-protocol.py` (sockjs/sockjs-protocol,
//! protocol 0.3.3). See `sockjs_protocol.rs` for the first half and what is
//! left out.

#[path = "sockjs/support.rs"]
mod support;

use std::time::Duration;

use polysock::Polysock;
use tokio::time::timeout;

use support::{
    assert_cors, assert_not_cached, content_type, session_url, start, start_default,
    verify_options, WAIT,
};

// ----- streaming ------------------------------------------------------------

#[tokio::test]
async fn xhr_streaming() {
    let server = start_default().await;
    verify_options(&server, "/echo/abc/abc/xhr_streaming", "OPTIONS, POST").await;
    let url = session_url("/echo");
    let mut stream = server
        .stream(
            "POST",
            &format!("{url}/xhr_streaming"),
            &[("Origin", "test")],
        )
        .await;
    assert_eq!(stream.status, 200);
    assert_eq!(
        content_type(&stream.headers),
        "application/javascript;charset=UTF-8"
    );
    assert_cors(&stream.headers, "test");
    assert_not_cached(&stream.headers);
    stream.expect(&format!("{}\n", "h".repeat(2048))).await;
    stream.expect("o\n").await;
    assert_eq!(
        server
            .post(&format!("{url}/xhr_send"), r#"["x"]"#)
            .await
            .status,
        204
    );
    stream.expect("a[\"x\"]\n").await;
}

#[tokio::test]
async fn xhr_streaming_response_limit() {
    let server = start_default().await;
    let url = session_url("/echo");
    let mut stream = server
        .stream("POST", &format!("{url}/xhr_streaming"), &[])
        .await;
    stream.skip(2049).await;
    stream.expect("o\n").await;
    let message = format!("\"{}\"", "x".repeat(128));
    for _ in 0..31 {
        let sent = server
            .post(&format!("{url}/xhr_send"), &format!("[{message}]"))
            .await;
        assert_eq!(sent.status, 204);
        stream.expect(&format!("a[{message}]\n")).await;
    }
    stream.expect_end().await;
}

#[tokio::test]
async fn eventsource() {
    let server = start_default().await;
    let url = session_url("/echo");
    let mut stream = server
        .stream("GET", &format!("{url}/eventsource"), &[])
        .await;
    assert_eq!(stream.status, 200);
    assert_eq!(content_type(&stream.headers), "text/event-stream");
    assert_not_cached(&stream.headers);
    stream.expect("\r\n").await;
    stream.expect("data: o\r\n\r\n").await;
    server.post(&format!("{url}/xhr_send"), r#"["x"]"#).await;
    stream.expect("data: a[\"x\"]\r\n\r\n").await;
    server
        .post(&format!("{url}/xhr_send"), r#"["  \u0000\n\r "]"#)
        .await;
    stream.expect("data: a[\"  \\u0000\\n\\r \"]\r\n\r\n").await;

    let url = session_url("/echo");
    let mut limited = server
        .stream("GET", &format!("{url}/eventsource"), &[])
        .await;
    limited.expect("\r\n").await;
    limited.expect("data: o\r\n\r\n").await;
    let message = format!("\"{}\"", "x".repeat(4096));
    server
        .post(&format!("{url}/xhr_send"), &format!("[{message}]"))
        .await;
    limited.expect(&format!("data: a[{message}]\r\n\r\n")).await;
    limited.expect_end().await;
}

#[tokio::test]
async fn htmlfile() {
    let server = start_default().await;
    let url = session_url("/echo");
    let mut stream = server
        .stream("GET", &format!("{url}/htmlfile?c=%63allback"), &[])
        .await;
    assert_eq!(stream.status, 200);
    assert_eq!(content_type(&stream.headers), "text/html;charset=UTF-8");
    assert_not_cached(&stream.headers);
    // The head, padded with spaces past 1 KiB, then two CRLF.
    let head = stream.until("\r\n\r\n").await;
    assert!(head.len() > 1024);
    assert!(head.starts_with("<!doctype html>\n<html><head>"));
    assert!(head.contains("    var c = parent.callback;\n    c.start();\n"));
    assert!(head.trim_end().ends_with("</script>"));
    stream.expect("<script>\np(\"o\");\n</script>\r\n").await;
    server.post(&format!("{url}/xhr_send"), r#"["x"]"#).await;
    stream
        .expect("<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n")
        .await;

    let missing = server.get("/echo/a/a/htmlfile").await;
    assert_eq!(missing.status, 500);
    assert!(missing.body.contains("\"callback\" parameter required"));
    for callback in ["%20", "*", "abc(", "abc%28"] {
        let bad = server
            .get(&format!("/echo/a/a/htmlfile?c={callback}"))
            .await;
        assert_eq!(bad.status, 500);
        assert!(bad.body.contains("invalid \"callback\" parameter"));
    }
}

#[tokio::test]
async fn htmlfile_response_limit() {
    let server = start_default().await;
    let url = session_url("/echo");
    let mut stream = server
        .stream("GET", &format!("{url}/htmlfile?c=callback"), &[])
        .await;
    stream.until("\r\n\r\n").await;
    stream.expect("<script>\np(\"o\");\n</script>\r\n").await;
    let message = "x".repeat(4096);
    server
        .post(&format!("{url}/xhr_send"), &format!("[\"{message}\"]"))
        .await;
    stream
        .expect(&format!(
            "<script>\np(\"a[\\\"{message}\\\"]\");\n</script>\r\n"
        ))
        .await;
    stream.expect_end().await;
}

// ----- JSONP ------------------------------------------------------------------

const FORM: [(&str, &str); 1] = [("Content-Type", "application/x-www-form-urlencoded")];

#[tokio::test]
async fn jsonp_polling() {
    let server = start_default().await;
    let url = session_url("/echo");
    let reply = server.get(&format!("{url}/jsonp?c=%63allback")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        content_type(&reply.headers),
        "application/javascript;charset=UTF-8"
    );
    assert_not_cached(&reply.headers);
    assert_eq!(reply.body, "/**/callback(\"o\");\r\n");
    let sent = server
        .request(
            "POST",
            &format!("{url}/jsonp_send"),
            &FORM,
            "d=%5B%22x%22%5D",
        )
        .await;
    assert_eq!((sent.status, sent.body.as_str()), (200, "ok"));
    assert_eq!(content_type(&sent.headers), "text/plain;charset=UTF-8");
    assert_not_cached(&sent.headers);
    let reply = server.get(&format!("{url}/jsonp?c=%63allback")).await;
    assert_eq!(reply.body, "/**/callback(\"a[\\\"x\\\"]\");\r\n");

    let missing = server.get("/echo/a/a/jsonp").await;
    assert_eq!(missing.status, 500);
    assert!(missing.body.contains("\"callback\" parameter required"));
    for callback in ["%20", "*", "abc(", "abc%28"] {
        let bad = server.get(&format!("/echo/a/a/jsonp?c={callback}")).await;
        assert_eq!(bad.status, 500);
        assert!(bad.body.contains("invalid \"callback\" parameter"));
    }
}

#[tokio::test]
async fn jsonp_invalid_json_content_types_and_empty_frames() {
    let server = start_default().await;
    let url = session_url("/echo");
    assert_eq!(
        server.get(&format!("{url}/jsonp?c=x")).await.body,
        "/**/x(\"o\");\r\n"
    );
    let send = |body: &'static str, form: bool| {
        let path = format!("{url}/jsonp_send");
        let server = &server;
        async move {
            let headers: &[(&str, &str)] = if form {
                &FORM
            } else {
                &[("Content-Type", "text/plain")]
            };
            server.request("POST", &path, headers, body).await
        }
    };
    let broken = send("d=%5B%22x", true).await;
    assert_eq!(broken.status, 500);
    assert!(broken.body.contains("Broken JSON encoding."));
    for empty in ["", "d=", "p=p"] {
        let reply = send(empty, true).await;
        assert_eq!(reply.status, 500);
        assert!(reply.body.contains("Payload expected."));
    }
    assert_eq!(send("d=%5B%5D", true).await.body, "ok");
    assert_eq!(send("d=%5B%22abc%22%5D", true).await.body, "ok");
    assert_eq!(send(r#"["%61bc"]"#, false).await.body, "ok");
    let mut got = Vec::new();
    while got.len() < 2 {
        let body = server.get(&format!("{url}/jsonp?c=x")).await.body;
        let inner: String = serde_json::from_str(
            body.strip_prefix("/**/x(")
                .and_then(|b| b.strip_suffix(");\r\n"))
                .unwrap(),
        )
        .unwrap();
        let frame: Vec<String> = serde_json::from_str(inner.strip_prefix('a').unwrap()).unwrap();
        got.extend(frame);
    }
    assert_eq!(got, ["abc", "%61bc"]);
}

#[tokio::test]
async fn jsonp_close() {
    let server = start_default().await;
    let url = session_url("/close");
    assert_eq!(
        server.get(&format!("{url}/jsonp?c=x")).await.body,
        "/**/x(\"o\");\r\n"
    );
    for _ in 0..2 {
        assert_eq!(
            server.get(&format!("{url}/jsonp?c=x")).await.body,
            "/**/x(\"c[3000,\\\"Go away!\\\"]\");\r\n"
        );
    }
}

// ----- JSESSIONID -------------------------------------------------------------

#[tokio::test]
async fn jsessionid_cookie() {
    let server = start_default().await;
    let info = server.get("/cookie_needed_echo/info").await;
    assert!(info.header("set-cookie").is_none());
    let data: serde_json::Value = serde_json::from_str(&info.body).unwrap();
    assert_eq!(data["cookie_needed"], true);

    let cookie_of = |headers: &http::HeaderMap| {
        let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
        let mut parts = cookie.split(';').map(str::trim);
        let first = parts.next().unwrap().to_owned();
        assert_eq!(parts.next().unwrap().to_lowercase(), "path=/");
        first
    };
    let url = session_url("/cookie_needed_echo");
    let reply = server.post(&format!("{url}/xhr"), "").await;
    assert_eq!(reply.body, "o\n");
    assert_eq!(cookie_of(&reply.headers), "JSESSIONID=dummy");
    let url = session_url("/cookie_needed_echo");
    let reply = server
        .request(
            "POST",
            &format!("{url}/xhr"),
            &[("Cookie", "JSESSIONID=abcdef")],
            "",
        )
        .await;
    assert_eq!(cookie_of(&reply.headers), "JSESSIONID=abcdef");
    for (method, transport) in [
        ("POST", "xhr_streaming"),
        ("GET", "eventsource"),
        ("GET", "htmlfile?c=%63allback"),
    ] {
        let url = session_url("/cookie_needed_echo");
        let stream = server
            .stream(method, &format!("{url}/{transport}"), &[])
            .await;
        assert_eq!(stream.status, 200);
        assert_eq!(
            cookie_of(&stream.headers),
            "JSESSIONID=dummy",
            "{transport}"
        );
    }
    let url = session_url("/cookie_needed_echo");
    let reply = server.get(&format!("{url}/jsonp?c=%63allback")).await;
    assert_eq!(cookie_of(&reply.headers), "JSESSIONID=dummy");
    let sent = server
        .request(
            "POST",
            &format!("{url}/jsonp_send"),
            &FORM,
            "d=%5B%22x%22%5D",
        )
        .await;
    assert_eq!(sent.body, "ok");
    assert_eq!(cookie_of(&sent.headers), "JSESSIONID=dummy");
}

// ----- JSON encoding ----------------------------------------------------------

/// Every character of the suite's server-escapable set at or above U+00FF.
fn server_killer() -> (String, String) {
    let chars: Vec<u32> = (0xff..0x10000u32)
        .filter(
            |c| matches!(c, 0x200c..=0x200f | 0x2028..=0x202f | 0x2060..=0x206f | 0xfff0..=0xffff),
        )
        .collect();
    let text = chars.iter().filter_map(|&c| char::from_u32(c)).collect();
    let escaped = chars.iter().map(|c| format!("\\u{c:04x}")).collect();
    (text, escaped)
}

#[tokio::test]
async fn json_encoding() {
    let server = start_default().await;
    // The server escapes at least what the suite requires.
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    let (text, escaped) = server_killer();
    let sent = server
        .post(
            &format!("{url}/xhr_send"),
            &format!("[{}]", serde_json::to_string(&text).unwrap()),
        )
        .await;
    assert_eq!(sent.status, 204);
    let body = server.post(&format!("{url}/xhr"), "").await.body;
    assert_eq!(body.trim(), format!("a[\"{escaped}\"]"));

    // The server decodes what clients escape: every character below
    // U+10000 but the surrogates, each as a \u escape.
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    let all: String = (0..0x10000u32)
        .filter(|c| !(0xd800..0xe000).contains(c))
        .map(|c| format!("\\u{c:04x}"))
        .collect();
    let sent = server
        .post(&format!("{url}/xhr_send"), &format!("[\"{all}\"]"))
        .await;
    assert_eq!(sent.status, 204);
    let body = server.post(&format!("{url}/xhr"), "").await.body;
    let echoed: Vec<String> = serde_json::from_str(body.trim().strip_prefix('a').unwrap()).unwrap();
    let expected: String = (0..0x10000u32).filter_map(char::from_u32).collect();
    assert_eq!(echoed, [expected]);
}

// ----- handling close ---------------------------------------------------------

#[tokio::test]
async fn handling_close() {
    let server = start_default().await;
    // A closed session answers every new receiver with its close frame.
    let url = session_url("/close");
    let mut first = server
        .stream("POST", &format!("{url}/xhr_streaming"), &[])
        .await;
    first.skip(2049).await;
    first.expect("o\n").await;
    first.expect("c[3000,\"Go away!\"]\n").await;
    first.expect_end().await;
    let mut second = server
        .stream("POST", &format!("{url}/xhr_streaming"), &[])
        .await;
    second.skip(2049).await;
    second.expect("c[3000,\"Go away!\"]\n").await;
    second.expect_end().await;

    // A second receiver is turned away and its response ends.
    let mut server = server;
    let url = session_url("/echo");
    let mut first = server
        .stream("POST", &format!("{url}/xhr_streaming"), &[])
        .await;
    first.skip(2049).await;
    first.expect("o\n").await;
    let socket = server.socket().await;
    let mut second = server
        .stream("POST", &format!("{url}/xhr_streaming"), &[])
        .await;
    second.skip(2049).await;
    second
        .expect("c[2010,\"Another connection still open\"]\n")
        .await;
    second.expect_end().await;

    // A receiver cut off mid-response ends the session: the next request
    // opens a new one (or is told the connection was interrupted).
    drop(first);
    timeout(WAIT, socket.closed())
        .await
        .expect("session closed in time");
    let mut third = server
        .stream("POST", &format!("{url}/xhr_streaming"), &[])
        .await;
    third.skip(2049).await;
    let frame = third.until("\n").await;
    assert!(
        frame == "o" || frame == "c[1002,\"Connection interrupted\"]",
        "{frame}"
    );
}

#[tokio::test]
async fn handling_close_abort_polling() {
    // A short heartbeat: a poll that did attach answers `h` soon.
    let mut server = start(Polysock::builder().allow_any_origin(), |b| {
        b.heartbeat_delay(Duration::from_millis(200))
    })
    .await;
    let url = session_url("/echo");
    assert_eq!(server.post(&format!("{url}/xhr"), "").await.body, "o\n");
    let socket = server.socket().await;
    // Hold a poll open on a raw connection, until the server says the
    // session is busy (each try that attached itself ends with `h`).
    let mut held = None;
    for _ in 0..50 {
        let raw = hold_poll(server.addr, &format!("{url}/xhr")).await;
        let reply = server.post(&format!("{url}/xhr"), "").await;
        if reply.body == "c[2010,\"Another connection still open\"]\n" {
            held = Some(raw);
            break;
        }
        assert_eq!(reply.body, "h\n");
    }
    let raw = held.expect("a poll held the session");
    drop(raw);
    timeout(WAIT, socket.closed())
        .await
        .expect("session closed in time");
    let body = server.post(&format!("{url}/xhr"), "").await.body;
    assert!(
        body == "o\n" || body == "c[1002,\"Connection interrupted\"]\n",
        "{body}"
    );
}

/// Sends a poll on a raw connection, which stays open until dropped.
async fn hold_poll(addr: std::net::SocketAddr, path: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}
