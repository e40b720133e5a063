//! The open streams of a client, keyed by `Id`: the connection task routes items, ends and
//! errors into each stream's bounded queue, and the readers release their entries.

use super::{STREAM_CANCEL_TYPE, STREAM_END_TYPE};
use crate::envelope::{Envelope, Id};
use crate::error::{ServerErrorData, StreamError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::mpsc;

/// How a stream ended, left for its reader before the queue closes.
#[derive(Debug)]
pub(crate) enum Ending {
    /// `StreamEnd` arrived.
    End,
    /// The stream failed; the reader gets this error after the items already queued.
    Failed(StreamError),
}

/// What both sides of one stream share: how it ended.
pub(super) type EndingSlot = Arc<Mutex<Option<Ending>>>;

/// Locks `mutex`, going on with its value when a panicking holder poisoned it.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Entry {
    /// Tells this stream from a later one that reuses the same explicit `Id`.
    token: u64,
    /// The connection the stream was opened on.
    generation: u64,
    /// Where items go; `None` once the reader is gone or the queue overflowed: the entry then
    /// only waits for the server's `StreamEnd` (items meanwhile are dropped).
    items: Option<mpsc::Sender<Envelope>>,
    ending: EndingSlot,
    /// Whether a `StreamCancel` went out (or is queued) for this stream.
    cancel_sent: bool,
    capacity: usize,
}

impl Entry {
    /// Records how the stream ended and closes its queue (after the items already in it).
    fn finish(&mut self, ending: Ending) {
        if self.items.take().is_some() {
            *lock(&self.ending) = Some(ending);
        }
    }
}

#[derive(Default)]
struct State {
    /// The generation of the current connection, `None` while offline.
    online: Option<u64>,
    next_token: u64,
    open: HashMap<Id, Entry>,
}

/// The open streams of a client, keyed by `Id`.
///
/// Registration and the switch to offline happen under one lock, so a stream is either ended
/// by the disconnect or sees the client offline and fails at once.
#[derive(Default)]
pub(crate) struct StreamTable {
    state: Mutex<State>,
}

/// What [`StreamTable::route`] did with an envelope.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Routed {
    /// Its `Id` is not a stream's.
    NotAStream,
    /// Given to its stream (or dropped because the stream's reader is gone).
    Taken,
    /// The stream's queue is full: the stream ended with [`StreamError::Overflow`] and this
    /// `StreamCancel` frame must go out on the current connection.
    Overflowed(String),
}

/// A registered stream, before it is wrapped in an [`ItemStream`].
pub(crate) struct Registration {
    pub id: Id,
    pub token: u64,
    pub generation: u64,
    pub receiver: mpsc::Receiver<Envelope>,
    pub ending: EndingSlot,
}

impl StreamTable {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Registers a stream with `id` on the current connection; `in_use` says whether a call
    /// already uses the `Id`.
    pub(crate) fn register(
        &self,
        id: Id,
        capacity: usize,
        in_use: impl FnOnce(&Id) -> bool,
    ) -> Result<Registration, StreamError> {
        let mut state = self.lock();
        let generation = state.online.ok_or(StreamError::Disconnected)?;
        if state.open.contains_key(&id) || in_use(&id) {
            return Err(StreamError::DuplicateId(id));
        }
        state.next_token += 1;
        let token = state.next_token;
        let capacity = capacity.max(1);
        let (sender, receiver) = mpsc::channel(capacity);
        let ending = EndingSlot::default();
        state.open.insert(
            id.clone(),
            Entry {
                token,
                generation,
                items: Some(sender),
                ending: ending.clone(),
                cancel_sent: false,
                capacity,
            },
        );
        Ok(Registration {
            id,
            token,
            generation,
            receiver,
            ending,
        })
    }

    /// Whether a stream (open or being cancelled) uses `id`.
    pub(crate) fn contains(&self, id: &Id) -> bool {
        self.lock().open.contains_key(id)
    }

