//! engineioxide (crates.io) echo server mounted in axum: every text message
//! is sent back as text, every binary message as binary.

use std::sync::Arc;

use bytes::Bytes;
use engineioxide::config::EngineIoConfig;
use engineioxide::handler::EngineIoHandler;
use engineioxide::layer::EngineIoLayer;
use engineioxide::{DisconnectReason, Socket, Str};

#[derive(Debug, Default, Clone)]
struct Echo;

impl EngineIoHandler for Echo {
    type Data = ();

    fn on_connect(self: Arc<Self>, _socket: Arc<Socket<()>>) {}
    fn on_disconnect(&self, _socket: Arc<Socket<()>>, _reason: DisconnectReason) {}
    fn on_message(self: &Arc<Self>, msg: Str, socket: Arc<Socket<()>>) {
        let _ = socket.emit(msg);
    }
    fn on_binary(self: &Arc<Self>, data: Bytes, socket: Arc<Socket<()>>) {
        let _ = socket.emit_binary(data);
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = polybench_peers::Args::parse();
    let mut path = args.path.clone();
    if !path.ends_with('/') {
        path.push('/');
    }
    let config = EngineIoConfig::builder()
        .req_path(path)
        .ping_interval(args.ping_interval)
        .ping_timeout(args.ping_timeout)
        .max_buffer_size(4096)
        .build();
    let app = axum::Router::<()>::new().layer(EngineIoLayer::from_config(Arc::new(Echo), config));
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    polybench_peers::announce(listener.local_addr()?);
    axum::serve(listener, app).await
}
