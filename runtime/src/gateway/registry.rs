//! The client ids in use on this process: a backend may name two clients alike, and the
//! second must never take the first one's place.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Client ids held by open (or upgrading) connections of this process.
#[derive(Debug, Default)]
pub(crate) struct ClientIds {
    held: Mutex<HashMap<String, u64>>,
    next: AtomicU64,
}

impl ClientIds {
    /// Holds `id` for a new connection; `None` when a connection of this process has it.
    pub(crate) fn reserve(self: &Arc<Self>, id: &str) -> Option<Reservation> {
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if held.contains_key(id) {
            return None;
        }
        held.insert(id.to_owned(), token);
        Some(Reservation {
            ids: Arc::clone(self),
            id: id.to_owned(),
            token,
        })
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.held.lock().map(|held| held.len()).unwrap_or(0)
    }
}

/// A client id held by one connection; dropping it frees the id.
#[derive(Debug)]
pub(crate) struct Reservation {
    ids: Arc<ClientIds>,
    id: String,
    token: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut held = self
            .ids
            .held
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if held.get(&self.id) == Some(&self.token) {
            held.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_held_once_and_freed_by_its_holder() {
        let ids = Arc::new(ClientIds::default());
        let first = ids.reserve("alice").expect("free");
        assert!(ids.reserve("alice").is_none(), "a second holder is refused");
        let bob = ids.reserve("bob").expect("another id is free");
        drop(first);
        let again = ids.reserve("alice").expect("freed by its holder");
        drop(bob);
        assert_eq!(ids.len(), 1);
        drop(again);
        assert_eq!(ids.len(), 0);
    }
}