    /// Routes an incoming envelope carrying `id` to its stream, if it is one's.
    pub(crate) fn route(&self, id: &Id, envelope: &Envelope) -> Routed {
        let mut state = self.lock();
        let Some(entry) = state.open.get_mut(id) else {
            return Routed::NotAStream;
        };
        match envelope.message_type.as_str() {
            STREAM_END_TYPE => {
                if let Some(mut entry) = state.open.remove(id) {
                    entry.finish(Ending::End);
                }
                Routed::Taken
            }
            crate::envelope::ERROR_TYPE => {
                let data = ServerErrorData::from_data(&envelope.data);
                // The refusal of a second stream with this `Id` (sent as a raw envelope): the
                // open stream goes on.
                if data.code == crate::error::ErrorCode::DuplicateId {
                    return Routed::NotAStream;
                }
                if let Some(mut entry) = state.open.remove(id) {
                    entry.finish(Ending::Failed(StreamError::Server {
                        code: data.code,
                        message: data.message,
                        message_type: data.message_type,
                    }));
                }
                Routed::Taken
            }
            _ => {
                let Some(items) = &entry.items else {
                    return Routed::Taken;
                };
                match items.try_send(envelope.clone()) {
                    Ok(()) => Routed::Taken,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        let capacity = entry.capacity;
                        entry.finish(Ending::Failed(StreamError::Overflow { capacity }));
                        if entry.cancel_sent {
                            Routed::Taken
                        } else {
                            entry.cancel_sent = true;
                            Routed::Overflowed(cancel_frame(id))
                        }
                    }
                    // The reader is being dropped; its cancel follows.
                    Err(mpsc::error::TrySendError::Closed(_)) => Routed::Taken,
                }
            }
        }
    }

    /// The reader of stream `id` (registration `token`) is gone. Returns the generation on
    /// which a `StreamCancel` must be sent, if one must; otherwise the entry is removed.
    /// With `sent = false` (the request never went out) the entry is simply removed.
    pub(crate) fn release(&self, id: &Id, token: u64, sent: bool) -> Option<u64> {
        let mut state = self.lock();
        let entry = state
            .open
            .get_mut(id)
            .filter(|entry| entry.token == token)?;
        entry.items = None;
        if !sent {
            state.open.remove(id);
            return None;
        }
        if entry.cancel_sent {
            return None;
        }
        entry.cancel_sent = true;
        Some(entry.generation)
    }

    /// Marks a `StreamCancel` as sent for stream `id` (registration `token`); returns the
    /// generation to send it on, or `None` when the stream has ended or was cancelled already.
    pub(crate) fn mark_cancelled(&self, id: &Id, token: u64) -> Option<u64> {
        let mut state = self.lock();
        let entry = state
            .open
            .get_mut(id)
            .filter(|entry| entry.token == token)?;
        if entry.cancel_sent {
            return None;
        }
        entry.cancel_sent = true;
        Some(entry.generation)
    }

    /// A connection of generation `generation` is up.
    pub(crate) fn go_online(&self, generation: u64) {
        self.lock().online = Some(generation);
    }

    /// The connection is gone: every stream ends with [`StreamError::Disconnected`] (after
    /// the items already received). Returns how many were open.
    pub(crate) fn go_offline(&self) -> usize {
        let mut entries: Vec<Entry> = {
            let mut state = self.lock();
            state.online = None;
            state.open.drain().map(|(_, entry)| entry).collect()
        };
        let count = entries.len();
        for entry in &mut entries {
            entry.finish(Ending::Failed(StreamError::Disconnected));
        }
        count
    }

    /// How many streams are open or waiting for the end of their cancel.
    pub(crate) fn len(&self) -> usize {
        self.lock().open.len()
    }
}

