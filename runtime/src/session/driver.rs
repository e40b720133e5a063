//! One task owns a connection's socket, unsplit: it reads and dispatches frames, writes the
//! replies and pushes queued for the connection, flushes once there is nothing more to read,
//! and closes.
//!
//! Owning both directions in one place is what keeps the order RFC 6455 asks for: every reply
//! to a request read before the client's close frame is written before the close is echoed.

use super::frames::{self, Admit, HeartbeatState, TokenBucket};
use super::signal::Signal;
use super::{dispatch, DisconnectReason};
use crate::connection::OutboundReceiver;
use crate::context::Context;
use crate::protocol::ErrorCode;
use crate::server::{Processing, Shared};
use futures_util::stream::FuturesUnordered;
use futures_util::{Sink, Stream};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

/// Work started for one frame (a dispatch, or an `Error` to send) that did not finish at once.
type Work = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The most frames read in a row before the session lets other tasks run.
const MAX_READ_BATCH: usize = 32;

/// The most frames read ahead, and held, while the running handlers take every slot and one
/// of them waits for this client's answer to a server call (the answer is a frame to read).
const MAX_HELD_FRAMES: usize = 16;

/// What the session may read now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Nothing: the handlers take every slot (or frames are held already to the limit).
    Nothing,
    /// Every frame.
    Everything,
    /// The answers to server calls a busy handler waits for: they are handled at once; other
    /// frames are held, in order, until a slot is free.
    Answers,
}

/// A connection's socket and everything its session tracks.
pub(super) struct Session<S> {
    ws: WebSocketStream<S>,
    queue: OutboundReceiver,
    context: Context,
    shared: Arc<Shared>,
    /// Work that did not finish when it was started; at most `max_in_flight` items.
    in_flight: FuturesUnordered<Work>,
    /// 1 in sequential mode: the next frame is read once the previous one is handled.
    max_in_flight: usize,
    /// The connect hooks are running: nothing is read until they finish (but answers to
    /// their calls).
    starting: bool,
    /// Frames read ahead while a busy handler waits for an answer, handled in order once a
    /// slot is free; at most [`MAX_HELD_FRAMES`] and `max_message_size` bytes (past it, at
    /// least one frame).
    held: VecDeque<Message>,
    /// The bytes of `held`.
    held_bytes: usize,
    heartbeat: Option<HeartbeatState>,
    /// A heartbeat ping is due and not yet written.
    ping_due: bool,
    bucket: Option<TokenBucket>,
    /// Frames were written since the last flush.
    unflushed: bool,
    /// Data frames may still be written: false once the client's close frame was read (the
    /// close echo is the last frame) or writing failed.
    writable: bool,
    /// Data frames read and messages written since the metrics were last told: counted once
    /// per round of serving, not per frame.
    frames_in: u64,
    messages_out: u64,
    /// A recovering connection's start: its session frame and replay, before the connect
    /// hooks.
    restored: Option<Box<crate::recovery::Restored>>,
}

