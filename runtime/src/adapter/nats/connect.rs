//! Starting the adapter: connecting to NATS (with the reconnection backoff), creating the state
//! stream, then starting the publishing queue, the answers, the subscriptions and the
//! maintenance task that writes this process's entries back after a reconnection and sweeps
//! for gone processes, all wired to this process's [`Inbound`].

use super::adapter::Inner;
use super::jetstream::JetStream;
use super::publisher::{PublishLimits, Publisher};
use super::replies::Replies;
use super::subscriber::{Subscriber, SubscriberConfig};
use super::sweeper::{self, SweeperConfig};
use crate::adapter::url::shown_url;
use crate::adapter::{AdapterError, Inbound};
use async_nats::{ConnectOptions, Event};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The client's ping interval, in command timeouts: a frozen server is noticed after two
/// unanswered pings, and a server merely slow (busy) is not taken for gone.
const PING_INTERVALS: u32 = 5;

/// Entries written back at once after a reconnection.
const RESTORE_BATCH: usize = 256;

impl Inner {
    /// Connects (failing with a message naming the URL, its password hidden, when NATS is
    /// unreachable or has no JetStream) and starts the adapter's tasks.
    pub(super) async fn start(&self, inbound: Arc<dyn Inbound>) -> Result<(), AdapterError> {
        let shown = shown_url(&self.config.url);
        let (events, events_received) = mpsc::channel(64);
        let (min, max) = (self.config.reconnect_min, self.config.reconnect_max);
        let timeout = self.config.command_timeout;
        let options = ConnectOptions::new()
            .name(format!("exws {}", self.node))
            .no_echo()
            .ping_interval(timeout.saturating_mul(PING_INTERVALS))
            .connection_timeout(timeout * 3)
            .request_timeout(Some(timeout))
            .reconnect_delay_callback(move |attempts| backoff(attempts, min, max))
            .event_callback(move |event| {
                let events = events.clone();
                async move {
                    let _ = events.try_send(event);
                }
            });
        let client = tokio::time::timeout(timeout * 3, options.connect(self.config.url.as_str()))
            .await
            .map_err(|_| format!("no answer within {:?}", timeout * 3))
            .and_then(|connected| connected.map_err(|error| error.to_string()))
            .map_err(|error| {
                AdapterError::Unavailable(format!(
                    "cannot connect to NATS at {shown}: {error} (is nats-server running there, \
                     with JetStream (`-js`)? start it, or fix the URL)"
                ))
            })?;
        let jetstream = JetStream::new(client.clone(), self.subjects.stream(), timeout);
        jetstream
            .ensure_stream(&self.subjects.state(), self.config.replicas)
            .await
            .map_err(|error| {
                AdapterError::Unavailable(format!(
                    "NATS at {shown} cannot hold exws's state: {error}"
                ))
            })?;
        let replies = Replies::start(&client, format!("_INBOX.exws.{}", self.node))
            .await
            .map_err(|error| {
                AdapterError::Unavailable(format!("cannot subscribe on NATS: {error}"))
            })?;
        let subscriber = Subscriber::start(SubscriberConfig {
            client: client.clone(),
            inbound: inbound.clone(),
            subjects: self.subjects.clone(),
            node: self.node.clone(),
            command_timeout: timeout,
        })
        .await
        .map_err(|error| AdapterError::Unavailable(format!("cannot subscribe on NATS: {error}")))?;
        let publisher = Publisher::start(
            client.clone(),
            self.subjects.sync(),
            PublishLimits {
                messages: self.config.publish_queue,
                bytes: self.config.publish_queue_bytes,
            },
            timeout,
        );
        let _ = self.client.set(client.clone());
        let _ = self.jetstream.set(jetstream.clone());
        let _ = self.replies.set(replies);
        let _ = self.subscriber.set(subscriber);
        let _ = self.publisher.set(publisher);
        let (stop, stopped) = oneshot::channel();
        let _ = self.stop.set(stop);
        tokio::spawn(maintain(
            Maintenance {
                jetstream,
                inbound: inbound.clone(),
                subjects: self.subjects.clone(),
                node: self.node.clone(),
                replicas: self.config.replicas,
                sweeper: SweeperConfig {
                    client,
                    inbound,
                    subjects: self.subjects.clone(),
                    node: self.node.clone(),
                    interval: self.config.sweep_interval,
                    command_timeout: timeout,
                },
            },
            events_received,
            stopped,
        ));
        Ok(())
    }
}