/// `{"Type":"StreamCancel","Id":<id>}`.
pub(crate) fn cancel_frame(id: &Id) -> String {
    format!(
        r#"{{"Type":"{STREAM_CANCEL_TYPE}","Id":{}}}"#,
        id.to_value()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(n: i64, id: i64) -> Envelope {
        Envelope::new("Tick", json!({ "n": n })).with_id(id)
    }

    #[test]
    fn offline_streams_fail_fast_and_ids_are_unique() {
        let table = StreamTable::default();
        assert!(matches!(
            table.register(Id::Int(1), 4, |_| false),
            Err(StreamError::Disconnected)
        ));
        table.go_online(1);
        let _first = table.register(Id::Int(1), 4, |_| false).unwrap();
        assert!(matches!(
            table.register(Id::Int(1), 4, |_| false),
            Err(StreamError::DuplicateId(Id::Int(1)))
        ));
        assert!(matches!(
            table.register(Id::Int(2), 4, |id| *id == Id::Int(2)),
            Err(StreamError::DuplicateId(_))
        ));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn items_then_end_close_the_queue() {
        let table = StreamTable::default();
        table.go_online(1);
        let mut registration = table.register(Id::Int(3), 4, |_| false).unwrap();
        assert_eq!(table.route(&Id::Int(9), &item(1, 9)), Routed::NotAStream);
        assert_eq!(table.route(&Id::Int(3), &item(1, 3)), Routed::Taken);
        let end = Envelope::new(STREAM_END_TYPE, serde_json::Value::Null).with_id(3);
        assert_eq!(table.route(&Id::Int(3), &end), Routed::Taken);
        assert_eq!(table.len(), 0, "StreamEnd frees the Id");
        assert_eq!(registration.receiver.try_recv().unwrap().data["n"], 1);
        assert!(matches!(
            registration.receiver.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        assert!(matches!(*lock(&registration.ending), Some(Ending::End)));
        assert_eq!(
            table.route(&Id::Int(3), &item(2, 3)),
            Routed::NotAStream,
            "nothing after the end"
        );
    }

    #[test]
    fn an_error_ends_the_stream_with_the_server_error() {
        let table = StreamTable::default();
        table.go_online(1);
        let registration = table.register(Id::from("s"), 4, |_| false).unwrap();
        let error = Envelope::new(
            "Error",
            json!({"code": "handler_error", "message": "boom", "type": "Countdown"}),
        )
        .with_id("s");
        assert_eq!(table.route(&Id::from("s"), &error), Routed::Taken);
        match lock(&registration.ending).take() {
            Some(Ending::Failed(StreamError::Server { code, message, .. })) => {
                assert_eq!(code, crate::error::ErrorCode::HandlerError);
                assert_eq!(message, "boom");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(table.len(), 0);

        // A `duplicate_id` refusal of another request does not end the open stream.
        let _open = table.register(Id::Int(8), 4, |_| false).unwrap();
        let refusal =
            Envelope::new("Error", json!({"code": "duplicate_id", "message": "taken"})).with_id(8);
        assert_eq!(table.route(&Id::Int(8), &refusal), Routed::NotAStream);
        assert!(table.contains(&Id::Int(8)));
    }

    #[test]
    fn a_full_queue_ends_the_stream_and_cancels_it_once() {
        let table = StreamTable::default();
        table.go_online(7);
        let mut registration = table.register(Id::Int(5), 2, |_| false).unwrap();
        assert_eq!(table.route(&Id::Int(5), &item(1, 5)), Routed::Taken);
        assert_eq!(table.route(&Id::Int(5), &item(2, 5)), Routed::Taken);
        assert_eq!(
            table.route(&Id::Int(5), &item(3, 5)),
            Routed::Overflowed(r#"{"Type":"StreamCancel","Id":5}"#.to_owned())
        );
        assert_eq!(table.route(&Id::Int(5), &item(4, 5)), Routed::Taken);
        assert_eq!(table.len(), 1, "the Id stays taken until StreamEnd");
        assert_eq!(registration.receiver.try_recv().unwrap().data["n"], 1);
        assert_eq!(registration.receiver.try_recv().unwrap().data["n"], 2);
        assert!(registration.receiver.try_recv().is_err());
        assert!(matches!(
            *lock(&registration.ending),
            Some(Ending::Failed(StreamError::Overflow { capacity: 2 }))
        ));
        let end = Envelope::new(STREAM_END_TYPE, serde_json::Value::Null).with_id(5);
        assert_eq!(table.route(&Id::Int(5), &end), Routed::Taken);
        assert_eq!(table.len(), 0);
        assert_eq!(
            table.release(&Id::Int(5), registration.token, true),
            None,
            "an ended stream is not cancelled"
        );
    }

    #[test]
    fn releasing_cancels_once_and_keeps_the_id_until_the_end() {
        let table = StreamTable::default();
        table.go_online(2);
        let registration = table.register(Id::Int(1), 4, |_| false).unwrap();
        assert_eq!(
            table.release(&Id::Int(1), registration.token, true),
            Some(2)
        );
        assert_eq!(table.release(&Id::Int(1), registration.token, true), None);
        assert!(table.contains(&Id::Int(1)));
        assert_eq!(table.route(&Id::Int(1), &item(1, 1)), Routed::Taken);
        let end = Envelope::new(STREAM_END_TYPE, serde_json::Value::Null).with_id(1);
        table.route(&Id::Int(1), &end);
        assert!(!table.contains(&Id::Int(1)));

        // A request that never went out is forgotten without a cancel.
        let unsent = table.register(Id::Int(2), 4, |_| false).unwrap();
        assert_eq!(table.release(&Id::Int(2), unsent.token, false), None);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn going_offline_ends_every_stream_with_disconnected() {
        let table = StreamTable::default();
        table.go_online(1);
        let a = table.register(Id::Int(1), 4, |_| false).unwrap();
        let b = table.register(Id::Int(2), 4, |_| false).unwrap();
        table.route(&Id::Int(1), &item(1, 1));
        assert_eq!(table.go_offline(), 2);
        for registration in [&a, &b] {
            assert!(matches!(
                *lock(&registration.ending),
                Some(Ending::Failed(StreamError::Disconnected))
            ));
        }
        assert!(matches!(
            table.register(Id::Int(3), 4, |_| false),
            Err(StreamError::Disconnected)
        ));
    }

    #[test]
    fn cancel_frames_carry_the_id_as_sent() {
        assert_eq!(
            cancel_frame(&Id::from("a\"b")),
            r#"{"Type":"StreamCancel","Id":"a\"b"}"#
        );
        assert_eq!(
            cancel_frame(&Id::Int(-4)),
            r#"{"Type":"StreamCancel","Id":-4}"#
        );
    }
}
