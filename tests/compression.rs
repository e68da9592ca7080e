//! HTTP compression against a real server and a real HTTP client: polling
//! payloads are compressed when the client asks and they reach the
//! threshold, and not otherwise; a compressed stream stays live.

mod common;

use std::io::{Read, Write};

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use polysock::Polysock;
use tokio::time::timeout;

/// A GET whose response is kept raw (the test decodes it).
async fn get(server: &TestServer, query: &str, accept: Option<&str>) -> http::Response<Incoming> {
    let mut request = http::Request::get(server.url(query));
    if let Some(accept) = accept {
        request = request.header("accept-encoding", accept);
    }
    let client = Client::builder(TokioExecutor::new()).build_http();
    timeout(
        WAIT,
        client.request(request.body(Full::new(Bytes::new())).unwrap()),
    )
    .await
    .expect("response in time")
    .unwrap()
}

async fn body_bytes(response: http::Response<Incoming>) -> Vec<u8> {
    timeout(WAIT, response.into_body().collect())
        .await
        .expect("body in time")
        .unwrap()
        .to_bytes()
        .to_vec()
}

fn encoding(response: &http::Response<Incoming>) -> Option<&str> {
    response
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap())
}

fn chat(len: usize) -> String {
    let event = r#"42["chat",{"room":"room-2","user":"carol","text":"on my way"}]"#;
    event.chars().cycle().take(len).collect()
}

/// A polling session whose next GET will carry `message`.
async fn session_with(server: &mut TestServer, message: &str) -> (String, polysock::Socket) {
    let (sid, _) = server.handshake("").await;
    let socket = server.socket().await;
    socket.send(message.to_owned()).await.unwrap();
    (sid, socket)
}

#[tokio::test]
async fn a_large_polling_payload_is_gzipped_when_asked() {
    let mut server = start(Polysock::builder()).await;
    let message = chat(4000);
    let (sid, _socket) = session_with(&mut server, &message).await;
    let response = get(
        &server,
        &format!("EIO=4&transport=polling&sid={sid}"),
        Some("gzip, deflate, br"),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(encoding(&response), Some("gzip"));
    let raw = body_bytes(response).await;
    assert!(
        raw.len() < message.len() / 4,
        "{} bytes on the wire",
        raw.len()
    );
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(&raw[..])
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded, format!("4{message}"));
}

#[tokio::test]
async fn deflate_is_used_when_it_is_all_the_client_takes() {
    let mut server = start(Polysock::builder()).await;
    let message = chat(3000);
    let (sid, _socket) = session_with(&mut server, &message).await;
    let response = get(
        &server,
        &format!("EIO=4&transport=polling&sid={sid}"),
        Some("deflate"),
    )
    .await;
    assert_eq!(encoding(&response), Some("deflate"));
    let raw = body_bytes(response).await;
    let mut decoded = String::new();
    flate2::read::ZlibDecoder::new(&raw[..])
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded, format!("4{message}"));
}

#[tokio::test]
async fn a_payload_below_the_threshold_is_sent_as_it_is() {
    let mut server = start(Polysock::builder().compression_threshold(2048)).await;
    let message = chat(2000);
    let (sid, _socket) = session_with(&mut server, &message).await;
    let response = get(
        &server,
        &format!("EIO=4&transport=polling&sid={sid}"),
        Some("gzip"),
    )
    .await;
    assert_eq!(encoding(&response), None);
    assert_eq!(
        body_bytes(response).await,
        format!("4{message}").into_bytes()
    );
}

#[tokio::test]
async fn nothing_is_compressed_for_a_client_that_did_not_ask() {
    let mut server = start(Polysock::builder()).await;
    let message = chat(4000);
    let (sid, socket) = session_with(&mut server, &message).await;
    for accept in [None, Some("identity"), Some("gzip;q=0")] {
        let query = format!("EIO=4&transport=polling&sid={sid}");
        let response = get(&server, &query, accept).await;
        assert_eq!(encoding(&response), None, "Accept-Encoding {accept:?}");
        let body = body_bytes(response).await;
        assert_eq!(body, format!("4{message}").into_bytes());
        // The same message for the next round.
        socket.send(message.clone()).await.unwrap();
    }
}

#[tokio::test]
async fn compression_can_be_switched_off() {
    let mut server = start(Polysock::builder().compression(false)).await;
    let message = chat(4000);
    let (sid, _socket) = session_with(&mut server, &message).await;
    let response = get(
        &server,
        &format!("EIO=4&transport=polling&sid={sid}"),
        Some("gzip"),
    )
    .await;
    assert_eq!(encoding(&response), None);
    assert_eq!(
        body_bytes(response).await,
        format!("4{message}").into_bytes()
    );
}

/// A message sent while a compressed xhr-streaming response is open is
/// decoded from what has arrived, without waiting for more data; small
/// and large chunks alike.
#[tokio::test]
async fn a_compressed_stream_stays_live() {
    let mut server = start(Polysock::builder()).await;
    let response = get(&server, "EIO=4&transport=xhr-streaming&ext=1", Some("gzip")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(encoding(&response), Some("gzip"));
    let mut body = response.into_body();
    let socket = server.socket().await;
    let mut decoder = flate2::write::GzDecoder::new(Vec::new());
    let mut read_until = async |decoder: &mut flate2::write::GzDecoder<Vec<u8>>, needle: &str| {
        while !String::from_utf8_lossy(decoder.get_ref()).contains(needle) {
            let frame = timeout(WAIT, body.frame())
                .await
                .expect("stream data in time")
                .expect("the stream is open")
                .unwrap();
            if let Ok(data) = frame.into_data() {
                decoder.write_all(&data).unwrap();
                decoder.flush().unwrap();
            }
        }
    };
    read_until(&mut decoder, "\"sid\"").await;
    for message in ["small and stored", &chat(5000), "small again"] {
        socket.send(message.to_owned()).await.unwrap();
        read_until(&mut decoder, &format!("4{message}")).await;
    }
}
