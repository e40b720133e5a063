//! Server calls across processes on Redis. The asking process publishes the call where its
//! target's messages go (the room's channel, the broadcast channel, or the node channel of
//! the process holding the connection), with a call header naming the call's number; each
//! process holding callees calls them and publishes every answer on the asking process's node
//! channel, where it is routed to the gathering waiting for it.

use super::adapter::Inner;
use super::operations::unavailable;
use super::publisher::Publisher;
use super::subscriber::{self, SubscriberConfig};
use crate::adapter::wire::{self, AnswerHeader, AnswerKind, CallHeader, Kind};
use crate::adapter::{AdapterError, AnswerSender, CallAnswer, CallOutcome, CallRequest, Target};
use crate::connection::ConnectionId;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;

/// The most calls of this process that may wait for answers from other processes at once.
pub(super) const MAX_WAITING_CALLS: usize = 1024;

/// How many answers of one call a process holding callees keeps queued for publishing.
const ANSWER_QUEUE: usize = 64;

/// The calls of this process that wait for answers from other processes: call number to the
/// gathering's sender. An entry goes once its gathering is over (its receiver dropped).
#[derive(Default)]
pub(super) struct Routes {
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, AnswerSender>>,
}

impl Routes {
    /// A number for a new call whose answers go to `answers`.
    fn open(&self, answers: AnswerSender) -> Result<u64, AdapterError> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if waiting.len() >= MAX_WAITING_CALLS / 2 {
            waiting.retain(|_, sender| !sender.is_closed());
        }
        if waiting.len() >= MAX_WAITING_CALLS {
            return Err(AdapterError::Unavailable(format!(
                "{MAX_WAITING_CALLS} calls of this process already wait for answers from other \
                 processes; await some first"
            )));
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        waiting.insert(id, answers);
        Ok(id)
    }

    fn close(&self, id: u64) {
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    /// Hands an answer from another process to its gathering; drops it when the gathering is
    /// over or unknown, or its queue is full (the gathering then reports a timeout).
    pub(super) fn route(&self, header: AnswerHeader, body: &str) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(sender) = waiting.get(&header.id) else {
            tracing::debug!(
                call = header.id,
                "an answer for a call that no longer waits"
            );
            return;
        };
        if sender.is_closed() {
            waiting.remove(&header.id);
            return;
        }
        let Some(outcome) = outcome(header.kind, body) else {
            tracing::debug!(call = header.id, "ignored a malformed answer on Redis");
            return;
        };
        let answer = CallAnswer {
            connection: header.connection,
            outcome,
        };
        if sender.try_send(answer).is_err() {
            tracing::debug!(
                call = header.id,
                "dropped an answer: its gathering is full or over"
            );
        }
    }
}

/// An answer from the wire.
fn outcome(kind: AnswerKind, body: &str) -> Option<CallOutcome> {
    #[derive(Deserialize)]
    struct Refusal {
        code: String,
        message: String,
    }
    Some(match kind {
        AnswerKind::Ok => {
            CallOutcome::Answered(Arc::from(RawValue::from_string(body.to_owned()).ok()?))
        }
        AnswerKind::Refused => {
            let refusal: Refusal = serde_json::from_str(body).ok()?;
            CallOutcome::Refused {
                code: refusal.code,
                message: refusal.message,
            }
        }
        AnswerKind::Timeout => CallOutcome::Timeout,
        AnswerKind::Closed => CallOutcome::Closed,
        AnswerKind::Busy => CallOutcome::Busy,
    })
}

impl Inner {
    /// Publishes `call` to the processes holding its callees; their answers come back into
    /// `answers`.
    pub(super) async fn call(
        &self,
        call: CallRequest,
        answers: AnswerSender,
    ) -> Result<bool, AdapterError> {
        let publisher = self.publisher()?;
        let id = self.routes.open(answers)?;
        let published = self.publish_call(publisher, id, &call).await;
        if published.is_err() {
            self.routes.close(id);
        }
        published.map(|()| true)
    }

    async fn publish_call(
        &self,
        publisher: &Publisher,
        id: u64,
        call: &CallRequest,
    ) -> Result<(), AdapterError> {
        let prefix = &self.config.prefix;
        let header = CallHeader {
            id,
            message_type: call.message_type.to_string(),
            timeout_ms: u64::try_from(call.timeout.as_millis()).unwrap_or(u64::MAX),
        };
        let data = call.data.get();
        let (channel, to) = match &call.target {
            Target::Everyone => (subscriber::everyone_channel(prefix), None),
            Target::Room(room) => (subscriber::room_channel(prefix, room), None),
            Target::Connection(connection) => {
                let mut commands = self.commands()?;
                let node: Option<String> = redis::cmd("HGET")
                    .arg(self.conns_key())
                    .arg(connection.as_str())
                    .query_async(&mut commands)
                    .await
                    .map_err(unavailable)?;
                // No process holds it: nobody to call, the gathering reports it.
                let Some(node) = node else { return Ok(()) };
                (subscriber::node_channel(prefix, &node), Some(connection))
            }
        };
        let payload = wire::encode_kind(&self.node, 0, &call.except, to, Kind::Call(header), data);
        publisher.publish(channel, payload).await
    }
}

/// A call from another process: calls this process's callees and publishes each answer on
/// the asking process's node channel.
pub(super) fn received(
    config: &SubscriberConfig,
    asker: &str,
    target: Target,
    except: Vec<ConnectionId>,
    header: CallHeader,
    data: &str,
) {
    let Ok(data) = RawValue::from_string(data.to_owned()) else {
        tracing::debug!("ignored a call with malformed data on Redis");
        return;
    };
    let request = CallRequest {
        target,
        except,
        message_type: Arc::from(header.message_type),
        data: Arc::from(data),
        timeout: Duration::from_millis(header.timeout_ms),
    };
    let (answers, mut answered) = mpsc::channel(ANSWER_QUEUE);
    if config.inbound.call(request, answers) == 0 {
        return;
    }
    let publisher = config.publisher.clone();
    let channel = subscriber::node_channel(&config.prefix, asker);
    let node = config.node.clone();
    let call = header.id;
    tokio::spawn(async move {
        while let Some(answer) = answered.recv().await {
            let (kind, body) = on_the_wire(answer.outcome);
            let header = AnswerHeader {
                id: call,
                connection: answer.connection,
                kind,
            };
            let payload = wire::encode_kind(&node, 0, &[], None, Kind::Answer(header), &body);
            if let Err(error) = publisher.publish(channel.clone(), payload).await {
                // The asking process reports this callee as timed out.
                tracing::debug!(%error, "an answer could not be sent back");
            }
        }
    });
}

/// An outcome as its wire kind and body.
fn on_the_wire(outcome: CallOutcome) -> (AnswerKind, String) {
    match outcome {
        CallOutcome::Answered(data) => (AnswerKind::Ok, data.get().to_owned()),
        CallOutcome::Refused { code, message } => (
            AnswerKind::Refused,
            serde_json::json!({ "code": code, "message": message }).to_string(),
        ),
        CallOutcome::Timeout => (AnswerKind::Timeout, String::new()),
        CallOutcome::Closed => (AnswerKind::Closed, String::new()),
        CallOutcome::Busy => (AnswerKind::Busy, String::new()),
    }
}
