//! Publishing on Redis, pipelined: one task takes every message waiting in a bounded queue and
//! sends them as one pipeline, so a connection's sends do not each wait for a Redis round trip
//! and publishes keep the order in which they were queued. The queue is bounded twice: in
//! messages and in bytes (a semaphore of byte permits, each message holding its size until it
//! is sent).

use crate::adapter::AdapterError;
use redis::aio::ConnectionManager;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

/// The most messages sent in one pipeline.
const MAX_PIPELINE: usize = 256;

/// Whether Redis was reachable at last contact: the subscription and the publisher both tell.
#[derive(Debug)]
pub(super) struct Health(AtomicBool);

impl Health {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Health(AtomicBool::new(true)))
    }

    pub(super) fn set(&self, reachable: bool) {
        self.0.store(reachable, Ordering::Relaxed);
    }

    pub(super) fn reachable(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// One `PUBLISH`; `receivers` (when wanted) learns how many subscribers got it.
struct Publication {
    channel: String,
    payload: Vec<u8>,
    receivers: Option<oneshot::Sender<Result<usize, AdapterError>>>,
    /// The message's share of the byte budget, given back once it is sent.
    _bytes: OwnedSemaphorePermit,
}

/// The handle to the publishing task (its clones share the queue).
#[derive(Clone)]
pub(super) struct Publisher {
    queue: mpsc::Sender<Publication>,
    /// Permits for the bytes that may wait in the queue.
    bytes: Arc<Semaphore>,
    /// The byte budget (a larger message takes all of it, and waits for an empty queue).
    max_bytes: usize,
    health: Arc<Health>,
}

/// The limits of the publish queue.
pub(super) struct PublishLimits {
    pub messages: usize,
    pub bytes: usize,
}

impl Publisher {
    /// Starts the publishing task, with `limits` on what may wait for it.
    pub(super) fn start(
        commands: ConnectionManager,
        limits: PublishLimits,
        health: Arc<Health>,
    ) -> Self {
        let (queue, waiting) = mpsc::channel(limits.messages.max(1));
        let most = usize::try_from(u32::MAX)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        let max_bytes = limits.bytes.clamp(1, most);
        tokio::spawn(run(commands, waiting, health.clone()));
        Publisher {
            queue,
            bytes: Arc::new(Semaphore::new(max_bytes)),
            max_bytes,
            health,
        }
    }

    /// Queues a message without waiting for Redis. While Redis is reachable a full queue (in
    /// messages or in bytes) makes the caller wait for room (backpressure). While it is not,
    /// nothing is queued and the caller learns at once that the other processes miss the
    /// message (so a retry cannot send it twice).
    pub(super) async fn publish(
        &self,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), AdapterError> {
        let publication = self.admit(channel, payload, None).await?;
        self.queue.send(publication).await.map_err(|_| stopped())
    }

    /// Takes the message's share of the byte budget (waiting for it), unless Redis is
    /// unreachable.
    async fn admit(
        &self,
        channel: String,
        payload: Vec<u8>,
        receivers: Option<oneshot::Sender<Result<usize, AdapterError>>>,
    ) -> Result<Publication, AdapterError> {
        if !self.health.reachable() {
            return Err(unreachable());
        }
        let share = u32::try_from(payload.len().clamp(1, self.max_bytes)).unwrap_or(u32::MAX);
        let bytes = self
            .bytes
            .clone()
            .acquire_many_owned(share)
            .await
            .map_err(|_| stopped())?;
        Ok(Publication {
            channel,
            payload,
            receivers,
            _bytes: bytes,
        })
    }

    /// Publishes in order with the queued messages and waits for the number of receivers.
    pub(super) async fn publish_counted(
        &self,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<usize, AdapterError> {
        let (receivers, count) = oneshot::channel();
        let publication = self.admit(channel, payload, Some(receivers)).await?;
        self.queue.send(publication).await.map_err(|_| stopped())?;
        count.await.map_err(|_| stopped())?
    }
}

fn unreachable() -> AdapterError {
    AdapterError::Unavailable(
        "Redis is unreachable: the message was not sent to the other processes (it reached \
         this process's connections)"
            .to_owned(),
    )
}

fn stopped() -> AdapterError {
    AdapterError::Unavailable("the Redis publisher has stopped".to_owned())
}

async fn run(
    mut commands: ConnectionManager,
    mut waiting: mpsc::Receiver<Publication>,
    health: Arc<Health>,
) {
    let mut batch = Vec::with_capacity(MAX_PIPELINE);
    while waiting.recv_many(&mut batch, MAX_PIPELINE).await > 0 {
        let mut pipe = redis::pipe();
        for publication in &batch {
            pipe.cmd("PUBLISH")
                .arg(&publication.channel)
                .arg(&publication.payload);
        }
        // The connection manager's response timeout bounds the wait.
        match pipe.query_async::<Vec<usize>>(&mut commands).await {
            Ok(counts) => {
                health.set(true);
                for (publication, count) in batch.drain(..).zip(counts) {
                    if let Some(receivers) = publication.receivers {
                        let _ = receivers.send(Ok(count));
                    }
                }
            }
            Err(error) => {
                health.set(false);
                tracing::warn!(%error, messages = batch.len(), "publishing on Redis failed");
                crate::metrics::adapter_publish_failed(batch.len() as u64);
                for publication in batch.drain(..) {
                    if let Some(receivers) = publication.receivers {
                        let _ = receivers.send(Err(AdapterError::Unavailable(error.to_string())));
                    }
                }
            }
        }
        batch.clear();
    }
}
