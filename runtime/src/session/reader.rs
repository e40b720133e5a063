//! The reader half of a session: reads frames, dispatches them, keeps the heartbeat and the
//! rate limit, and decides how the connection ends.

use super::{dispatch, DisconnectReason};
use crate::connection::{CloseCause, Outbound};
use crate::protocol::{CloseCode, ErrorCode, Incoming};
use crate::server::{Heartbeat, Processing, RateLimit, Shared};
use crate::Context;
use futures_util::stream::{FuturesUnordered, SplitStream};
use futures_util::{FutureExt, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

pub(crate) type Stream = SplitStream<WebSocketStream<TcpStream>>;

type InFlight = FuturesUnordered<Pin<Box<dyn Future<Output = ()> + Send>>>;

/// Reads and dispatches until the connection ends; then lets in-flight handlers finish, has
/// the writer close the connection, and waits for it (up to the close timeout).
pub(crate) async fn run(
    mut stream: Stream,
    context: &Context,
    shared: &Arc<Shared>,
    shutdown: &CancellationToken,
    abort: &CancellationToken,
    writer_done: &CancellationToken,
) -> (Stream, DisconnectReason) {
    let connection = context.connection();
    let max_in_flight = match shared.config.processing {
        Processing::Sequential => 0,
        Processing::Concurrent { max_in_flight } => max_in_flight,
    };
    let mut in_flight = InFlight::new();
    let mut heartbeat = shared.config.heartbeat.map(HeartbeatState::new);
    let mut bucket = shared.config.rate_limit.map(TokenBucket::new);
    // Before any message: the connect hooks (the writer already runs, for welcome messages).
    // Cold paths are boxed throughout: a future's size is what every idle connection holds.
    Box::pin(shared.hooks.connected(context)).await;
    // Made once: a fresh cancellation future per message would register a waiter each time.
    let shutting_down = shutdown.cancelled();
    let closing = connection.closed_token().cancelled();
    tokio::pin!(shutting_down, closing);
    let reason = 'session: loop {
        let frame = tokio::select! {
            biased;
            _ = &mut shutting_down => break DisconnectReason::ServerShutdown,
            _ = &mut closing => break closed_reason(context),
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {
                // Reading may have paused while the in-flight set was full.
                if let Some(heartbeat) = &mut heartbeat {
                    heartbeat.seen();
                }
                continue;
            }
            () = tick(&mut heartbeat) => {
                if heartbeat.as_mut().is_some_and(HeartbeatState::expired) {
                    break DisconnectReason::HeartbeatTimeout;
                }
                connection.ping();
                continue;
            }
            frame = stream.next(), if max_in_flight == 0 || in_flight.len() < max_in_flight => frame,
        };
        let mut frame = frame;
        // Frames that have already arrived are handled without another round through the
        // select above (whose cancellation futures cost a lock each per poll), up to a batch;
        // a close asked for meanwhile is seen through the connection's flag.
        let mut handled = 0;
        loop {
            let mut reading = Reading {
                context,
                shared,
                heartbeat: &mut heartbeat,
                bucket: &mut bucket,
                in_flight: &mut in_flight,
                max_in_flight,
            };
            if let Some(reason) = reading.handle(frame).await {
                break 'session reason;
            }
            handled += 1;
            if handled == MAX_READ_BATCH
                || connection.is_closed()
                || (max_in_flight > 0 && in_flight.len() >= max_in_flight)
            {
                break;
            }
            // Polled without a waker: `Pending` is left for the select above, which polls the
            // stream again with the task's own.
            match stream.next().now_or_never() {
                Some(next) => frame = next,
                None => break,
            }
        }
    };

    // Accepted messages are answered before the connection closes.
    while in_flight.next().await.is_some() {}

    let last = match &reason {
        DisconnectReason::ServerShutdown => {
            Outbound::Close(CloseCode::GOING_AWAY, "server shutting down".to_owned())
        }
        DisconnectReason::MessageTooLarge => {
            Outbound::Close(CloseCode::TOO_BIG, "message too large".to_owned())
        }
        DisconnectReason::ProtocolError { code, .. } => {
            Outbound::Close(*code, "protocol error".to_owned())
        }
        DisconnectReason::HeartbeatTimeout => {
            Outbound::Close(CloseCode::POLICY, "heartbeat timeout".to_owned())
        }
        DisconnectReason::SlowConsumer => {
            Outbound::Close(CloseCode::POLICY, "slow consumer".to_owned())
        }
        DisconnectReason::RateLimited => {
            Outbound::Close(CloseCode::POLICY, "rate limit exceeded".to_owned())
        }
        DisconnectReason::ClosedByServer { code, reason } => Outbound::Close(*code, reason.clone()),
        DisconnectReason::ClientClosed { .. } | DisconnectReason::ConnectionLost => {
            Outbound::Finish
        }
    };
    let close_timeout = shared.config.close_timeout;
    let finish = async {
        if connection.push_final(last).await {
            writer_done.cancelled().await;
        }
    };
    if Box::pin(tokio::time::timeout(close_timeout, finish))
        .await
        .is_err()
    {
        abort.cancel();
    }
    (stream, reason)
}

/// The most frames handled in a row before the reader looks at shutdown and timers again.
const MAX_READ_BATCH: usize = 32;

/// What handling one frame needs from the reader.
struct Reading<'a> {
    context: &'a Context,
    shared: &'a Arc<Shared>,
    heartbeat: &'a mut Option<HeartbeatState>,
    bucket: &'a mut Option<TokenBucket>,
    in_flight: &'a mut InFlight,
    max_in_flight: usize,
}

