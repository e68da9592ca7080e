//! All open sessions by id, with a hard cap on how many may exist.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;

use super::Session;

/// The session table.
#[derive(Debug)]
pub(crate) struct Registry {
    sessions: DashMap<Arc<str>, Arc<Session>>,
    /// Sessions counted, including reserved places not inserted yet.
    count: AtomicUsize,
    max: usize,
}

/// The registry is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

impl Registry {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            sessions: DashMap::new(),
            count: AtomicUsize::new(0),
            max,
        }
    }

    /// Takes a place for a new session, or says the table is full.
    pub(crate) fn reserve(&self) -> Result<Reservation<'_>, Full> {
        let previous = self.count.fetch_add(1, Ordering::AcqRel);
        if previous >= self.max {
            self.count.fetch_sub(1, Ordering::AcqRel);
            return Err(Full);
        }
        Ok(Reservation {
            registry: self,
            used: false,
        })
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions.get(id).map(|entry| entry.value().clone())
    }

    pub(crate) fn remove(&self, id: &str) {
        if self.sessions.remove(id).is_some() {
            self.count.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
    }

    /// A snapshot of the sessions open now.
    pub(crate) fn snapshot(&self) -> Vec<Arc<Session>> {
        self.sessions
            .iter()
            .map(|entry| entry.value().clone())
            .collect()
    }
}

/// A place in the registry; given back when dropped unused.
pub(crate) struct Reservation<'a> {
    registry: &'a Registry,
    used: bool,
}

impl Reservation<'_> {
    pub(crate) fn insert(mut self, session: Arc<Session>) {
        self.used = true;
        self.registry.sessions.insert(session.shared_id(), session);
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.used {
            self.registry.count.fetch_sub(1, Ordering::AcqRel);
        }
    }
}
