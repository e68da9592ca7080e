//! What the engine remembers of resume sessions that ended: for one
//! resume window after the end, a resume handshake naming one is told why
//! it cannot resume (window over, queue full, retention overflowed,
//! closed) instead of "unknown". Bounded by count: past it the oldest record goes first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::close::CloseReason;

/// Why a resume session ended, as a resume handshake is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Its resume window ran out.
    WindowOver,
    /// Its outbound queue stayed full (the client did not read, or stayed
    /// away while the application kept sending).
    QueueFull,
    /// A resume needed copies the retention bound had dropped.
    Overflowed,
    /// Anything else (a client or server close, a protocol error).
    Closed,
}

impl Ended {
    pub(crate) fn of(reason: &CloseReason) -> Self {
        match reason {
            CloseReason::ResumeWindowOver => Self::WindowOver,
            CloseReason::SendQueueFull => Self::QueueFull,
            CloseReason::ResumeOverflow => Self::Overflowed,
            _ => Self::Closed,
        }
    }
}

/// The records, by session id, with the order they came in.
#[derive(Debug)]
pub(crate) struct Tombstones {
    inner: Mutex<Inner>,
    keep_for: Duration,
    max: usize,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<Arc<str>, Ended>,
    /// Oldest first; an id may appear once only (sids are never reused).
    order: VecDeque<(Instant, Arc<str>)>,
}

impl Tombstones {
    pub(crate) fn new(keep_for: Duration, max: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            keep_for,
            max,
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records that session `id` ended.
    pub(crate) fn insert(&self, id: Arc<str>, ended: Ended) {
        if self.max == 0 || self.keep_for.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut inner = self.inner();
        inner.expire(now, self.keep_for);
        while inner.order.len() >= self.max {
            if let Some((_, oldest)) = inner.order.pop_front() {
                inner.by_id.remove(&oldest);
            }
        }
        inner.by_id.insert(id.clone(), ended);
        inner.order.push_back((now, id));
    }

    /// Why session `id` ended, if it did within the last window.
    pub(crate) fn get(&self, id: &str) -> Option<Ended> {
        let mut inner = self.inner();
        inner.expire(Instant::now(), self.keep_for);
        inner.by_id.get(id).copied()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner().order.len()
    }
}

impl Inner {
    fn expire(&mut self, now: Instant, keep_for: Duration) {
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) < keep_for {
                break;
            }
            if let Some((_, id)) = self.order.pop_front() {
                self.by_id.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn kept_for_the_window_and_bounded_by_count() {
        let stones = Tombstones::new(Duration::from_secs(60), 2);
        stones.insert("a".into(), Ended::WindowOver);
        stones.insert("b".into(), Ended::Overflowed);
        assert_eq!(stones.get("a"), Some(Ended::WindowOver));
        stones.insert("c".into(), Ended::Closed);
        assert_eq!(stones.get("a"), None, "the oldest went first");
        assert_eq!(stones.get("b"), Some(Ended::Overflowed));
        assert_eq!(stones.len(), 2);
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(stones.get("c"), None, "forgotten after the window");
        assert_eq!(stones.len(), 0);
    }
}
