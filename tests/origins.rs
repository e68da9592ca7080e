//! Origins and CORS: the allow-list holds on every transport, WebSocket
//! handshakes included, and allowed foreign origins get CORS answers.

mod common;

use common::*;
use polysock::Polysock;

async fn get_with_origin(
    server: &TestServer,
    query: &str,
    origin: &str,
) -> (u16, http::HeaderMap, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let request = http::Request::get(server.url(query))
        .header("origin", origin)
        .body(Default::default())
        .unwrap();
    let response = tokio::time::timeout(WAIT, client.request(request))
        .await
        .unwrap()
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    use http_body_util::BodyExt;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn same_origin_only_by_default() {
    let server = start_echo(Polysock::builder()).await;
    let own = format!("http://{}", server.addr);
    let (status, headers, _) = get_with_origin(&server, "EIO=4&transport=polling", &own).await;
    assert_eq!(status, 200);
    assert!(
        headers.get("access-control-allow-origin").is_none(),
        "same origin needs no CORS"
    );
    for transport in ["polling", "xhr-streaming&ext=1", "htmlfile&ext=1"] {
        let (status, headers, body) = get_with_origin(
            &server,
            &format!("EIO=4&transport={transport}"),
            "http://evil.test",
        )
        .await;
        assert_eq!(status, 403, "{transport}");
        assert!(body.contains("\"code\":4"), "{body}");
        assert!(headers.get("access-control-allow-origin").is_none());
    }
}

#[tokio::test]
async fn cross_site_websocket_hijacking_is_refused() {
    let server = start_echo(Polysock::builder()).await;
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            server.ws_url("EIO=4&transport=websocket"),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.test".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn listed_origins_get_cors_answers() {
    let server = start_echo(
        Polysock::builder()
            .allowed_origins(["https://app.test"])
            .cors_credentials(true),
    )
    .await;
    let (status, headers, _) =
        get_with_origin(&server, "EIO=4&transport=polling", "https://app.test").await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "https://app.test");
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert_eq!(headers["vary"], "Origin");
    let (status, _, _) =
        get_with_origin(&server, "EIO=4&transport=polling", "https://other.test").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn preflight_is_answered() {
    let server = start_echo(Polysock::builder().allow_any_origin()).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let request = http::Request::options(server.url("EIO=4&transport=polling&sid=x"))
        .header("origin", "http://elsewhere.test")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .body(Default::default())
        .unwrap();
    let response = tokio::time::timeout(WAIT, client.request(request))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), 204);
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://elsewhere.test"
    );
    assert!(headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert_eq!(headers["access-control-allow-headers"], "content-type");
}

#[test]
fn credentials_with_any_origin_is_refused_at_build() {
    let built = Polysock::builder()
        .allow_any_origin()
        .cors_credentials(true)
        .on_connect(|_| async {})
        .build();
    assert_eq!(
        built.err(),
        Some(polysock::ConfigError::CredentialsWithAnyOrigin)
    );
}
