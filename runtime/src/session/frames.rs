//! What the session keeps per connection besides the socket: the heartbeat, the rate limit,
//! and how a read failure becomes a [`DisconnectReason`].

use super::{dispatch, DisconnectReason};
use crate::context::Context;
use crate::protocol::{CloseCode, ErrorCode, Incoming};
use crate::server::{Heartbeat, RateLimit};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::Message;

/// What a failed read means; for a message over the limit, also the `Error` to send first.
pub(super) fn read_failed(error: WsError) -> (DisconnectReason, Option<String>) {
    let reason = match error {
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            let message =
                format!("the message of {size} bytes is over the limit of {max_size} bytes");
            return (DisconnectReason::MessageTooLarge, Some(message));
        }
        // End of stream without a close frame: the client just went away.
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)
        | WsError::ConnectionClosed
        | WsError::AlreadyClosed => DisconnectReason::ConnectionLost,
        WsError::Protocol(error) => DisconnectReason::ProtocolError {
            code: CloseCode::PROTOCOL_ERROR,
            detail: error.to_string(),
        },
        WsError::Utf8(detail) => DisconnectReason::ProtocolError {
            code: CloseCode::INVALID_PAYLOAD,
            detail: format!("invalid UTF-8 in a text frame: {detail}"),
        },
        error => {
            tracing::debug!(%error, "reading from the connection failed");
            DisconnectReason::ConnectionLost
        }
    };
    (reason, None)
}

/// Answers a message over the rate limit with `rate_limited`, echoing its `Type` and `Id`
/// when it has them.
pub(super) async fn refuse_over_rate(message: Message, context: Context) {
    let parsed = match &message {
        Message::Text(text) => Incoming::parse(text.as_str()).ok(),
        _ => None,
    };
    let message_type = parsed.as_ref().map(|incoming| &*incoming.message_type);
    let id = parsed.as_ref().and_then(|incoming| incoming.id);
    dispatch::send_error(
        context.connection(),
        ErrorCode::RateLimited,
        "too many messages: slow down".to_owned(),
        message_type,
        id,
    )
    .await;
}

/// When the client was last heard from, and the ping timer.
pub(super) struct HeartbeatState {
    pub(super) timer: Interval,
    timeout: std::time::Duration,
    last_seen: Instant,
    /// Something was heard since the last tick: cheaper than reading the clock per frame.
    active: bool,
}

impl HeartbeatState {
    pub(super) fn new(config: Heartbeat) -> Self {
        let mut timer = tokio::time::interval_at(Instant::now() + config.interval, config.interval);
        timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        HeartbeatState {
            timer,
            timeout: config.timeout,
            last_seen: Instant::now(),
            active: false,
        }
    }

    pub(super) fn seen(&mut self) {
        self.active = true;
    }

    /// At a tick: whether the client has been silent for the timeout. Activity is sampled per
    /// tick, so silence is measured to within one interval.
    pub(super) fn expired(&mut self) -> bool {
        let now = Instant::now();
        if std::mem::take(&mut self.active) {
            self.last_seen = now;
        }
        now.duration_since(self.last_seen) >= self.timeout
    }
}

/// A token bucket of one connection.
pub(super) struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    refilled: Instant,
    refused_in_a_row: u32,
}

/// What the rate limit says of one more message.
pub(super) enum Admit {
    /// Within the rate.
    Yes,
    /// Over the rate: answer `rate_limited`.
    Refuse,
    /// Far over the rate for too long: close the connection.
    Close,
}

impl TokenBucket {
    pub(super) fn new(limit: RateLimit) -> Self {
        TokenBucket {
            limit,
            tokens: f64::from(limit.burst),
            refilled: Instant::now(),
            refused_in_a_row: 0,
        }
    }

    pub(super) fn take(&mut self) -> Admit {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.refilled = now;
        self.tokens =
            (self.tokens + elapsed * self.limit.per_second).min(f64::from(self.limit.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused_in_a_row = 0;
            return Admit::Yes;
        }
        self.refused_in_a_row += 1;
        if self.refused_in_a_row > self.limit.burst {
            Admit::Close
        } else {
            Admit::Refuse
        }
    }
}
