//! The endpoint answers at `<mount>` and `<mount>/` when mounted with
//! `nest_service`, and serves the client at `<mount>/polysock.js`.

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
    let request = Request::get("/engine.io/polysock.js")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the bundled client is served"
    );
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(body, polysock::CLIENT_SCRIPT.as_bytes());
    assert!(
        body.starts_with(b"/*! Polysock "),
        "the client script itself"
    );
    assert_eq!(status(&app, "/elsewhere").await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn nested_service() {
    assert_mounted(Router::new().nest_service("/engine.io", server().service())).await;
}
