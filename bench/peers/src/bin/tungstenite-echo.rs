//! Raw tokio-tungstenite echo server: no session layer, no framing beyond
//! RFC 6455. The practical ceiling for a websocket transport on this machine.

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = polybench_peers::Args::parse();
    let listener = TcpListener::bind(&args.listen).await?;
    polybench_peers::announce(listener.local_addr()?);
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(async move {
            // 4 KiB read buffer (engineioxide's default) instead of tungstenite's
            // 128 KiB, which is zero-filled on every read.
            let config = WebSocketConfig::default().read_buffer_size(4096);
            let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await
            else {
                return;
            };
            // Echo every frame already buffered, then flush once: the
            // cheapest an echo over tungstenite gets.
            while let Some(Ok(mut msg)) = ws.next().await {
                loop {
                    match msg {
                        Message::Text(_) | Message::Binary(_) => {
                            if ws.feed(msg).await.is_err() {
                                return;
                            }
                        }
                        Message::Close(_) => return,
                        _ => {}
                    }
                    match ws.next().now_or_never() {
                        Some(Some(Ok(m))) => msg = m,
                        Some(_) => return,
                        None => break,
                    }
                }
                if ws.flush().await.is_err() {
                    return;
                }
            }
        });
    }
}
