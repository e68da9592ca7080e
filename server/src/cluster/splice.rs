//! Two connections joined byte for byte (a forwarded WebSocket after both
//! 101s), each direction cut when it has been silent for the idle timeout.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

const BUFFER: usize = 8 * 1024;

/// Copies both ways until both directions ended, or either failed or went
/// silent for `idle`; then both connections are dropped.
pub(crate) async fn splice<A, B>(a: A, b: B, idle: Duration)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (mut a_read, mut a_write) = tokio::io::split(a);
    let (mut b_read, mut b_write) = tokio::io::split(b);
    let result = tokio::try_join!(
        pump(&mut a_read, &mut b_write, idle),
        pump(&mut b_read, &mut a_write, idle),
    );
    if let Err(error) = result {
        tracing::debug!(%error, "forwarded websocket ended");
    }
}

/// One direction: a read end passed on as a write shutdown.
async fn pump(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    idle: Duration,
) -> io::Result<()> {
    let silent = || io::Error::new(io::ErrorKind::TimedOut, "silent for too long");
    let mut buffer = vec![0u8; BUFFER];
    loop {
        let n = timeout(idle, from.read(&mut buffer))
            .await
            .map_err(|_| silent())??;
        if n == 0 {
            return timeout(idle, to.shutdown()).await.map_err(|_| silent())?;
        }
        timeout(idle, to.write_all(&buffer[..n]))
            .await
            .map_err(|_| silent())??;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_cross_both_ways_and_ends_pass_on() {
        let (client, mut client_peer) = tokio::io::duplex(64);
        let (node, mut node_peer) = tokio::io::duplex(64);
        let task = tokio::spawn(splice(client, node, Duration::from_secs(5)));
        client_peer.write_all(b"up").await.unwrap();
        let mut got = [0u8; 2];
        node_peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"up");
        node_peer.write_all(b"down").await.unwrap();
        let mut got = [0u8; 4];
        client_peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"down");
        drop(client_peer);
        let mut rest = Vec::new();
        node_peer.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        drop(node_peer);
        timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_direction_ends_the_splice() {
        let (client, _client_peer) = tokio::io::duplex(64);
        let (node, _node_peer) = tokio::io::duplex(64);
        let idle = Duration::from_secs(45);
        let started = tokio::time::Instant::now();
        splice(client, node, idle).await;
        assert_eq!(started.elapsed(), idle);
    }
}
