//! A session's timers, run by its one background task until it ends:
//!
//! ```text
//! every ping_interval:  queue ping ── pong within ping_timeout? ── yes: again
//!                                                               └─ no: close (ping timeout)
//! after the handshake:  no second request within first_request_timeout ── close (abandoned)
//! while the queue is full and nothing is delivered for send_queue_grace ── close 1008
//! on close:  wait (at most ping_timeout) for the close packet to drain, then Closed
//! ```
//!
//! [`run`] returns once the session is closed; the engine then forgets it.

use tokio::time::{sleep, timeout, Instant};

use crate::close::CloseReason;
use crate::protocol::Packet;

use super::{Phase, Session};

/// Runs the session's timers until it is closed.
pub(crate) async fn run(session: &Session) {
    tokio::select! {
        () = heartbeat(session) => {}
        () = reap_if_abandoned(session) => {}
        () = watch_full_queue(session) => {}
        () = session.ending() => {}
    }
    if session.phase() == Phase::Closing {
        let grace = session.config().ping_timeout;
        let _ = timeout(grace, session.drained()).await;
    }
    session.finish();
}

/// Pings until a pong does not come, then closes the session.
async fn heartbeat(session: &Session) {
    let config = session.config();
    loop {
        sleep(config.ping_interval).await;
        let pong = session.pong_notified();
        tokio::pin!(pong);
        pong.as_mut().enable();
        session.push_control(Packet::Ping(String::new()));
        if timeout(config.ping_timeout, &mut pong).await.is_err() {
            tracing::debug!("no pong within the ping timeout");
            session.close_now(CloseReason::PingTimeout);
            return;
        }
    }
}

/// Closes a polling session whose client never made a second request:
/// handshakes nobody follows up cost a place in the session table until
/// then, so this comes well before a full ping cycle.
async fn reap_if_abandoned(session: &Session) {
    sleep(session.config().first_request_timeout).await;
    if !session.has_returned() {
        tracing::debug!("no request after the handshake");
        session.close_now(CloseReason::Abandoned);
        return;
    }
    std::future::pending().await
}

/// Closes a session whose queue stays full with nothing delivered for the
/// send-queue grace: a client that answers pings but never reads would
/// otherwise hold a full queue, and the sender waiting on it, forever.
/// Checked twice per grace, so it fires between one and one and a half
/// graces after the queue stopped moving.
async fn watch_full_queue(session: &Session) {
    let grace = session.config().send_queue_grace;
    let step = grace / 2;
    let mut stuck_since: Option<(Instant, usize)> = None;
    loop {
        sleep(step).await;
        let delivered = session.delivered_count();
        stuck_since = match (session.queue_is_full(), stuck_since) {
            (false, _) => None,
            (true, Some((since, count))) if count == delivered => {
                if since.elapsed() >= grace {
                    tracing::debug!("outbound queue full for the whole grace");
                    session.close_now(CloseReason::SendQueueFull);
                    return;
                }
                Some((since, count))
            }
            (true, _) => Some((Instant::now(), delivered)),
        };
    }
}
