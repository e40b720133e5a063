//! Calls: the map of calls waiting for their reply, and per-call options.

use crate::envelope::{Envelope, Id};
use crate::error::CallError;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::oneshot;

/// Options of one raw call ([`Client::call_raw_with`](crate::Client::call_raw_with)).
///
/// ```
/// use exws_client::CallOptions;
/// use std::time::Duration;
/// let options = CallOptions::new().id("req-1").timeout(Duration::from_secs(2));
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    pub(crate) id: Option<Id>,
    pub(crate) timeout: Option<Duration>,
}

impl CallOptions {
    /// Default options: a fresh `Id`, the client's call timeout.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// Uses this `Id` instead of a fresh one. The call fails with
    /// [`CallError::DuplicateId`] if another call with the same `Id` is waiting, or a stream
    /// of this client uses it.
    pub fn id(mut self, id: impl Into<Id>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Waits this long for the reply instead of the client's call timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// What a waiting call receives: the first reply with its `Id`, or why there will be none.
pub(crate) type Reply = Result<Envelope, CallError>;

struct Waiter {
    /// Tells this waiter from a later call that reuses the same explicit `Id`.
    token: u64,
    reply: oneshot::Sender<Reply>,
}

#[derive(Default)]
struct State {
    /// The generation of the current connection, `None` while offline.
    online: Option<u64>,
    next_token: u64,
    waiters: HashMap<Id, Waiter>,
}

/// Calls waiting for their reply, and whether there is a connection to send them on.
///
/// Registration and the switch to offline happen under one lock, so a call either is failed
/// by the disconnect or sees the client offline and fails at once: none is left waiting on a
/// connection that is gone.
#[derive(Default)]
pub(crate) struct PendingCalls {
    state: Mutex<State>,
}

/// A registered call. Dropping it (reply received, timeout, or the caller gave up) removes the
/// call from the map if it is still there.
pub(crate) struct Registration<'a> {
    pending: &'a PendingCalls,
    id: Id,
    token: u64,
    /// The generation of the connection the request must go out on.
    pub generation: u64,
    /// Where the reply arrives.
    pub reply: oneshot::Receiver<Reply>,
}

impl PendingCalls {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The generation of the current connection, or `None` while offline.
    pub(crate) fn generation(&self) -> Option<u64> {
        self.lock().online
    }

    /// Registers a call with `id` on the current connection.
    pub(crate) fn register(&self, id: Id) -> Result<Registration<'_>, CallError> {
        let mut state = self.lock();
        let generation = state.online.ok_or(CallError::Disconnected)?;
        if state.waiters.contains_key(&id) {
            return Err(CallError::DuplicateId(id));
        }
        state.next_token += 1;
        let token = state.next_token;
        let (sender, receiver) = oneshot::channel();
        state.waiters.insert(
            id.clone(),
            Waiter {
                token,
                reply: sender,
            },
        );
        Ok(Registration {
            pending: self,
            id,
            token,
            generation,
            reply: receiver,
        })
    }

    /// Hands `envelope` to the call waiting for `id`, if any; returns whether one was waiting.
    /// Only the first reply resolves a call; later ones only reach the event stream.
    pub(crate) fn resolve(&self, id: &Id, envelope: &Envelope) -> bool {
        let waiter = self.lock().waiters.remove(id);
        match waiter {
            Some(waiter) => {
                // The caller may have given up in the meantime: nothing to do then.
                let _ = waiter.reply.send(Ok(envelope.clone()));
                true
            }
            None => false,
        }
    }

    /// A connection of generation `generation` is up.
    pub(crate) fn go_online(&self, generation: u64) {
        self.lock().online = Some(generation);
    }

    /// The connection is gone: every waiting call fails with [`CallError::Disconnected`].
    pub(crate) fn go_offline(&self) -> usize {
        let waiters: Vec<Waiter> = {
            let mut state = self.lock();
            state.online = None;
            state.waiters.drain().map(|(_, waiter)| waiter).collect()
        };
        let count = waiters.len();
        for waiter in waiters {
            let _ = waiter.reply.send(Err(CallError::Disconnected));
        }
        count
    }

    /// Whether a call with `id` is waiting.
    pub(crate) fn contains(&self, id: &Id) -> bool {
        self.lock().waiters.contains_key(id)
    }

    /// How many calls are waiting (for tests and diagnostics).
    pub(crate) fn len(&self) -> usize {
        self.lock().waiters.len()
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut state = self.pending.lock();
        if state
            .waiters
            .get(&self.id)
            .is_some_and(|waiter| waiter.token == self.token)
        {
            state.waiters.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn offline_calls_fail_fast() {
        let pending = PendingCalls::default();
        assert!(matches!(
            pending.register(Id::Int(1)),
            Err(CallError::Disconnected)
        ));
    }

    #[test]
    fn first_reply_resolves_and_the_entry_is_removed() {
        let pending = PendingCalls::default();
        pending.go_online(1);
        let mut registration = pending.register(Id::Int(1)).unwrap();
        assert_eq!(registration.generation, 1);
        let reply = Envelope::new("R", Value::Null).with_id(1);
        assert!(pending.resolve(&Id::Int(1), &reply));
        assert!(
            !pending.resolve(&Id::Int(1), &reply),
            "second reply is not a call's"
        );
        assert_eq!(registration.reply.try_recv().unwrap().unwrap(), reply);
        assert_eq!(pending.len(), 0);
    }

    #[test]
    fn duplicate_ids_are_refused_and_drop_cleans_up() {
        let pending = PendingCalls::default();
        pending.go_online(3);
        let first = pending.register(Id::from("a")).unwrap();
        assert!(matches!(
            pending.register(Id::from("a")),
            Err(CallError::DuplicateId(_))
        ));
        assert_eq!(pending.len(), 1);
        drop(first);
        assert_eq!(pending.len(), 0, "a timed-out call leaves no entry");
    }

    #[test]
    fn a_stale_registration_does_not_remove_a_newer_call() {
        let pending = PendingCalls::default();
        pending.go_online(1);
        let first = pending.register(Id::Int(5)).unwrap();
        assert!(pending.resolve(&Id::Int(5), &Envelope::new("R", Value::Null)));
        let _second = pending.register(Id::Int(5)).unwrap();
        drop(first);
        assert_eq!(pending.len(), 1);
    }

    #[test]
    fn going_offline_fails_every_waiting_call() {
        let pending = PendingCalls::default();
        pending.go_online(1);
        let mut a = pending.register(Id::Int(1)).unwrap();
        let mut b = pending.register(Id::Int(2)).unwrap();
        assert_eq!(pending.go_offline(), 2);
        assert!(matches!(
            a.reply.try_recv(),
            Ok(Err(CallError::Disconnected))
        ));
        assert!(matches!(
            b.reply.try_recv(),
            Ok(Err(CallError::Disconnected))
        ));
        assert_eq!(pending.generation(), None);
        assert!(matches!(
            pending.register(Id::Int(3)),
            Err(CallError::Disconnected)
        ));
    }
}
