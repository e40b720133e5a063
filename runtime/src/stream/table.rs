//! The open streams of one connection, by `Id`.

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

/// The open streams of one connection. Empty (and allocation-free) until a stream opens.
#[derive(Debug, Default)]
pub(crate) struct StreamTable {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    open: HashMap<Box<str>, Entry>,
    next_serial: u64,
    /// The connection has closed: nothing opens any more.
    closed: bool,
}

#[derive(Debug)]
struct Entry {
    serial: u64,
    cancel: CancellationToken,
    task: Option<AbortHandle>,
}

/// Why a stream could not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// A stream with this `Id` is open.
    Duplicate,
    /// The connection holds this many streams already, the most allowed.
    TooMany(usize),
    /// The connection has closed.
    Closed,
}

/// A place in the table for one stream: its cancellation, and its serial to leave it.
pub(crate) struct Reserved {
    pub serial: u64,
    pub cancel: CancellationToken,
}

impl StreamTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Takes a place for a stream of `id` (its JSON text), if there is one.
    pub(crate) fn reserve(&self, id: &str, max: usize) -> Result<Reserved, OpenError> {
        let mut state = self.lock();
        if state.closed {
            return Err(OpenError::Closed);
        }
        if state.open.contains_key(id) {
            return Err(OpenError::Duplicate);
        }
        if state.open.len() >= max {
            return Err(OpenError::TooMany(max));
        }
        state.next_serial += 1;
        let serial = state.next_serial;
        let cancel = CancellationToken::new();
        state.open.insert(
            id.into(),
            Entry {
                serial,
                cancel: cancel.clone(),
                task: None,
            },
        );
        Ok(Reserved { serial, cancel })
    }

    /// Records the task running the stream `serial`, so that a close can stop it.
    pub(crate) fn running(&self, id: &str, serial: u64, task: AbortHandle) {
        let mut state = self.lock();
        match state.open.get_mut(id) {
            Some(entry) if entry.serial == serial => entry.task = Some(task),
            // It ended already, or the connection closed meanwhile.
            _ => {
                if state.closed {
                    task.abort();
                }
            }
        }
    }

    /// Asks the stream `id` to stop (it answers `StreamEnd`); `false` if none is open.
    pub(crate) fn cancel(&self, id: &str) -> bool {
        match self.lock().open.get(id) {
            Some(entry) => {
                entry.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// The stream `serial` ended: its `Id` is free again.
    pub(crate) fn ended(&self, id: &str, serial: u64) {
        let mut state = self.lock();
        if state
            .open
            .get(id)
            .is_some_and(|entry| entry.serial == serial)
        {
            state.open.remove(id);
        }
        if state.open.is_empty() && state.open.capacity() > 16 {
            state.open = HashMap::new();
        }
    }

    /// The connection closed: every stream stops where it is (its task is dropped, so the code
    /// producing it runs no further), and no stream opens any more. Returns how many stopped.
    pub(crate) fn close(&self) -> usize {
        let open = {
            let mut state = self.lock();
            state.closed = true;
            std::mem::take(&mut state.open)
        };
        let stopped = open.len();
        for entry in open.into_values() {
            entry.cancel.cancel();
            if let Some(task) = entry.task {
                task.abort();
            }
        }
        stopped
    }

    /// How many streams are open.
    pub(crate) fn len(&self) -> usize {
        self.lock().open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_bounded_and_free_again_once_ended() {
        let table = StreamTable::default();
        let first = table.reserve("1", 2).map(|reserved| reserved.serial);
        assert!(first.is_ok());
        assert_eq!(table.reserve("1", 2).err(), Some(OpenError::Duplicate));
        assert!(
            table.reserve("\"1\"", 2).is_ok(),
            "a string Id is another Id"
        );
        assert_eq!(table.reserve("3", 2).err(), Some(OpenError::TooMany(2)));
        table.ended("1", first.unwrap_or_default());
        assert!(table.reserve("1", 2).is_ok());
        assert!(table.cancel("1"));
        assert!(!table.cancel("9"));
        assert_eq!(table.close(), 2);
        assert_eq!(table.reserve("4", 2).err(), Some(OpenError::Closed));
        assert_eq!(table.len(), 0);
    }
}
