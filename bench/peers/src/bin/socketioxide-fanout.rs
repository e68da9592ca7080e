//! socketioxide (crates.io) fan-out server for the benchmark: every socket
//! joins the room `all` on connect; a `pub` event with a string broadcasts
//! that string as event `msg` to the room (the publisher is in it too, as it
//! is on polysock's `@broadcast` and Node socket.io's `io.emit`).
//! A `msg` event is echoed back to its sender as `msg`, for checks by hand.

use socketioxide::extract::{Data, SocketRef};
use socketioxide::SocketIo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = polybench_peers::Args::parse();
    let mut path = args.path.clone();
    if !path.ends_with('/') {
        path.push('/');
    }
    let (layer, io) = SocketIo::builder()
        .req_path(path)
        .ping_interval(args.ping_interval)
        .ping_timeout(args.ping_timeout)
        // Room for a flat-out publisher's backlog, as polysock's default
        // 1,024 queued packets per session.
        .max_buffer_size(1024)
        .build_layer();
    io.ns("/", async |socket: SocketRef, io: SocketIo| {
        socket.join("all");
        socket.on("pub", async move |Data::<String>(text)| {
            let _ = io.to("all").emit("msg", &text).await;
        });
        socket.on("msg", async |socket: SocketRef, Data::<String>(text)| {
            let _ = socket.emit("msg", &text);
        });
    });
    let app = axum::Router::<()>::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    polybench_peers::announce(listener.local_addr()?);
    axum::serve(listener, app).await
}
