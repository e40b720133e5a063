//! Publishing on Redis, pipelined: one task takes every message waiting in a bounded queue and
//! sends them as one pipeline, so a connection's sends do not each wait for a Redis round trip
//! and publishes keep the order in which they were queued.

use super::AdapterError;
use redis::aio::ConnectionManager;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

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
}

/// The handle to the publishing task.
pub(super) struct Publisher {
    queue: mpsc::Sender<Publication>,
    health: Arc<Health>,
}

impl Publisher {
    /// Starts the publishing task; `capacity` bounds the messages waiting for it.
    pub(super) fn start(commands: ConnectionManager, capacity: usize, health: Arc<Health>) -> Self {
        let (queue, waiting) = mpsc::channel(capacity.max(1));
        tokio::spawn(run(commands, waiting, health.clone()));
        Publisher { queue, health }
    }

    /// Queues a message without waiting for Redis. While Redis is reachable a full queue
    /// makes the caller wait for room (backpressure); while it is not, the message is still
    /// offered (the attempt tells when Redis is back) but the caller learns at once that the
    /// other processes may miss it.
    pub(super) async fn publish(
        &self,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), AdapterError> {
        let publication = Publication {
            channel,
            payload,
            receivers: None,
        };
        if self.health.reachable() {
            return self.queue.send(publication).await.map_err(|_| stopped());
        }
        let _ = self.queue.try_send(publication);
        Err(AdapterError::Unavailable(
            "Redis is unreachable: processes other than this one miss this message".to_owned(),
        ))
    }

    /// Publishes in order with the queued messages and waits for the number of receivers.
    pub(super) async fn publish_counted(
        &self,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<usize, AdapterError> {
        let (receivers, count) = oneshot::channel();
        let publication = Publication {
            channel,
            payload,
            receivers: Some(receivers),
        };
        if self.health.reachable() {
            self.queue.send(publication).await.map_err(|_| stopped())?;
        } else {
            self.queue.try_send(publication).map_err(|_| {
                AdapterError::Unavailable("Redis is unreachable and its queue is full".to_owned())
            })?;
        }
        count.await.map_err(|_| stopped())?
    }
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
