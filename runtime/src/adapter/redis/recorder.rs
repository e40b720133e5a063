//! Recording room messages on Redis, pipelined: one task takes every recorded message waiting
//! in a bounded queue and sends them as one pipeline of history scripts (each appends, trims
//! and publishes), so a sender does not wait for a Redis round trip and the messages of one
//! process keep the order in which they were queued.

use super::publisher::Health;
use crate::adapter::AdapterError;
use redis::aio::ConnectionManager;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The most messages recorded in one pipeline.
const MAX_PIPELINE: usize = 256;

/// One recorded message: the history script's keys and arguments.
pub(super) struct Record {
    pub keys: [String; 2],
    pub args: Vec<Vec<u8>>,
}

/// The handle to the recording task.
pub(super) struct Recorder {
    queue: mpsc::Sender<Record>,
    health: Arc<Health>,
}

impl Recorder {
    /// Starts the recording task with `script` (the history's append script), at most
    /// `capacity` messages waiting.
    pub(super) fn start(
        commands: ConnectionManager,
        script: redis::Script,
        capacity: usize,
        health: Arc<Health>,
    ) -> Self {
        let (queue, waiting) = mpsc::channel(capacity.max(1));
        tokio::spawn(run(commands, script, waiting, health.clone()));
        Recorder { queue, health }
    }

    /// Queues a message without waiting for Redis (waiting for room when the queue is full).
    /// While Redis is unreachable nothing is queued: the caller learns it at once.
    pub(super) async fn record(&self, record: Record) -> Result<(), AdapterError> {
        if !self.health.reachable() {
            return Err(AdapterError::Unavailable(
                "Redis is unreachable: the room message was not recorded nor sent".to_owned(),
            ));
        }
        self.queue.send(record).await.map_err(|_| {
            AdapterError::Unavailable("the Redis history recorder has stopped".to_owned())
        })
    }
}

async fn run(
    mut commands: ConnectionManager,
    script: redis::Script,
    mut waiting: mpsc::Receiver<Record>,
    health: Arc<Health>,
) {
    let mut batch = Vec::with_capacity(MAX_PIPELINE);
    while waiting.recv_many(&mut batch, MAX_PIPELINE).await > 0 {
        let mut pipe = redis::pipe();
        // Loaded with every batch (idempotent, and cheap beside the batch): a restarted Redis
        // has lost its scripts.
        pipe.cmd("SCRIPT")
            .arg("LOAD")
            .arg(super::history::APPEND)
            .ignore();
        for record in &batch {
            pipe.cmd("EVALSHA")
                .arg(script.get_hash())
                .arg(2)
                .arg(&record.keys[0])
                .arg(&record.keys[1])
                .arg(&record.args)
                .ignore();
        }
        match pipe.query_async::<()>(&mut commands).await {
            Ok(()) => health.set(true),
            Err(error) => {
                health.set(false);
                tracing::warn!(%error, messages = batch.len(), "recording room messages on Redis failed");
                crate::metrics::adapter_publish_failed(batch.len() as u64);
            }
        }
        batch.clear();
    }
}
