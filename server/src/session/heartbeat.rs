//! A session's timers, run by its one background task until it ends:
//!
//! ```text
//! every ping_interval:  queue ping ── pong within ping_timeout? ── yes: again
//!                                                               └─ no: close (ping timeout)
//! after the handshake:  no second request within first_request_timeout ── close (abandoned)
//! while the queue is full and nothing is delivered for send_queue_grace ── close 1008
//! on close:  wait (at most ping_timeout) for the close packet to drain, then Closed
//! resume sessions:  a missing pong suspends instead; while suspended only the resume
//!                   window and the full-queue watch run: window over ── close (resume
//!                   window over); resumed ── the timers start again from the resume
//!                   first unacknowledged client message ── 100 ms ── an ack is due
//! ```
//!
//! [`run`] returns once the session is closed; the engine then forgets it.

use tokio::time::{sleep_until, timeout, Instant};

use crate::close::CloseReason;
use crate::protocol::Packet;

use super::{Phase, Session};

/// Runs the session's timers until it is closed; `suspended` is called
/// each time a resume session is suspended (before its window runs).
pub(crate) async fn run(session: &Session, mut suspended: impl FnMut()) {
    loop {
        tokio::select! {
            () = timers(session) => {}
            () = session.uncarried() => {}
        }
        if session.phase() != Phase::Suspended {
            break;
        }
        suspended();
        // Suspended: the window runs from now; a resume (or a request of
        // the session's own transport) ends the wait.
        let window = session.config().resume_window;
        let back = async {
            tokio::select! {
                () = session.unsuspended() => {}
                () = QueueWatch::suspended(session) => {}
            }
        };
        if timeout(window, back).await.is_err() {
            tracing::debug!("resume window over");
            session.window_over();
        }
        if session.phase().is_ending() {
            break;
        }
    }
    if session.phase() == Phase::Closing {
        let grace = session.config().ping_timeout;
        let _ = timeout(grace, session.drained()).await;
    }
    session.finish();
}

/// The full-queue watch: it looks twice per grace, so it fires between one
/// and one and a half graces after the queue stopped moving.
struct QueueWatch {
    step: std::time::Duration,
    next_look: Instant,
    stuck_since: Option<(Instant, usize)>,
}

impl QueueWatch {
    fn new(session: &Session, start: Instant) -> Self {
        let step = session.config().send_queue_grace / 2;
        Self {
            step,
            next_look: start + step,
            stuck_since: None,
        }
    }

    /// Looks at the queue; true when it closed the session.
    fn look(&mut self, session: &Session, now: Instant) -> bool {
        self.next_look = now + self.step;
        // A client that answers pings but never reads would otherwise
        // hold a full queue, and the sender waiting on it, forever.
        let delivered = session.delivered_count();
        self.stuck_since = match (session.queue_is_full(), self.stuck_since) {
            (false, _) => None,
            (true, Some((since, count))) if count == delivered => {
                if now - since >= session.config().send_queue_grace {
                    tracing::debug!("outbound queue full for the whole grace");
                    session.close_now(CloseReason::SendQueueFull);
                    return true;
                }
                Some((since, count))
            }
            (true, _) => Some((now, delivered)),
        };
        false
    }

    /// Watches a suspended session's queue: the application's usual
    /// backpressure holds while its client is away. Returns once it closed
    /// the session.
    async fn suspended(session: &Session) {
        let mut watch = Self::new(session, Instant::now());
        loop {
            sleep_until(watch.next_look).await;
            if watch.look(session, Instant::now()) {
                return;
            }
        }
    }
}

/// How long a received client message may wait for its acknowledgement
/// (resume sessions, protocol-spec 11).
const ACK_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// What ended a wait of the timers.
enum Woken {
    Timer,
    Pong,
    FirstUnacked,
}

