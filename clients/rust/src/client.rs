//! [`Client`]: calls, sends, events, subscriptions and state of one connection.

use crate::builder::ClientBuilder;
use crate::call::CallOptions;
use crate::connection::{self, Outbound, Shared};
use crate::envelope::{Envelope, Id};
use crate::error::{CallError, ConnectError, SendError, StreamError};
use crate::events::{Events, Subscription};
use crate::state::ConnectionState;
use crate::stream::{ItemStream, StreamOptions, StreamTable};
use exws_protocol::type_name_of;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

/// A connection to an exws server, with typed calls, events and automatic reconnection.
///
/// Cheap to clone: clones share one connection. The connection is closed when
/// [`close`](Self::close) is called or the last clone is dropped.
///
/// # Calls
/// [`call`](Self::call) sends `{"Type": <name of Req>, "Data": req, "Id": <fresh id>}` and
/// waits for the first reply carrying the same `Id`:
/// - an `Error` reply becomes [`CallError::Server`];
/// - a request may get **no** reply (a handler that returns `()`): the call then ends with
///   [`CallError::Timeout`] — use [`send`](Self::send) for such messages;
/// - a request may get **several** replies (several handlers observe the same `Type`): the
///   call resolves with the first; the others, like every envelope, reach
///   [`events`](Self::events) and the subscriptions.
///
/// # Disconnections
/// While the client is not [`Online`](ConnectionState::Online), calls and sends fail at once
/// with `Disconnected` (they do not wait for a reconnection: watch [`state`](Self::state) to
/// know when to retry). Calls waiting for a reply when the connection drops fail promptly with
/// [`CallError::Disconnected`]; a reply can't arrive on another connection. Events,
/// subscriptions and state receivers survive reconnections. A reconnection the server refuses
/// (401/403) counts as a failed attempt of the [`ReconnectPolicy`](crate::ReconnectPolicy).
/// [`closed`](Self::closed) resolves once the client stops for good. Open streams end with
/// [`StreamError::Disconnected`] when the connection drops; they are not reopened.
///
/// # Streams
/// [`stream`](Self::stream) sends a request with a fresh `Id` and returns an [`ItemStream`] of
/// the items the server answers with, until `StreamEnd`; dropping it cancels the stream on the
/// server (see [`ItemStream`] for errors, buffering and cancelling).
///
/// ```no_run
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize)]
/// struct CalculateRequest { numbers: Vec<i64> }
/// #[derive(Deserialize)]
/// struct CalculateResponse { result: i64 }
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = exws_client::Client::connect("ws://127.0.0.1:8765").await?;
/// let response: CalculateResponse =
///     client.call(&CalculateRequest { numbers: vec![2, 2] }).await?;
/// assert_eq!(response.result, 4);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    outbound: mpsc::Sender<Outbound>,
    shared: Arc<Shared>,
    call_timeout: Duration,
    stream_capacity: usize,
    next_id: AtomicI64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("state", &*self.inner.shared.state.borrow())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to `url` with the default settings (see [`ClientBuilder`]).
    pub async fn connect(url: impl Into<String>) -> Result<Client, ConnectError> {
        ClientBuilder::new(url).connect().await
    }

    /// A [`ClientBuilder`] for `url`.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    pub(crate) async fn open(builder: ClientBuilder) -> Result<(Client, Events), ConnectError> {
        let shared = Arc::new(Shared::new(builder.event_capacity, builder.connect.recover));
        let events = Events::new(shared.events.subscribe());
        let first = connection::ConnectConfig {
            url: shared.recovery.url(&builder.connect.url),
            ..builder.connect.clone()
        };
        let socket = connection::open(&first).await?;
        shared.go_online(1);
        let (outbound, receiver) = mpsc::channel(builder.outbound_capacity);
        let span = tracing::debug_span!("exws_client", url = %builder.connect.url);
        tokio::spawn(
            connection::run(shared.clone(), receiver, socket, builder.connect).instrument(span),
        );
        let client = Client {
            inner: Arc::new(Inner {
                outbound,
                shared,
                call_timeout: builder.call_timeout,
                stream_capacity: builder.stream_capacity,
                next_id: AtomicI64::new(1),
            }),
        };
        Ok((client, events))
    }

    /// Answers the server's calls of `Req`'s type name (`Connection::call` on the server) with
    /// `handler`: its `Ok` is the answer, its `Err` refuses the call (`handler_error` with the
    /// error's text). A call of a `Type` without a handler is refused with `unknown_type`.
    /// Handlers run in their own tasks; a second one for the same `Type` replaces the first.
    ///
    /// ```no_run
    /// # async fn run(client: exws_client::Client) {
    /// #[derive(serde::Deserialize)]
    /// struct ConfirmPayment { amount_cents: u64 }
    /// #[derive(serde::Serialize)]
    /// struct Confirmation { accepted: bool }
    ///
    /// client.on_call(|request: ConfirmPayment| async move {
    ///     Ok::<_, std::convert::Infallible>(Confirmation { accepted: request.amount_cents < 10_000 })
    /// });
    /// # }
    /// ```
    pub fn on_call<Req, Resp, E, F, Fut>(&self, handler: F)
    where
        Req: DeserializeOwned + Send + 'static,
        Resp: Serialize,
        E: std::fmt::Display,
        F: Fn(Req) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Resp, E>> + Send + 'static,
    {
        self.on_call_as(type_name_of::<Req>(), handler);
    }

    /// [`on_call`](Client::on_call) for an explicit `Type`.
    pub fn on_call_as<Req, Resp, E, F, Fut>(&self, message_type: &str, handler: F)
    where
        Req: DeserializeOwned + Send + 'static,
        Resp: Serialize,
        E: std::fmt::Display,
        F: Fn(Req) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Resp, E>> + Send + 'static,
    {
        self.inner.shared.answers.insert(message_type, handler);
    }

    /// Calls the handler of `Req`'s type name and decodes the reply into `Resp`.
    ///
    /// The reply's `Type` must be `Resp`'s type name (else [`CallError::UnexpectedType`]);
    /// see the [type-level docs](Self#calls) for zero or several replies.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future forgets the call: the request may already be queued or sent (the
    /// server then handles it), and its reply goes to [`events`](Self::events) as an unmatched
    /// message.
    pub async fn call<Req, Resp>(&self, request: &Req) -> Result<Resp, CallError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        self.call_as(type_name_of::<Req>(), request).await
    }

    /// Like [`call`](Self::call) with an explicit request `Type` (e.g. `"calc.fail"`).
    pub async fn call_as<Req, Resp>(
        &self,
        message_type: &str,
        request: &Req,
    ) -> Result<Resp, CallError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let data = serde_json::to_value(request).map_err(CallError::Encode)?;
        let reply = self.call_raw(message_type, data).await?;
        let expected = type_name_of::<Resp>();
        if reply.message_type != expected {
            return Err(CallError::UnexpectedType {
                expected: expected.to_owned(),
                actual: reply.message_type,
                data: reply.data,
            });
        }
        Resp::deserialize(&reply.data).map_err(|source| CallError::Decode {
            message_type: reply.message_type,
            source,
        })
    }

    /// Calls with an explicit `Type` and raw `Data`; returns the whole first reply (of any
    /// `Type` but `Error`, which becomes [`CallError::Server`]).
    pub async fn call_raw(&self, message_type: &str, data: Value) -> Result<Envelope, CallError> {
        self.call_raw_with(message_type, data, CallOptions::new())
            .await
    }

    /// Like [`call_raw`](Self::call_raw) with an explicit `Id` and/or timeout.
    pub async fn call_raw_with(
        &self,
        message_type: &str,
        data: Value,
        options: CallOptions,
    ) -> Result<Envelope, CallError> {
        let timeout = options.timeout.unwrap_or(self.inner.call_timeout);
        let id = options.id.unwrap_or_else(|| self.fresh_id());
        if self.inner.shared.streams.contains(&id) {
            return Err(CallError::DuplicateId(id));
        }
        let mut registration = self.inner.shared.pending.register(id.clone())?;
        let text = Envelope {
            message_type: message_type.to_owned(),
            data,
            id: Some(id),
        }
        .to_json();
        let generation = registration.generation;
        let exchange = async {
            self.enqueue(generation, text).await?;
            match (&mut registration.reply).await {
                Ok(reply) => reply,
                // The connection task is gone without answering: the client was closed.
                Err(_) => Err(CallError::Disconnected),
            }
        };
        let reply = match tokio::time::timeout(timeout, exchange).await {
            Ok(reply) => reply?,
            Err(_) => return Err(CallError::Timeout(timeout)),
        };
        if reply.is_error() {
            return Err(CallError::from_error_envelope(&reply.data));
        }
        Ok(reply)
    }

    /// Sends `message` with `Type` = its type name and no `Id`, expecting no reply (any reply
    /// still reaches [`events`](Self::events)). Returns once the frame is queued; use
    /// [`close`](Self::close) to wait until everything queued is written.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped while it waits for room in the outbound queue, the message is not
    /// sent; once it has returned `Ok`, it is queued.
    pub async fn send<T: Serialize + ?Sized>(&self, message: &T) -> Result<(), SendError> {
        self.send_as(type_name_of::<T>(), message).await
    }

    /// Like [`send`](Self::send) with an explicit `Type`.
    pub async fn send_as<T: Serialize + ?Sized>(
        &self,
        message_type: &str,
        data: &T,
    ) -> Result<(), SendError> {
        let data = serde_json::to_value(data).map_err(SendError::Encode)?;
        self.send_envelope(Envelope::new(message_type, data)).await
    }

    /// Sends an envelope as given (with its `Id`, if any).
    pub async fn send_envelope(&self, envelope: Envelope) -> Result<(), SendError> {
        let generation = self
            .inner
            .shared
            .pending
            .generation()
            .ok_or(SendError::Disconnected)?;
        self.enqueue(generation, envelope.to_json()).await
    }

    /// Opens a stream: sends `request` with `Type` = `Req`'s type name and a fresh `Id`, and
    /// returns the stream of its items decoded into `Item` (see [`ItemStream`]). Returns once
    /// the request is queued; an `Error` answer (no handler, a refused stream) is the stream's
    /// first and last item.
    ///
    /// ```no_run
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Serialize)] struct Countdown { from: u32, interval_ms: u64 }
    /// # #[derive(Deserialize)] struct Tick { n: u32 }
    /// use futures_util::StreamExt;
    /// # async fn demo(client: exws_client::Client) -> Result<(), exws_client::StreamError> {
    /// let mut ticks = client.stream::<_, Tick>(&Countdown { from: 3, interval_ms: 10 }).await?;
    /// let mut seen = Vec::new();
    /// while let Some(tick) = ticks.next().await {
    ///     seen.push(tick?.n);
    /// }
    /// assert_eq!(seen, [3, 2, 1]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn stream<Req, Item>(&self, request: &Req) -> Result<ItemStream<Item>, StreamError>
    where
        Req: Serialize + ?Sized,
        Item: DeserializeOwned,
    {
        self.stream_as(type_name_of::<Req>(), request).await
    }

    /// Like [`stream`](Self::stream) with an explicit request `Type`.
    pub async fn stream_as<Req, Item>(
        &self,
        message_type: &str,
        request: &Req,
    ) -> Result<ItemStream<Item>, StreamError>
    where
        Req: Serialize + ?Sized,
        Item: DeserializeOwned,
    {
        let data = serde_json::to_value(request).map_err(StreamError::Encode)?;
        let id = self.fresh_id();
        let registration = self.register_stream(id, None)?;
        let stream = ItemStream::typed(self.clone(), registration);
        self.open_stream(stream, message_type, data).await
    }

    /// Opens a stream with an explicit `Type` and raw `Data`; its items are whole envelopes
    /// (with their `Type` and `Id`).
    pub async fn stream_raw(
        &self,
        message_type: &str,
        data: Value,
    ) -> Result<ItemStream<Envelope>, StreamError> {
        self.stream_raw_with(message_type, data, StreamOptions::new())
            .await
    }

    /// Like [`stream_raw`](Self::stream_raw) with an explicit `Id` and/or queue capacity.
    pub async fn stream_raw_with(
        &self,
        message_type: &str,
        data: Value,
        options: StreamOptions,
    ) -> Result<ItemStream<Envelope>, StreamError> {
        let id = options.id.unwrap_or_else(|| self.fresh_id());
        let registration = self.register_stream(id, options.capacity)?;
        let stream = ItemStream::raw(self.clone(), registration);
        self.open_stream(stream, message_type, data).await
    }

    fn register_stream(
        &self,
        id: Id,
        capacity: Option<usize>,
    ) -> Result<crate::stream::Registration, StreamError> {
        let shared = &self.inner.shared;
        shared
            .streams
            .register(id, capacity.unwrap_or(self.inner.stream_capacity), |id| {
                shared.pending.contains(id)
            })
    }

    /// Sends the request of a registered stream (if that fails, dropping `stream` forgets it).
    async fn open_stream<T>(
        &self,
        mut stream: ItemStream<T>,
        message_type: &str,
        data: Value,
    ) -> Result<ItemStream<T>, StreamError> {
        let text = Envelope {
            message_type: message_type.to_owned(),
            data,
            id: Some(stream.id().clone()),
        }
        .to_json();
        self.enqueue(stream.generation(), text).await?;
        stream.mark_sent();
        Ok(stream)
    }

    pub(crate) fn streams(&self) -> &StreamTable {
        &self.inner.shared.streams
    }

    /// Queues a frame for the connection of `generation`.
    pub(crate) async fn enqueue_frame(
        &self,
        generation: u64,
        text: String,
    ) -> Result<(), SendError> {
        self.enqueue(generation, text).await
    }

    /// Queues a frame without waiting (from `Drop`): when the queue is full, a task waits for
    /// room, so the frame still goes out after everything queued before it.
    pub(crate) fn enqueue_frame_now(&self, generation: u64, text: String) {
        let frame = Outbound::Frame { generation, text };
        match self.inner.outbound.try_send(frame) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(frame)) => {
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        let outbound = self.inner.outbound.clone();
                        runtime.spawn(async move {
                            // An error means the connection task is gone: nothing to cancel.
                            let _ = outbound.send(frame).await;
                        });
                    }
                    Err(_) => {
                        tracing::warn!("cannot queue a StreamCancel outside a Tokio runtime");
                    }
                }
            }
            // The connection task is gone: its streams have ended.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    async fn enqueue(&self, generation: u64, text: String) -> Result<(), SendError> {
        self.inner
            .outbound
            .send(Outbound::Frame { generation, text })
            .await
            .map_err(|_| SendError::Disconnected)
    }

    /// Every incoming envelope from now on (see [`Events`]).
    pub fn events(&self) -> Events {
        Events::new(self.inner.shared.events.subscribe())
    }

    /// The incoming envelopes whose `Type` is `T`'s type name, decoded into `T`.
    pub fn subscribe<T: DeserializeOwned>(&self) -> Subscription<T> {
        self.subscribe_as(type_name_of::<T>())
    }

    /// The incoming envelopes of `Type` `message_type`, decoded into `T` (`serde_json::Value`
    /// for any JSON).
    pub fn subscribe_as<T: DeserializeOwned>(&self, message_type: &str) -> Subscription<T> {
        Subscription::typed(
            self.inner.shared.events.subscribe(),
            message_type.to_owned(),
        )
    }

    /// What the server says of the session each time a client with
    /// [recovery](crate::ClientBuilder::recover) connects or reconnects: whether it was
    /// resumed, and complete (every missed message follows, as ordinary envelopes, before new
    /// ones), or which rooms have gaps (refetch them). Subscribe before the connection is
    /// lost (or use [`ClientBuilder::connect_with_events`] for the first one).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), exws_client::ConnectError> {
    /// let client = exws_client::Client::builder("ws://127.0.0.1:8765/").recover(true).connect().await?;
    /// let mut recoveries = client.recoveries();
    /// while let Some(Ok(recovered)) = recoveries.recv().await {
    ///     if !recovered.complete {
    ///         println!("missed messages in {:?}: reload them", recovered.gaps);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn recoveries(&self) -> Subscription<crate::recovery::Recovered> {
        self.subscribe_as(crate::recovery::SESSION_TYPE)
    }

    /// The incoming envelopes of `Type` `message_type`, whole (with their `Id`).
    pub fn subscribe_raw(&self, message_type: &str) -> Subscription<Envelope> {
        Subscription::raw(
            self.inner.shared.events.subscribe(),
            message_type.to_owned(),
        )
    }

    /// A receiver of the connection state; `changed()`/`wait_for()` observe transitions.
    pub fn state(&self) -> watch::Receiver<ConnectionState> {
        self.inner.shared.state.subscribe()
    }

    /// The connection state right now.
    pub fn current_state(&self) -> ConnectionState {
        self.inner.shared.state.borrow().clone()
    }

    /// Writes every frame queued before, closes the connection with a normal close (waiting
    /// briefly for the server's answer) and stops reconnecting. Then the state is
    /// [`Offline`](ConnectionState::Offline), waiting calls have failed with
    /// [`CallError::Disconnected`], and every clone of this client is closed too.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe once polled: the close is handed to the connection task, which completes it
    /// even if the future is dropped; a future dropped before its first poll closes nothing.
    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self
            .inner
            .outbound
            .send(Outbound::Close(done))
            .await
            .is_ok()
        {
            // An error only means the task already stopped: closed either way.
            let _ = closed.await;
        }
    }

    /// Waits until the connection is closed for good: by [`close`](Self::close), or because it
    /// was lost and reconnection is off or gave up. The final state is then in
    /// [`current_state`](Self::current_state).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&self) {
        let mut stopped = self.inner.shared.stopped.subscribe();
        // An error means the sender is gone, which only happens once everything is gone.
        let _ = stopped.wait_for(|stopped| *stopped).await;
    }

    /// Whether the connection is closed for good (see [`closed`](Self::closed)).
    pub fn is_closed(&self) -> bool {
        *self.inner.shared.stopped.borrow()
    }

    /// How many calls are waiting for a reply.
    pub fn pending_calls(&self) -> usize {
        self.inner.shared.pending.len()
    }

    /// How many streams are open, or cancelled and waiting for the server's `StreamEnd`.
    pub fn open_streams(&self) -> usize {
        self.inner.shared.streams.len()
    }

    fn fresh_id(&self) -> Id {
        Id::Int(self.inner.next_id.fetch_add(1, Ordering::Relaxed))
    }
}
