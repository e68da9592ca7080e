//! Each session's one background task: the heartbeat while it is open, and
//! the cleanup when it ends.
//!
//! ```text
//! every ping_interval:  queue ping ── pong within ping_timeout? ── yes: again
//!                                                               └─ no: close (ping timeout)
//! on close:  wait (at most ping_timeout) for the close packet to drain,
//!            mark closed, remove from the registry
//! ```

use std::sync::Arc;

use tokio::time::{sleep, timeout};
use tracing::Instrument;

use crate::protocol::Packet;
use crate::socket::CloseReason;

use super::{Phase, Registry, Session};

/// Starts the session's task. It holds the only other strong reference to
/// the session besides the registry and the application's socket.
pub(crate) fn spawn(session: Arc<Session>, registry: Arc<Registry>) {
    let span = tracing::debug_span!("session", sid = %session.id());
    tokio::spawn(run(session, registry).instrument(span));
}

async fn run(session: Arc<Session>, registry: Arc<Registry>) {
    tracing::debug!(transport = %session.transport(), "session opened");
    heartbeat(&session).await;
    if session.phase() == Phase::Closing {
        let grace = session.config().ping_timeout;
        let _ = timeout(grace, drained(&session)).await;
    }
    session.finish();
    registry.remove(session.id());
    tracing::debug!(reason = ?session.close_reason(), "session closed");
}

/// Pings until the session ends; closes it when a pong does not come.
async fn heartbeat(session: &Session) {
    let config = session.config();
    loop {
        tokio::select! {
            _ = sleep(config.ping_interval) => {}
            _ = session.ending() => return,
        }
        let pong = session.pong_notified();
        tokio::pin!(pong);
        pong.as_mut().enable();
        session.push_control(Packet::Ping(String::new()));
        tokio::select! {
            _ = &mut pong => {}
            _ = sleep(config.ping_timeout) => {
                tracing::debug!("no pong within the ping timeout");
                session.close_now(CloseReason::PingTimeout);
                return;
            }
            _ = session.ending() => return,
        }
    }
}

/// Waits until a receiver has taken everything queued (the close packet
/// last), or the session closed outright.
async fn drained(session: &Session) {
    loop {
        let notified = session.phase_notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let state = session.lock();
            if state.queue.is_empty() || state.phase == Phase::Closed {
                return;
            }
        }
        notified.await;
    }
}
