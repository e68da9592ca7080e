//! All open sessions by id, with a hard cap on how many may exist in all
//! and how many one client may hold.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;

use crate::session::Session;

/// Who a session belongs to, for the per-client cap: the peer address, or
/// the key the application's `client_key` extracted.
pub(crate) type ClientKey = Arc<str>;

/// The session table.
#[derive(Debug)]
pub(crate) struct Registry {
    sessions: DashMap<Arc<str>, Record>,
    /// Sessions counted, including reserved places not inserted yet.
    count: AtomicUsize,
    max: usize,
    per_client: DashMap<ClientKey, usize>,
    max_per_client: usize,
}

#[derive(Debug)]
struct Record {
    session: Arc<Session>,
    client: Option<ClientKey>,
}

/// Why no place could be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// The whole table.
    Table,
    /// This client's share of it.
    Client,
}

impl Registry {
    pub(crate) fn new(max: usize, max_per_client: usize) -> Self {
        Self {
            sessions: DashMap::new(),
            count: AtomicUsize::new(0),
            max,
            per_client: DashMap::new(),
            max_per_client,
        }
    }

    /// Takes a place for a new session of `client`, or says the table (or
    /// the client's share) is full.
    pub(crate) fn reserve(&self, client: Option<ClientKey>) -> Result<Reservation<'_>, Full> {
        let previous = self.count.fetch_add(1, Ordering::AcqRel);
        if previous >= self.max {
            self.count.fetch_sub(1, Ordering::AcqRel);
            return Err(Full::Table);
        }
        if let Some(key) = &client {
            let mut held = self.per_client.entry(key.clone()).or_insert(0);
            if *held >= self.max_per_client {
                drop(held);
                self.count.fetch_sub(1, Ordering::AcqRel);
                return Err(Full::Client);
            }
            *held += 1;
        }
        Ok(Reservation {
            registry: self,
            client,
            used: false,
        })
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions.get(id).map(|entry| entry.session.clone())
    }

    /// Forgets a session, giving back its place.
    pub(crate) fn remove(&self, id: &str) {
        if let Some((_, entry)) = self.sessions.remove(id) {
            self.release(entry.client.as_ref());
        }
    }

    fn release(&self, client: Option<&ClientKey>) {
        self.count.fetch_sub(1, Ordering::AcqRel);
        if let Some(key) = client {
            if let Entry::Occupied(mut held) = self.per_client.entry(key.clone()) {
                *held.get_mut() -= 1;
                if *held.get() == 0 {
                    held.remove();
                }
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
    }

    /// A snapshot of the sessions open now.
    pub(crate) fn snapshot(&self) -> Vec<Arc<Session>> {
        self.sessions
            .iter()
            .map(|entry| entry.session.clone())
            .collect()
    }

    /// Sessions `client` holds now.
    #[cfg(test)]
    pub(crate) fn held_by(&self, client: &str) -> usize {
        self.per_client.get(client).map_or(0, |held| *held)
    }
}

/// A place in the registry; given back when dropped unused.
pub(crate) struct Reservation<'a> {
    registry: &'a Registry,
    client: Option<ClientKey>,
    used: bool,
}

impl Reservation<'_> {
    pub(crate) fn insert(mut self, session: Arc<Session>) {
        self.used = true;
        let entry = Record {
            session: session.clone(),
            client: self.client.take(),
        };
        self.registry.sessions.insert(session.shared_id(), entry);
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.used {
            self.registry.release(self.client.as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_gets_its_share_and_no_more() {
        let registry = Registry::new(10, 2);
        let key: ClientKey = "10.0.0.1".into();
        let a = registry.reserve(Some(key.clone())).unwrap();
        let b = registry.reserve(Some(key.clone())).unwrap();
        assert_eq!(
            registry.reserve(Some(key.clone())).err(),
            Some(Full::Client)
        );
        assert!(registry.reserve(Some("10.0.0.2".into())).is_ok());
        assert!(registry.reserve(None).is_ok());
        drop(a);
        assert_eq!(registry.held_by("10.0.0.1"), 1);
        let c = registry.reserve(Some(key.clone())).unwrap();
        drop((b, c));
        assert_eq!(registry.held_by("10.0.0.1"), 0);
        assert_eq!(registry.count.load(Ordering::Acquire), 0);
    }

    #[test]
    fn the_table_cap_holds() {
        let registry = Registry::new(1, 1);
        let _a = registry.reserve(None).unwrap();
        assert_eq!(registry.reserve(None).err(), Some(Full::Table));
    }
}
