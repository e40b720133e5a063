//! Per-`Type` rate limits, per connection.

use super::{Middleware, Next, Request, Response};
use crate::connection::ConnectionId;
use crate::protocol::{CloseCode, ErrorCode};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::time::Instant;

/// The most `Type`s one connection has a bucket of its own for; past it, the rest share one,
/// so that a client inventing `Type` names cannot grow the server's memory.
const MAX_TYPES_PER_CONNECTION: usize = 256;

/// Limits how often each connection may send each `Type`: a token bucket per connection and
/// `Type`, refilled at `per_second`, holding at most `burst`. A message over the limit is
/// answered with `rate_limited` and its handlers do not run; with
/// [`close_after`](RateLimitPerType::close_after), a connection that goes on sending that many
/// refused messages in a row is closed with 1008.
///
/// Combine with [`only`](super::only) to limit some `Type`s, and install one per rate:
///
/// ```
/// use exws::middleware::{only, RateLimitPerType};
///
/// let server = exws::Server::new()
///     // Two chat messages a second, bursts of five.
///     .middleware(only(["chat.send"], RateLimitPerType::new(2.0, 5).close_after(20)))
///     // One expensive export a minute.
///     .middleware(only(["report.export"], RateLimitPerType::new(1.0 / 60.0, 1)));
/// ```
///
/// The buckets of a connection are dropped when it closes.
#[derive(Debug, Clone)]
pub struct RateLimitPerType {
    per_second: f64,
    burst: f64,
    close_after: Option<u32>,
    buckets: Arc<Mutex<Buckets>>,
}

/// The buckets of every connection, by `Type`.
type Buckets = HashMap<ConnectionId, HashMap<Arc<str>, Bucket>>;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
    refused_in_a_row: u32,
}

/// What the limit says of one more message.
enum Verdict {
    Admit,
    Refuse,
    Close,
}

impl RateLimitPerType {
    /// `per_second` messages of each `Type` per connection, sustained, with bursts of `burst`.
    ///
    /// # Panics
    /// When `per_second` is not a positive finite number or `burst` is 0: a mistake in the
    /// server's code, caught at start-up.
    pub fn new(per_second: f64, burst: u32) -> Self {
        assert!(
            per_second > 0.0 && per_second.is_finite() && burst > 0,
            "RateLimitPerType needs a positive rate and a burst of at least 1"
        );
        RateLimitPerType {
            per_second,
            burst: f64::from(burst),
            close_after: None,
            buckets: Arc::default(),
        }
    }

    /// Closes the connection with 1008 ("rate limit exceeded") once it has sent `refused`
    /// messages in a row over the limit of one `Type`. Default: never close.
    pub fn close_after(mut self, refused: u32) -> Self {
        self.close_after = Some(refused);
        self
    }

    fn take(&self, request: &Request) -> Verdict {
        let connection = request.connection();
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let types = match buckets.get_mut(connection.id()) {
            Some(types) => types,
            None => {
                self.forget_on_close(request);
                buckets.entry(connection.id().clone()).or_default()
            }
        };
        let key: Arc<str> = if types.len() < MAX_TYPES_PER_CONNECTION
            || types.contains_key(request.message_type())
        {
            Arc::from(request.message_type())
        } else {
            Arc::from("")
        };
        let bucket = types.entry(key).or_insert(Bucket {
            tokens: self.burst,
            refilled: now,
            refused_in_a_row: 0,
        });
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.refilled = now;
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            bucket.refused_in_a_row = 0;
            return Verdict::Admit;
        }
        bucket.refused_in_a_row = bucket.refused_in_a_row.saturating_add(1);
        match self.close_after {
            Some(limit) if bucket.refused_in_a_row > limit => Verdict::Close,
            _ => Verdict::Refuse,
        }
    }

    /// Drops the connection's buckets when it closes.
    fn forget_on_close(&self, request: &Request) {
        let connection = request.connection().clone();
        let buckets = Arc::downgrade(&self.buckets);
        tokio::spawn(async move {
            connection.closed().await;
            if let Some(buckets) = buckets.upgrade() {
                buckets
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(connection.id());
            }
        });
    }
}

impl Middleware for RateLimitPerType {
    fn call(&self, request: Request, next: Next) -> impl Future<Output = Response> + Send {
        let verdict = self.take(&request);
        async move {
            match verdict {
                Verdict::Admit => next.run(request).await,
                Verdict::Refuse => Response::error(
                    ErrorCode::RateLimited,
                    format!("too many {:?} messages: slow down", request.message_type()),
                ),
                Verdict::Close => Response::close(CloseCode::POLICY, "rate limit exceeded"),
            }
        }
    }
}
