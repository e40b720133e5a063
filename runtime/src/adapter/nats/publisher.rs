//! Publishing on NATS through a bounded queue: one task takes every message waiting and hands
//! them to the client in order, then waits for the server to have read them (a request to a
//! subject nobody subscribes to, which the server itself answers with "no responders" once it
//! has read everything before it) before it takes the next batch, so what waits for NATS is bounded by the queue.
//! The queue is bounded twice: in messages and in bytes (a semaphore of byte permits, each
//! message holding its size until the server has it).

use crate::adapter::AdapterError;
use async_nats::connection::State;
use async_nats::{Client, RequestErrorKind};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// The most messages handed to the client per round trip.
const MAX_BATCH: usize = 256;

/// One message to publish; `reply` is the subject its receiver answers on.
struct Publication {
    subject: String,
    payload: Bytes,
    reply: Option<String>,
    /// The message's share of the byte budget, given back once the server has it.
    _bytes: OwnedSemaphorePermit,
}

/// The limits of the publish queue.
pub(super) struct PublishLimits {
    pub messages: usize,
    pub bytes: usize,
}

/// The handle to the publishing task.
pub(super) struct Publisher {
    client: Client,
    queue: mpsc::Sender<Publication>,
    bytes: Arc<Semaphore>,
    max_bytes: usize,
}

impl Publisher {
    /// Starts the publishing task, with `limits` on what may wait for it; `timeout` bounds
    /// the wait for the server to have read a batch.
    pub(super) fn start(
        client: Client,
        sync_subject: String,
        limits: PublishLimits,
        timeout: Duration,
    ) -> Self {
        let (queue, waiting) = mpsc::channel(limits.messages.max(1));
        let most = usize::try_from(u32::MAX)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        let max_bytes = limits.bytes.clamp(1, most);
        tokio::spawn(run(client.clone(), sync_subject, waiting, timeout));
        Publisher {
            client,
            queue,
            bytes: Arc::new(Semaphore::new(max_bytes)),
            max_bytes,
        }
    }

    /// Queues a message without waiting for NATS. While NATS is reachable a full queue (in
    /// messages or in bytes) makes the caller wait for room; while it is not, nothing is
    /// queued and the caller learns at once that the other processes miss the message.
    /// `reply` (for a direct message) is the subject its receiver answers on.
    pub(super) async fn publish(
        &self,
        subject: String,
        payload: Bytes,
        reply: Option<String>,
    ) -> Result<(), AdapterError> {
        if self.client.connection_state() != State::Connected {
            return Err(unreachable());
        }
        let share = u32::try_from(payload.len().clamp(1, self.max_bytes)).unwrap_or(u32::MAX);
        let bytes = self
            .bytes
            .clone()
            .acquire_many_owned(share)
            .await
            .map_err(|_| stopped())?;
        let publication = Publication {
            subject,
            payload,
            reply,
            _bytes: bytes,
        };
        self.queue.send(publication).await.map_err(|_| stopped())
    }
}

fn unreachable() -> AdapterError {
    AdapterError::Unavailable(
        "NATS is unreachable: the message was not sent to the other processes (it reached \
         this process's connections)"
            .to_owned(),
    )
}

fn stopped() -> AdapterError {
    AdapterError::Unavailable("the NATS publisher has stopped".to_owned())
}

async fn run(
    client: Client,
    sync_subject: String,
    mut waiting: mpsc::Receiver<Publication>,
    timeout: Duration,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut failure = None;
        for publication in &batch {
            let payload = publication.payload.clone();
            let subject = publication.subject.clone();
            let sent = match &publication.reply {
                Some(reply) => {
                    client
                        .publish_with_reply(subject, reply.clone(), payload)
                        .await
                }
                None => client.publish(subject, payload).await,
            };
            if let Err(error) = sent {
                failure = Some(error.to_string());
            }
        }
        if failure.is_none() {
            let synced = client.request(sync_subject.clone(), Bytes::new());
            match tokio::time::timeout(timeout, synced).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) if error.kind() == RequestErrorKind::NoResponders => {}
                Ok(Err(error)) => failure = Some(error.to_string()),
                Err(_) => failure = Some(format!("NATS did not answer within {timeout:?}")),
            }
        }
        if let Some(error) = failure {
            tracing::warn!(%error, messages = batch.len(), "publishing on NATS failed");
            crate::metrics::adapter_publish_failed(batch.len() as u64);
        }
        batch.clear();
    }
}