/// The timers on one clock: one sleep at a time, until the earliest
/// deadline (this future lives as long as the session: one timer entry
/// rather than three keeps it small).
async fn timers(session: &Session) {
    let config = session.config();
    let start = Instant::now();
    // As in Engine.IO, the next ping comes ping_interval after the pong.
    let mut next_ping = start + config.ping_interval;
    let mut pong_due: Option<Instant> = None;
    let mut first_request_due =
        (!session.has_returned()).then(|| start + config.first_request_timeout);
    // The full-queue watch looks twice per grace, so it fires between one
    // and one and a half graces after the queue stopped moving.
    let mut watch = QueueWatch::new(session, start);
    let mut ack_due: Option<Instant> = None;
    loop {
        let wake_at = [
            Some(pong_due.unwrap_or(next_ping)),
            first_request_due,
            Some(watch.next_look),
            ack_due,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(next_ping);
        let pong = session.pong_notified();
        tokio::pin!(pong);
        pong.as_mut().enable();
        let first_unacked = session.ack_timer_notified();
        tokio::pin!(first_unacked);
        let woken = tokio::select! {
            () = sleep_until(wake_at) => Woken::Timer,
            () = &mut pong, if pong_due.is_some() => Woken::Pong,
            () = &mut first_unacked, if ack_due.is_none() => Woken::FirstUnacked,
        };
        let now = Instant::now();
        match woken {
            Woken::Pong => {
                pong_due = None;
                next_ping = now + config.ping_interval;
                continue;
            }
            Woken::FirstUnacked => {
                ack_due = Some(now + ACK_DELAY);
                continue;
            }
            Woken::Timer => {}
        }
        if ack_due.is_some_and(|due| now >= due) {
            ack_due = None;
            session.ack_due();
        }
        match pong_due {
            Some(due) if now >= due => {
                tracing::debug!("no pong within the ping timeout");
                // A resume session is suspended instead (its client may be
                // a background tab whose timers were throttled).
                session.lose(CloseReason::PingTimeout);
                return;
            }
            None if now >= next_ping => {
                session.push_control(Packet::Ping(String::new()));
                pong_due = Some(now + config.ping_timeout);
            }
            _ => {}
        }
        if first_request_due.is_some_and(|due| now >= due) {
            first_request_due = None;
            // Handshakes nobody follows up cost a place in the session table
            // until then, so this comes well before a full ping cycle.
            if !session.has_returned() {
                tracing::debug!("no request after the handshake");
                session.close_now(CloseReason::Abandoned);
                return;
            }
        }
        if now >= watch.next_look && watch.look(session, now) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::time::{advance, Instant};

    use super::*;
    use crate::close::CloseReason;
    use crate::protocol::Message;
    use crate::session::{test_session, Delivery, Held};
    use crate::{Config, Transport};

    fn config() -> Config {
        Config {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            first_request_timeout: Duration::from_secs(10),
            send_queue_grace: Duration::from_secs(30),
            max_queued_packets: 2,
            ..Config::default()
        }
    }

    fn spawn_timers(session: &Arc<Session>) -> tokio::task::JoinHandle<Instant> {
        let session = session.clone();
        tokio::spawn(async move {
            run(&session, || {}).await;
            Instant::now()
        })
    }

    #[tokio::test(start_paused = true)]
    async fn pongs_keep_the_session_and_a_missing_one_closes_it() {
        let session = test_session(config(), Transport::WebSocket);
        let receiver = session.attach(Transport::WebSocket).unwrap();
        let start = Instant::now();
        let timers = spawn_timers(&session);
        // As in Engine.IO: the next ping comes ping_interval after the pong.
        let mut next_ping = Duration::from_secs(25);
        for round in 1..=3 {
            let Delivery::Packets(packets) = receiver.next(usize::MAX).await else {
                panic!("a ping")
            };
            assert_eq!(packets, vec![Packet::Ping(String::new())]);
            assert_eq!(start.elapsed(), next_ping, "ping {round}");
            advance(Duration::from_secs(19)).await;
            let inlet = session.inlet();
            session
                .handle_packet(&inlet, Packet::Pong(String::new()))
                .await
                .unwrap();
            assert!(session.phase().is_open());
            next_ping += Duration::from_secs(19 + 25);
        }
        // No pong for the fourth ping: closed exactly ping_timeout after it.
        let closed_at = timers.await.unwrap();
        assert_eq!(closed_at - start, next_ping + Duration::from_secs(20));
        assert_eq!(session.close_reason(), Some(CloseReason::PingTimeout));
    }

    #[tokio::test(start_paused = true)]
    async fn a_polling_handshake_nobody_follows_up_is_reaped() {
        let session = test_session(config(), Transport::Polling);
        let start = Instant::now();
        let closed_at = spawn_timers(&session).await.unwrap();
        assert_eq!(closed_at - start, Duration::from_secs(10));
        assert_eq!(session.close_reason(), Some(CloseReason::Abandoned));

        let session = test_session(config(), Transport::Polling);
        let timers = spawn_timers(&session);
        drop(session.attach(Transport::Polling).unwrap());
        advance(Duration::from_secs(11)).await;
        assert!(session.phase().is_open(), "a client that came back is kept");
        timers.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_that_does_not_move_closes_after_the_grace() {
        // Heartbeats out of the way: only the full-queue watch can close.
        let config = Config {
            ping_interval: Duration::from_secs(10_000),
            ping_timeout: Duration::from_secs(10_000),
            ..config()
        };
        let session = test_session(config, Transport::WebSocket);
        let receiver = session.attach(Transport::WebSocket).unwrap();
        let start = Instant::now();
        let timers = spawn_timers(&session);
        // Full, but moving: a slow reader is not closed.
        for n in 0..40 {
            while session.try_send(Message::Text(format!("m{n}"))).is_ok() {}
            advance(Duration::from_secs(5)).await;
            let Delivery::Packets(packets) = receiver.try_take(usize::MAX) else {
                panic!("queued packets")
            };
            receiver.delivered(Held::of(&packets));
        }
        assert!(session.phase().is_open(), "moving queue kept open");
        // Now the client stops reading with the queue full: closed between
        // one and one and a half graces later.
        while session.try_send(Message::Text("last".into())).is_ok() {}
        let stuck = Instant::now();
        let closed_at = timers.await.unwrap();
        let after = closed_at - stuck;
        assert!(
            after >= Duration::from_secs(30) && after <= Duration::from_secs(45),
            "{after:?}"
        );
        assert!(closed_at - start > Duration::from_secs(200));
        assert_eq!(session.close_reason(), Some(CloseReason::SendQueueFull));
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_pong_suspends_a_resume_session_until_its_window_ends() {
        let config = Config {
            resume_window: Duration::from_secs(60),
            ..config()
        };
        let session = crate::session::test_resume_session(config, Transport::WebSocket);
        let receiver = session.attach(Transport::WebSocket).unwrap();
        let start = Instant::now();
        let timers = spawn_timers(&session);
        let Delivery::Packets(ping) = receiver.next(usize::MAX).await else {
            panic!("a ping")
        };
        assert_eq!(ping, vec![Packet::Ping(String::new())]);
        // No pong: suspended at 25 + 20 s, the receiver told to end.
        assert_eq!(receiver.next(usize::MAX).await, Delivery::Released);
        assert_eq!(start.elapsed(), Duration::from_secs(45));
        assert_eq!(session.phase(), Phase::Suspended);
        drop(receiver);
        // The application may still send meanwhile.
        session.try_send(Message::Text("queued".into())).unwrap();
        // Resumed 59 s later: the heartbeat starts again from then.
        advance(Duration::from_secs(59)).await;
        let (receiver, received) = session.resume(Transport::WebSocket, 0).unwrap();
        assert_eq!(received, 0);
        let receiver = receiver.unwrap();
        let Delivery::Packets(packets) = receiver.next(usize::MAX).await else {
            panic!("the queued message")
        };
        assert_eq!(
            packets,
            vec![Packet::Message(Message::Text("queued".into()))]
        );
        let resumed_at = Instant::now();
        let Delivery::Packets(ping) = receiver.next(usize::MAX).await else {
            panic!("a ping")
        };
        assert_eq!(ping, vec![Packet::Ping(String::new())]);
        assert_eq!(resumed_at.elapsed(), Duration::from_secs(25));
        // Lost again, and this time nobody comes back: closed exactly one
        // window after the second suspension.
        assert_eq!(receiver.next(usize::MAX).await, Delivery::Released);
        let suspended_at = Instant::now();
        drop(receiver);
        let closed_at = timers.await.unwrap();
        assert_eq!(closed_at - suspended_at, Duration::from_secs(60));
        assert_eq!(session.close_reason(), Some(CloseReason::ResumeWindowOver));
    }

    #[tokio::test(start_paused = true)]
    async fn a_graceful_close_waits_for_the_close_packet_at_most_ping_timeout() {
        let session = test_session(config(), Transport::WebSocket);
        let _receiver = session.attach(Transport::WebSocket).unwrap();
        let timers = spawn_timers(&session);
        let start = Instant::now();
        session.close_gracefully(CloseReason::ServerShutdown);
        // Nobody takes the close packet: the grace ends it.
        let closed_at = timers.await.unwrap();
        assert_eq!(closed_at - start, Duration::from_secs(20));
        assert_eq!(session.phase(), Phase::Closed);
    }
}