impl Reading<'_> {
    /// Handles one read result; `Some` when the connection ends.
    async fn handle(
        &mut self,
        frame: Option<Result<Message, WsError>>,
    ) -> Option<DisconnectReason> {
        let context = self.context;
        let message = match frame {
            None => return Some(DisconnectReason::ConnectionLost),
            Some(Err(error)) => return Some(Box::pin(read_failed(error, context)).await),
            Some(Ok(message)) => message,
        };
        if let Some(heartbeat) = self.heartbeat {
            heartbeat.seen();
        }
        if matches!(message, Message::Text(_) | Message::Binary(_)) {
            crate::metrics::messages_in(1);
            if let Some(bucket) = self.bucket {
                match bucket.take() {
                    Admit::Yes => {}
                    Admit::Refuse => {
                        Box::pin(refuse_over_rate(&message, context)).await;
                        return None;
                    }
                    Admit::Close => return Some(DisconnectReason::RateLimited),
                }
            }
        }
        match message {
            Message::Text(text) => {
                if self.max_in_flight == 0 {
                    // Boxed: the dispatch state is allocated while a message is handled, not
                    // held by every idle connection.
                    Box::pin(dispatch::message(text.as_str(), context, self.shared)).await;
                    // The handler ran while nothing was read: the client is not to blame.
                    if let Some(heartbeat) = self.heartbeat {
                        heartbeat.seen();
                    }
                } else {
                    let context = context.clone();
                    let shared = self.shared.clone();
                    self.in_flight.push(Box::pin(async move {
                        dispatch::message(text.as_str(), &context, &shared).await;
                    }));
                }
                None
            }
            Message::Binary(_) => {
                Box::pin(dispatch::send_error(
                    context.connection(),
                    ErrorCode::UnsupportedFrame,
                    "binary frames are not supported: send one JSON envelope per text frame"
                        .to_owned(),
                    None,
                    None,
                ))
                .await;
                None
            }
            Message::Close(frame) => Some(match frame {
                Some(frame) => DisconnectReason::ClientClosed {
                    code: Some(u16::from(frame.code)),
                    reason: frame.reason.as_str().to_owned(),
                },
                None => DisconnectReason::ClientClosed {
                    code: None,
                    reason: String::new(),
                },
            }),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => None,
        }
    }
}

/// Why the connection stopped when its `closed` token fired.
fn closed_reason(context: &Context) -> DisconnectReason {
    match context.connection().close_request() {
        Some(request) => match request.cause {
            CloseCause::SlowConsumer => DisconnectReason::SlowConsumer,
            CloseCause::Application => DisconnectReason::ClosedByServer {
                code: request.code,
                reason: request.reason.clone(),
            },
        },
        None => DisconnectReason::ConnectionLost,
    }
}

async fn read_failed(error: WsError, context: &Context) -> DisconnectReason {
    match error {
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            dispatch::send_error(
                context.connection(),
                ErrorCode::MessageTooLarge,
                format!("the message of {size} bytes is over the limit of {max_size} bytes"),
                None,
                None,
            )
            .await;
            DisconnectReason::MessageTooLarge
        }
        // End of stream without a close frame: the client just went away.
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)
        | WsError::ConnectionClosed
        | WsError::AlreadyClosed => DisconnectReason::ConnectionLost,
        WsError::Protocol(error) => DisconnectReason::ProtocolError {
            code: CloseCode(1002),
            detail: error.to_string(),
        },
        WsError::Utf8(detail) => DisconnectReason::ProtocolError {
            code: CloseCode(1007),
            detail: format!("invalid UTF-8 in a text frame: {detail}"),
        },
        error => {
            tracing::debug!(%error, "reading from the connection failed");
            DisconnectReason::ConnectionLost
        }
    }
}

/// Answers a message over the rate limit with `rate_limited`, echoing its `Type` and `Id`
/// when it has them.
async fn refuse_over_rate(message: &Message, context: &Context) {
    let parsed = match message {
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
struct HeartbeatState {
    timer: Interval,
    timeout: std::time::Duration,
    last_seen: Instant,
    /// Something was heard since the last tick: cheaper than reading the clock per frame.
    active: bool,
}

impl HeartbeatState {
    fn new(config: Heartbeat) -> Self {
        let mut timer = tokio::time::interval_at(Instant::now() + config.interval, config.interval);
        timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        HeartbeatState {
            timer,
            timeout: config.timeout,
            last_seen: Instant::now(),
            active: false,
        }
    }

    fn seen(&mut self) {
        self.active = true;
    }

    /// At a tick: whether the client has been silent for the timeout. Activity is sampled per
    /// tick, so silence is measured to within one interval.
    fn expired(&mut self) -> bool {
        let now = Instant::now();
        if std::mem::take(&mut self.active) {
            self.last_seen = now;
        }
        now.duration_since(self.last_seen) >= self.timeout
    }
}

/// The next heartbeat tick; never, without a heartbeat.
async fn tick(heartbeat: &mut Option<HeartbeatState>) {
    match heartbeat {
        Some(heartbeat) => {
            heartbeat.timer.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// A token bucket of one connection.
struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    refilled: Instant,
    refused_in_a_row: u32,
}

enum Admit {
    Yes,
    Refuse,
    Close,
}

impl TokenBucket {
    fn new(limit: RateLimit) -> Self {
        TokenBucket {
            limit,
            tokens: f64::from(limit.burst),
            refilled: Instant::now(),
            refused_in_a_row: 0,
        }
    }

    fn take(&mut self) -> Admit {
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