impl<S> Session<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    pub(super) fn new(
        ws: WebSocketStream<S>,
        queue: OutboundReceiver,
        context: Context,
        shared: Arc<Shared>,
        restored: Option<Box<crate::recovery::Restored>>,
    ) -> Self {
        let max_in_flight = match shared.config.processing {
            Processing::Sequential => 1,
            Processing::Concurrent { max_in_flight } => max_in_flight.max(1),
        };
        let heartbeat = shared.config.heartbeat.map(HeartbeatState::new);
        let bucket = shared.config.rate_limit.map(TokenBucket::new);
        Session {
            ws,
            queue,
            context,
            shared,
            in_flight: FuturesUnordered::new(),
            max_in_flight,
            starting: false,
            held: VecDeque::new(),
            held_bytes: 0,
            heartbeat,
            ping_due: false,
            bucket,
            unflushed: false,
            writable: true,
            frames_in: 0,
            messages_out: 0,
            restored,
        }
    }

    /// Serves the connection until a close is asked for (by anyone, through the connection's
    /// `close_because`), then closes it: running handlers get their grace period, queued
    /// messages are written, the close handshake is done for the first reason recorded.
    pub(super) async fn run(&mut self, shutdown: &CancellationToken) {
        // Before any message: the connect hooks (writing already runs, for welcome messages).
        let hooks = {
            let context = self.context.clone();
            let shared = self.shared.clone();
            let restored = self.restored.take();
            Box::pin(async move {
                if let Some(restored) = restored {
                    restored.replay(&shared.hub, context.connection()).await;
                }
                shared.hooks.connected(&context).await
            })
        };
        self.starting = true;
        self.in_flight.push(hooks);

        // Made once: a fresh cancellation future per wake-up would register a waiter each time.
        let shutting_down = shutdown.cancelled();
        let context = self.context.clone();
        let closing = context.connection().closed_token().cancelled();
        tokio::pin!(shutting_down, closing);
        // The cancellation futures wake the task through `signal`, and are polled only when it
        // fired (or the task's waker changed), not at every wake-up.
        let signal = Signal::new();
        let signal_waker = Waker::from(signal.clone());
        let mut task_waker: Option<Waker> = None;
        std::future::poll_fn(|cx| {
            let fired = signal.take();
            let moved = !task_waker
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()));
            if moved {
                task_waker = Some(cx.waker().clone());
                signal.forward_to(cx.waker().clone());
            }
            if fired || moved {
                let mut signal_cx = TaskContext::from_waker(&signal_waker);
                if shutting_down.as_mut().poll(&mut signal_cx).is_ready() {
                    self.context
                        .connection()
                        .close_because(DisconnectReason::ServerShutdown);
                }
                if closing.as_mut().poll(&mut signal_cx).is_ready() {
                    return Poll::Ready(());
                }
            }
            self.poll_serve(cx)
        })
        .await;
        let reason = context
            .connection()
            .close_reason()
            .cloned()
            .unwrap_or(DisconnectReason::ConnectionLost);
        Box::pin(self.finish(&reason)).await;
    }

    /// Asks for the close for `reason` (the first reason recorded wins); `Ready` to stop
    /// serving.
    fn end(&self, reason: DisconnectReason) -> Poll<()> {
        self.context.connection().close_because(reason);
        Poll::Ready(())
    }

    /// The end of a connection: running handlers get their grace period, then the close.
    async fn finish(&mut self, reason: &DisconnectReason) {
        // Streams end with their connection: their tasks are dropped where they are.
        let stopped = self.context.connection().streams().close();
        if stopped > 0 {
            tracing::debug!(id = %self.context.connection().id(), stopped, "streams stopped by the close");
        }
        let grace = match reason {
            DisconnectReason::ServerShutdown => self.shared.config.shutdown_timeout,
            _ => self.shared.config.handler_grace,
        };
        self.drain(grace).await;
        let close_timeout = self.shared.config.close_timeout;
        let close_frame = reason.close_frame();
        if tokio::time::timeout(close_timeout, self.close(close_frame))
            .await
            .is_err()
        {
            tracing::debug!(id = %self.context.connection().id(), "the close handshake timed out");
        }
        self.count_messages();
    }

    /// After the close handshake: half-closes the socket and reads what the client still
    /// sends until it closes too, so that unread bytes do not turn the close into a reset that
    /// could destroy the close frame before the client reads it.
    pub(super) async fn linger(mut self) {
        let timeout = self.shared.config.close_timeout;
        let mut budget = self
            .shared
            .config
            .max_message_size
            .saturating_mul(2)
            .saturating_add(64 * 1024);
        let stream = self.ws.get_mut();
        let drain = async {
            if stream.shutdown().await.is_err() {
                return;
            }
            // On the heap and only while lingering: a buffer in the future would cost every
            // connection its size for its whole life.
            let mut buffer = vec![0u8; 4096];
            while budget > 0 {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(read) => budget = budget.saturating_sub(read),
                }
            }
        };
        let _ = tokio::time::timeout(timeout, drain).await;
    }

    /// One round of serving: finished work, writes, the heartbeat, then reading while frames
    /// are there; a flush once reading would block. `Ready` when the connection ends (its
    /// reason recorded).
    fn poll_serve(&mut self, cx: &mut TaskContext<'_>) -> Poll<()> {
        let served = self.poll_serve_frames(cx);
        self.count_messages();
        served
    }

    /// Tells the metrics the frames read and the messages written since the last time.
    fn count_messages(&mut self) {
        if self.frames_in > 0 {
            crate::metrics::messages_in(std::mem::take(&mut self.frames_in));
        }
        if self.messages_out > 0 {
            crate::metrics::messages_out(std::mem::take(&mut self.messages_out));
        }
    }

    /// [`poll_serve`](Self::poll_serve) without the counting.
    fn poll_serve_frames(&mut self, cx: &mut TaskContext<'_>) -> Poll<()> {
        // Once per round: the timer registers its waker, and a tick is never urgent to the
        // frame.
        if let Some(reason) = self.poll_heartbeat(cx) {
            return self.end(reason);
        }
        let mut read = 0;
        loop {
            self.poll_in_flight(cx);
            if let Err(reason) = self.write_queued(cx) {
                return self.end(reason);
            }
            let frame = if let Some(message) = self.take_held() {
                Some(Ok(message))
            } else {
                let reading = self.reading(cx);
                if reading == Reading::Nothing {
                    break;
                }
                let frame = match Pin::new(&mut self.ws).poll_next(cx) {
                    Poll::Ready(frame) => frame,
                    Poll::Pending => break,
                };
                match frame {
                    // A close after held frames waits too: they were sent before it.
                    Some(Ok(message))
                        if reading == Reading::Answers
                            && (waits(&message)
                                || (!self.held.is_empty()
                                    && matches!(message, Message::Close(_)))) =>
                    {
                        self.hold(message);
                        continue;
                    }
                    frame => frame,
                }
            };
            // The replies of this frame's handlers are written at the next turn (`write_queued`).
            if let Some(reason) = self.handle(frame, cx) {
                return self.end(reason);
            }
            if self.context.connection().is_closed() {
                // A handler asked for the close.
                return Poll::Ready(());
            }
            read += 1;
            if read == MAX_READ_BATCH {
                // Give the other connections a turn, and come back at once.
                cx.waker().wake_by_ref();
                break;
            }
        }
        // Before waiting: what was queued meanwhile, and the waker a later push wakes.
        if let Err(reason) = self.poll_write(cx) {
            return self.end(reason);
        }
        match self.poll_flush(cx) {
            Err(reason) => self.end(reason),
            Ok(()) => Poll::Pending,
        }
    }

    /// Writes what is queued, like [`poll_write`](Self::poll_write), but without registering
    /// to be woken by the next push: the cheap look between two frames. `poll_serve` ends its
    /// round with a `poll_write`.
    fn write_queued(&mut self, cx: &mut TaskContext<'_>) -> Result<(), DisconnectReason> {
        if !self.writable {
            self.discard_queued();
            return Ok(());
        }
        while self.queue.has_queued() {
            match Pin::new(&mut self.ws).poll_ready(cx) {
                Poll::Pending => return Ok(()),
                Poll::Ready(Err(error)) => {
                    self.writable = false;
                    return Err(write_failed(error));
                }
                Poll::Ready(Ok(())) => {}
            }
            let Some(text) = self.queue.try_recv() else {
                return Ok(());
            };
            if let Err(error) = Pin::new(&mut self.ws).start_send(Message::Text(text)) {
                self.writable = false;
                return Err(write_failed(error));
            }
            self.unflushed = true;
            self.messages_out += 1;
        }
        Ok(())
    }

    /// What may be read now. While the handlers take every slot, only the answers a call
    /// waits for (a handler calling its own client would otherwise wait for a frame the
    /// session does not read until the handler returns).
    fn reading(&self, cx: &TaskContext<'_>) -> Reading {
        if !self.starting && self.held.is_empty() && self.in_flight.len() < self.max_in_flight {
            return Reading::Everything;
        }
        // At most one item of work more than the slots: an answer's own `Error` reply.
        // Nothing follows a close.
        let room = !matches!(self.held.back(), Some(Message::Close(_)))
            && self.held.len() < MAX_HELD_FRAMES
            && self.held_bytes < self.shared.config.max_message_size
            && self.in_flight.len() <= self.max_in_flight;
        if room && self.context.connection().awaits_answer(cx.waker()) {
            Reading::Answers
        } else {
            Reading::Nothing
        }
    }

    /// Keeps a frame read ahead for later.
    fn hold(&mut self, message: Message) {
        if let Some(heartbeat) = &mut self.heartbeat {
            heartbeat.seen();
        }
        self.held_bytes += message.len();
        self.held.push_back(message);
    }

    /// The oldest held frame, once a slot is free for it.
    fn take_held(&mut self) -> Option<Message> {
        if self.starting || self.in_flight.len() >= self.max_in_flight {
            return None;
        }
        let message = self.held.pop_front()?;
        self.held_bytes = self.held_bytes.saturating_sub(message.len());
        Some(message)
    }

    /// Polls the unfinished work; each finished item counts as activity of the client.
    fn poll_in_flight(&mut self, cx: &mut TaskContext<'_>) {
        if self.in_flight.is_empty() {
            // Nothing to poll (work is polled once when it starts, and pushed only when it
            // did not finish: a push queues it to be polled here).
            self.starting = false;
            return;
        }
        while let Poll::Ready(Some(())) = Pin::new(&mut self.in_flight).poll_next(cx) {
            self.starting = false;
            if let Some(heartbeat) = &mut self.heartbeat {
                heartbeat.seen();
            }
        }
        if self.in_flight.is_empty() {
            self.starting = false;
        }
    }

    /// Starts work for a frame: polls it once at once (most handlers finish without waiting),
    /// and keeps it if it did not finish.
    fn start(&mut self, mut work: Work, cx: &mut TaskContext<'_>) {
        if work.as_mut().poll(cx).is_pending() {
            self.in_flight.push(work);
        }
    }

    /// Feeds queued messages to the socket until the queue is empty (`Ready`) or the socket
    /// takes no more for now (`Pending`). An error when writing failed.
    fn poll_write(&mut self, cx: &mut TaskContext<'_>) -> Result<Poll<()>, DisconnectReason> {
        if !self.writable {
            self.discard_queued();
            return Ok(Poll::Ready(()));
        }
        let result = loop {
            match Pin::new(&mut self.ws).poll_ready(cx) {
                Poll::Pending => break Ok(Poll::Pending),
                Poll::Ready(Err(error)) => break Err(write_failed(error)),
                Poll::Ready(Ok(())) => {}
            }
            let text = match self.queue.poll_recv(cx) {
                Poll::Ready(Some(text)) => text,
                Poll::Ready(None) | Poll::Pending => break Ok(Poll::Ready(())),
            };
            if let Err(error) = Pin::new(&mut self.ws).start_send(Message::Text(text)) {
                break Err(write_failed(error));
            }
            self.unflushed = true;
            self.messages_out += 1;
        };
        if result.is_err() {
            self.writable = false;
        }
        result
    }

    /// Drops what is queued: nothing more can be written.
    fn discard_queued(&mut self) {
        while self.queue.try_recv().is_some() {}
    }

    /// Flushes what was written since the last flush.
    fn poll_flush(&mut self, cx: &mut TaskContext<'_>) -> Result<(), DisconnectReason> {
        if !self.unflushed {
            return Ok(());
        }
        match Pin::new(&mut self.ws).poll_flush(cx) {
            Poll::Pending => Ok(()),
            Poll::Ready(Ok(())) => {
                self.unflushed = false;
                Ok(())
            }
            Poll::Ready(Err(error)) => {
                self.unflushed = false;
                self.writable = false;
                Err(write_failed(error))
            }
        }
    }

    /// Ticks of the heartbeat: a ping per tick, or the end of a silent connection.
    fn poll_heartbeat(&mut self, cx: &mut TaskContext<'_>) -> Option<DisconnectReason> {
        // Reading paused by a handler: the client's silence is not its own.
        let busy = !self.starting && self.in_flight.len() >= self.max_in_flight;
        let heartbeat = self.heartbeat.as_mut()?;
        while heartbeat.timer.poll_tick(cx).is_ready() {
            if busy {
                heartbeat.seen();
            }
            if heartbeat.expired() {
                return Some(DisconnectReason::HeartbeatTimeout);
            }
            self.ping_due = true;
        }
        if self.ping_due && self.writable {
            if let Poll::Ready(Ok(())) = Pin::new(&mut self.ws).poll_ready(cx) {
                self.ping_due = false;
                if Pin::new(&mut self.ws)
                    .start_send(Message::Ping(Default::default()))
                    .is_ok()
                {
                    self.unflushed = true;
                }
            }
        }
        None
    }

    /// Handles one read result; `Some` when the connection ends.
    fn handle(
        &mut self,
        frame: Option<Result<Message, WsError>>,
        cx: &mut TaskContext<'_>,
    ) -> Option<DisconnectReason> {
        let message = match frame {
            None => return Some(DisconnectReason::ConnectionLost),
            Some(Err(error)) => {
                let (reason, error_message) = frames::read_failed(error);
                if let Some(message) = error_message {
                    let connection = self.context.connection().clone();
                    self.start(
                        Box::pin(async move {
                            dispatch::send_error(
                                &connection,
                                ErrorCode::MessageTooLarge,
                                message,
                                None,
                                None,
                            )
                            .await;
                        }),
                        cx,
                    );
                }
                return Some(reason);
            }
            Some(Ok(message)) => message,
        };
        if let Some(heartbeat) = &mut self.heartbeat {
            heartbeat.seen();
        }
        if matches!(message, Message::Text(_) | Message::Binary(_)) {
            self.frames_in += 1;
            if let Some(bucket) = &mut self.bucket {
                match bucket.take() {
                    Admit::Yes => {}
                    Admit::Refuse => {
                        let refusal = frames::refuse_over_rate(message, self.context.clone());
                        self.start(Box::pin(refusal), cx);
                        return None;
                    }
                    Admit::Close => return Some(DisconnectReason::RateLimited),
                }
            }
        }
        match message {
            Message::Text(text) => {
                let context = self.context.clone();
                let shared = self.shared.clone();
                self.start(
                    Box::pin(async move {
                        dispatch::message(text.as_str(), &context, &shared).await;
                    }),
                    cx,
                );
                None
            }
            Message::Binary(_) => {
                let connection = self.context.connection().clone();
                self.start(
                    Box::pin(async move {
                        dispatch::send_error(
                            &connection,
                            ErrorCode::UnsupportedFrame,
                            "binary frames are not supported: send one JSON envelope per text \
                             frame"
                                .to_owned(),
                            None,
                            None,
                        )
                        .await;
                    }),
                    cx,
                );
                None
            }
            Message::Close(frame) => {
                // tungstenite has queued the echo of this close: the replies already written
                // go first, and no data frame may follow.
                self.writable = false;
                self.unflushed = true;
                Some(match frame {
                    Some(frame) => DisconnectReason::ClientClosed {
                        code: Some(u16::from(frame.code)),
                        reason: frame.reason.as_str().to_owned(),
                    },
                    None => DisconnectReason::ClientClosed {
                        code: None,
                        reason: String::new(),
                    },
                })
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => None,
        }
    }

    /// Lets running work finish for up to `grace`, writing what it queues; then cancels what
    /// is left (its futures are dropped, so the user's code stops at its next await).
    async fn drain(&mut self, grace: Duration) {
        let deadline = tokio::time::sleep(grace);
        tokio::pin!(deadline);
        std::future::poll_fn(|cx| {
            self.poll_in_flight(cx);
            let _ = self.poll_write(cx);
            // Also sends the close echo owed to a client that closed, before handlers finish.
            let _ = self.poll_flush(cx);
            if self.in_flight.is_empty() || deadline.as_mut().poll(cx).is_ready() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        if !self.in_flight.is_empty() {
            tracing::debug!(
                id = %self.context.connection().id(),
                cancelled = self.in_flight.len(),
                "the connection closed: cancelling the handlers still running"
            );
            self.in_flight = FuturesUnordered::new();
        }
    }

    /// Writes what is still queued, then the close frame (if the server owes one), and reads
    /// until the client has closed too.
    async fn close(&mut self, frame: Option<CloseFrame>) {
        // Nothing more is accepted: handles held elsewhere fail their sends from now on.
        self.context.connection().stop_queueing();
        std::future::poll_fn(|cx| match self.poll_write(cx) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) | Err(_) => Poll::Ready(()),
        })
        .await;
        if self.writable {
            if let Some(frame) = frame {
                let sent = std::future::poll_fn(|cx| Pin::new(&mut self.ws).poll_ready(cx)).await;
                if sent.is_ok() {
                    let _ = Pin::new(&mut self.ws).start_send(Message::Close(Some(frame)));
                    self.unflushed = true;
                }
            }
        }
        if self.unflushed {
            let _ = std::future::poll_fn(|cx| Pin::new(&mut self.ws).poll_flush(cx)).await;
            self.unflushed = false;
        }
        // The client's close (or its reply to ours), then the end of the stream.
        std::future::poll_fn(|cx| loop {
            match Pin::new(&mut self.ws).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None | Some(Err(_))) => return Poll::Ready(()),
                Poll::Ready(Some(Ok(_))) => {}
            }
        })
        .await;
    }
}

/// Whether a frame read while the handlers are busy waits for a slot: every data frame but
/// an answer to a server call. Control frames (close, ping) are handled at once, as always.
fn waits(message: &Message) -> bool {
    match message {
        Message::Text(text) => {
            !crate::protocol::Incoming::parse(text.as_str()).is_ok_and(|incoming| {
                incoming.message_type == crate::connection::ANSWER
                    || incoming.message_type == crate::connection::ANSWER_ERROR
            })
        }
        Message::Binary(_) => true,
        Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => false,
    }
}

/// A write failure ends the connection: the peer is gone or broke the protocol.
fn write_failed(error: WsError) -> DisconnectReason {
    tracing::debug!(%error, "writing to the connection failed");
    DisconnectReason::ConnectionLost
}
