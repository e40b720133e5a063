//! This process's subscriptions: broadcasts, its own subject (direct messages and liveness
//! checks, both answered) and the rooms it has members in, read in publishers' order
//! ([`Merge`]) and delivered to the [`Inbound`]. The client restores every subscription by
//! itself after a reconnection.

use super::merge::{publisher_of, Merge, Source};
use super::subjects::Subjects;
use crate::adapter::wire;
use crate::adapter::{Inbound, Target};
use async_nats::{Client, Message};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// What the subscription task needs.
pub(super) struct SubscriberConfig {
    pub client: Client,
    pub inbound: Arc<dyn Inbound>,
    pub subjects: Subjects,
    pub node: String,
    pub command_timeout: Duration,
}

/// A request to bring the subscription of one room in line with its local members.
struct Reconcile {
    room: String,
    done: oneshot::Sender<()>,
}

/// The most reconcile requests waiting for the subscription task.
const MAX_PENDING_RECONCILES: usize = 1024;

/// The handle to the subscription task.
pub(super) struct Subscriber {
    requests: mpsc::Sender<Reconcile>,
    command_timeout: Duration,
}

impl Subscriber {
    /// Subscribes to broadcasts and to this process's subject, then runs in the background.
    pub(super) async fn start(config: SubscriberConfig) -> Result<Self, String> {
        let mut merge = Merge::new();
        let everyone = config
            .client
            .subscribe(config.subjects.everyone())
            .await
            .map_err(|error| error.to_string())?;
        merge.insert(Source::Everyone, everyone);
        let node = config
            .client
            .subscribe(config.subjects.node(&config.node))
            .await
            .map_err(|error| error.to_string())?;
        merge.insert(Source::Node, node);
        let _ = tokio::time::timeout(config.command_timeout, config.client.flush()).await;
        let (requests, queue) = mpsc::channel(MAX_PENDING_RECONCILES);
        let command_timeout = config.command_timeout;
        tokio::spawn(run(config, merge, queue));
        Ok(Subscriber {
            requests,
            command_timeout,
        })
    }

    /// Subscribes to `room` if it has members here, unsubscribes otherwise; returns once the
    /// server has the change (or after a few command timeouts while NATS is away: the client
    /// subscribes again on reconnection).
    pub(super) async fn reconcile(&self, room: &str) {
        let (done, finished) = oneshot::channel();
        let request = Reconcile {
            room: room.to_owned(),
            done,
        };
        let _ = tokio::time::timeout(self.command_timeout * 3, async {
            if self.requests.send(request).await.is_ok() {
                let _ = finished.await;
            }
        })
        .await;
    }
}

async fn run(config: SubscriberConfig, mut merge: Merge, mut requests: mpsc::Receiver<Reconcile>) {
    loop {
        tokio::select! {
            () = merge.ready() => deliver_round(&config, &mut merge).await,
            request = requests.recv() => {
                let Some(request) = request else { return };
                reconcile(&config, &mut merge, &request.room).await;
                let _ = request.done.send(());
            }
        }
    }
}

/// Delivers what one round of the merge gives, and answers what asks for an answer.
async fn deliver_round(config: &SubscriberConfig, merge: &mut Merge) {
    let mut answers: Vec<(async_nats::Subject, Bytes)> = Vec::new();
    let taken = merge.round(publisher_of, |_source, message| {
        // A liveness check (an empty message on this process's subject), or a stray message.
        if let Some(reply) = message.reply {
            answers.push((reply, Bytes::from_static(b"alive")));
        }
    });
    for item in taken {
        let delivered = deliver(config, &item.source, &item.message);
        if let Some(reply) = item.message.reply {
            let answer = if delivered { "1" } else { "0" };
            answers.push((reply, Bytes::from_static(answer.as_bytes())));
        }
    }
    for (reply, answer) in answers {
        if let Err(error) = config.client.publish(reply, answer).await {
            tracing::debug!(%error, "answering on NATS failed");
        }
    }
}

/// Delivers one message from another process; whether a connection here got it.
fn deliver(config: &SubscriberConfig, source: &Source, message: &Message) -> bool {
    let Some(payload) = wire::decode(&message.payload) else {
        tracing::debug!("ignored a malformed message on a NATS subject");
        return false;
    };
    if payload.node == config.node {
        return false;
    }
    let target = match (source, payload.to) {
        (Source::Everyone, _) => Target::Everyone,
        (Source::Room(room), _) => Target::Room(room.clone()),
        (Source::Node, Some(to)) => Target::Connection(to),
        (Source::Node, None) => return false,
    };
    let text = Utf8Bytes::from(payload.text.to_owned());
    config.inbound.deliver(&target, &payload.except, &text) > 0
}

async fn reconcile(config: &SubscriberConfig, merge: &mut Merge, room: &str) {
    let source = Source::Room(room.to_owned());
    let wanted = config.inbound.has_members(room);
    if wanted && !merge.contains(&source) {
        match config.client.subscribe(config.subjects.room(room)).await {
            Ok(subscriber) => {
                merge.insert(source, subscriber);
                // The server has the subscription once it answers a ping sent after it.
                let _ = tokio::time::timeout(config.command_timeout, config.client.flush()).await;
            }
            Err(error) => tracing::warn!(%error, room, "subscribing to a room on NATS failed"),
        }
    } else if !wanted {
        if let Some(mut subscriber) = merge.remove(&source) {
            if let Err(error) = subscriber.unsubscribe().await {
                tracing::debug!(%error, room, "unsubscribing from a room on NATS failed");
            }
        }
    }
}
