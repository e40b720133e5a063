//! Answers to this process's direct messages and liveness checks: one subscription on this
//! process's inbox, and the waiters for each answer by token.

use async_nats::{Client, Message};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The waiters for answers, by the last token of the reply subject.
#[derive(Clone)]
pub(super) struct Replies {
    inbox: String,
    next: Arc<AtomicU64>,
    waiting: Arc<Mutex<HashMap<u64, oneshot::Sender<Message>>>>,
}

/// One expected answer.
pub(super) struct Awaited {
    pub subject: String,
    pub answer: oneshot::Receiver<Message>,
    token: u64,
    replies: Replies,
}

impl Drop for Awaited {
    fn drop(&mut self) {
        self.replies.forget(self.token);
    }
}

impl Replies {
    /// Subscribes to `{inbox}.*` and routes each answer to its waiter, until the client
    /// closes (the subscription is restored by the client on reconnection).
    pub(super) async fn start(client: &Client, inbox: String) -> Result<Self, String> {
        let mut subscription = client
            .subscribe(format!("{inbox}.*"))
            .await
            .map_err(|error| error.to_string())?;
        let replies = Replies {
            inbox,
            next: Arc::new(AtomicU64::new(1)),
            waiting: Arc::new(Mutex::new(HashMap::new())),
        };
        let routing = replies.clone();
        tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                let token = message
                    .subject
                    .rsplit('.')
                    .next()
                    .and_then(|token| token.parse::<u64>().ok());
                let waiter = token.and_then(|token| routing.forget(token));
                if let Some(waiter) = waiter {
                    let _ = waiter.send(message);
                }
            }
        });
        Ok(replies)
    }

    /// A reply subject and the receiver of its answer; dropping it stops waiting.
    pub(super) fn expect(&self) -> Awaited {
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let (sender, answer) = oneshot::channel();
        self.lock().insert(token, sender);
        Awaited {
            subject: format!("{}.{token}", self.inbox),
            answer,
            token,
            replies: self.clone(),
        }
    }

    fn forget(&self, token: u64) -> Option<oneshot::Sender<Message>> {
        self.lock().remove(&token)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Message>>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