/// What the maintenance task needs.
struct Maintenance {
    jetstream: JetStream,
    inbound: Arc<dyn Inbound>,
    subjects: super::subjects::Subjects,
    node: String,
    replicas: usize,
    sweeper: SweeperConfig,
}

/// Writes this process's entries back after each reconnection, and sweeps from time to time,
/// until the adapter is dropped.
async fn maintain(
    maintenance: Maintenance,
    mut events: mpsc::Receiver<Event>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut sweeping = sweeper::Sweeping::new(&maintenance.sweeper);
    let mut restore_pending = false;
    loop {
        let retry = tokio::time::sleep(if restore_pending {
            maintenance.sweeper.command_timeout
        } else {
            Duration::from_secs(24 * 60 * 60)
        });
        tokio::select! {
            _ = &mut stopped => return,
            event = events.recv() => match event {
                None => return,
                Some(Event::Connected) => {
                    tracing::info!("connected to NATS");
                    restore_pending = true;
                }
                Some(Event::Disconnected) => {
                    tracing::warn!("lost NATS: serving local connections, reconnecting");
                }
                Some(Event::SlowConsumer(subscription)) => tracing::warn!(
                    subscription,
                    "NATS messages were dropped: this process reads its subscriptions too slowly"
                ),
                Some(event) => tracing::debug!(%event, "a NATS client event"),
            },
            () = retry => {}
            () = sweeping.next() => {
                sweeping.sweep(&maintenance.sweeper).await;
                continue;
            }
        }
        if restore_pending {
            match restore(&maintenance).await {
                Ok(()) => restore_pending = false,
                Err(error) => {
                    tracing::warn!(%error, "writing this process's state back to NATS failed; retrying");
                }
            }
        }
    }
}

/// Creates the state stream if NATS lost it, and writes this process's connections, users and
/// memberships back (idempotent: one entry per subject).
async fn restore(maintenance: &Maintenance) -> Result<(), AdapterError> {
    let jetstream = &maintenance.jetstream;
    let subjects = &maintenance.subjects;
    jetstream
        .ensure_stream(&subjects.state(), maintenance.replicas)
        .await?;
    let mut entries: Vec<(String, Bytes)> = Vec::new();
    for (id, user) in maintenance.inbound.connections_with_users() {
        entries.push((subjects.conn(&maintenance.node, &id), Bytes::new()));
        if let Some(user) = user {
            entries.push((
                subjects.user(&id),
                Bytes::from(user.as_str().as_bytes().to_vec()),
            ));
        }
    }
    for (room, members) in maintenance.inbound.memberships() {
        for member in members {
            entries.push((subjects.member(&room, &member), Bytes::new()));
        }
    }
    let restored = entries.len();
    for batch in entries.chunks(RESTORE_BATCH) {
        let puts = batch
            .iter()
            .map(|(subject, payload)| jetstream.put(subject.clone(), payload.clone()));
        for result in futures_util::future::join_all(puts).await {
            result?;
        }
    }
    if restored > 0 {
        tracing::info!(
            entries = restored,
            "wrote this process's state back to NATS"
        );
    }
    Ok(())
}

/// The delay before reconnection attempt `attempts`: doubling from `min` up to `max`, with
/// full jitter (between half and all of it).
fn backoff(attempts: usize, min: Duration, max: Duration) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(20);
    let delay = min.saturating_mul(1 << doublings).min(max);
    delay.mul_f64(0.5 + fastrand::f64() / 2.0)
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn the_backoff_doubles_up_to_its_ceiling_with_jitter() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(5));
        for _ in 0..100 {
            let first = backoff(1, min, max);
            assert!(first >= min / 2 && first <= min, "{first:?}");
            let third = backoff(3, min, max);
            assert!(third >= min * 2 && third <= min * 4, "{third:?}");
            let late = backoff(1000, min, max);
            assert!(late >= max / 2 && late <= max, "{late:?}");
        }
    }
}
