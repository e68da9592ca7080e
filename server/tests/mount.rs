//! The endpoint answers at `<mount>` and `<mount>/` when mounted with
//! `nest_service`, and serves the client at `<mount>/polysock.js` and its
//! HTTP transports at `<mount>/polysock-http.js`.

use axum::body::Body;
use axum::Router;
use http::{Request, StatusCode};
use polysock::Polysock;
use tower::ServiceExt;

fn server() -> Polysock {
    Polysock::builder()
        .on_connect(|_socket| async {})
        .build()
        .unwrap()
}

async fn status(app: &Router, uri: &str) -> StatusCode {
    let request = Request::get(uri).body(Body::empty()).unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}

async fn assert_mounted(app: Router) {
    for uri in [
        "/engine.io?EIO=4&transport=polling",
        "/engine.io/?EIO=4&transport=polling",
    ] {
        assert_eq!(status(&app, uri).await, StatusCode::OK, "{uri}");
    }
    for (uri, script) in [
        ("/engine.io/polysock.js", polysock::CLIENT_SCRIPT),
        ("/engine.io/polysock-http.js", polysock::CLIENT_HTTP_SCRIPT),
    ] {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{uri} is served");
        let etag = response.headers()[http::header::ETAG].clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(body, script.as_bytes(), "{uri}");
        assert!(
            body.starts_with(b"/*! Polysock "),
            "{uri}: the script itself"
        );
        let request = Request::get(uri)
            .header(http::header::IF_NONE_MATCH, etag)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{uri} again");
    }
    assert_ne!(
        polysock::CLIENT_SCRIPT,
        polysock::CLIENT_HTTP_SCRIPT,
        "two different files"
    );
    assert_eq!(status(&app, "/elsewhere").await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn nested_service() {
    assert_mounted(Router::new().nest_service("/engine.io", server().service())).await;
}
