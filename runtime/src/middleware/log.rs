//! Structured call logging with `tracing`.

use super::{Middleware, Next, Request, Response};
use std::future::Future;
use tracing::Level;

/// Logs one `tracing` event per message, after it was handled, with the target `exws::calls`
/// and the fields `message_type`, `id` (raw JSON), `connection`, `user` (the user id, when
/// the authenticator gave one), `outcome` (`reply`, `stream`, `error`, `close`, `nothing`),
/// `error_code`, `replies`, `streams` and `elapsed_us` (the whole call, middleware after this
/// one included). The level is `INFO`, or what [`level`](CallLog::level) sets. `Data` is not
/// logged: it may hold secrets.
///
/// Installed first, it sees what every later middleware decided:
///
/// ```
/// use exws::middleware::{CallLog, RateLimitPerType};
///
/// let server = exws::Server::new()
///     .middleware(CallLog::new().level(tracing::Level::DEBUG))
///     .middleware(RateLimitPerType::new(20.0, 40));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CallLog {
    level: Level,
}

impl Default for CallLog {
    fn default() -> Self {
        CallLog::new()
    }
}

impl CallLog {
    /// Logs at `INFO`.
    pub fn new() -> Self {
        CallLog { level: Level::INFO }
    }

    /// Logs at `level`.
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }
}

/// Emits the event at a level chosen at run time (tracing's macros take a constant level).
macro_rules! call_event {
    ($level:expr, $($fields:tt)*) => {
        match $level {
            Level::ERROR => tracing::event!(target: "exws::calls", Level::ERROR, $($fields)*),
            Level::WARN => tracing::event!(target: "exws::calls", Level::WARN, $($fields)*),
            Level::INFO => tracing::event!(target: "exws::calls", Level::INFO, $($fields)*),
            Level::DEBUG => tracing::event!(target: "exws::calls", Level::DEBUG, $($fields)*),
            Level::TRACE => tracing::event!(target: "exws::calls", Level::TRACE, $($fields)*),
        }
    };
}

impl Middleware for CallLog {
    fn call(&self, request: Request, next: Next) -> impl Future<Output = Response> + Send {
        let level = self.level;
        async move {
            let started = std::time::Instant::now();
            let message_type = request.shared_type();
            let id = request.shared_id();
            let connection = request.connection().id().clone();
            let user = request.connection().user_id().cloned();
            let response = next.run(request).await;
            let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            call_event!(
                level,
                message_type = &*message_type,
                id = id.as_deref(),
                connection = %connection,
                user = user.as_ref().map(|user| user.as_str()),
                outcome = response.outcome(),
                error_code = response.error_code().map(|code| code.as_str()),
                replies = response.replies(),
                streams = response.streams(),
                elapsed_us,
                "message handled"
            );
            response
        }
    }
}
