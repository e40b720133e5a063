//! The server calling a client and awaiting its answer: `{"Type": T, "Data": D, "Call": n}`
//! out, `{"Type": "Answer", "Call": n, "Data": R}` or `{"Type": "AnswerError", "Call": n,
//! "Data": {"code", "message"}}` back (see `docs/PROTOCOL.md`, "Server calls").

use super::Connection;
use crate::adapter::CallOutcome;
use crate::protocol::message_type_name;
use futures_util::task::AtomicWaker;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// How long [`Connection::call`] waits for the answer.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The most calls one connection may have waiting for an answer at once.
pub const MAX_PENDING_CALLS: usize = 256;

/// The `Type` of a client's answer to a server call.
pub(crate) const ANSWER: &str = "Answer";
/// The `Type` of a client's refusal of a server call.
pub(crate) const ANSWER_ERROR: &str = "AnswerError";

/// Why a server call to a client got no typed answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The client did not answer in time; a late answer is ignored.
    #[error("the client did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection closed before the answer came (or was closed already).
    #[error("the connection closed before the client answered")]
    Closed,
    /// The client answered with an error (`AnswerError`), e.g. it has no handler for the
    /// call's `Type`.
    #[error("the client refused the call: {code}: {message}")]
    Refused {
        /// The client's error code (`unknown_type`, `handler_error`, ...).
        code: String,
        /// The client's description.
        message: String,
    },
    /// The client's answer does not decode into the expected type.
    #[error("the client's answer does not fit the expected type: {0}")]
    InvalidAnswer(serde_json::Error),
    /// The request could not be serialized.
    #[error("the call's request could not be serialized: {0}")]
    Serialize(serde_json::Error),
    /// The connection already has [`MAX_PENDING_CALLS`] calls waiting for an answer.
    #[error("too many calls waiting for this client's answers; await some first")]
    TooManyPending,
}

/// What a client answered.
pub(crate) enum Answer {
    Data(Box<RawValue>),
    Refused { code: String, message: String },
}

/// The calls of one connection that wait for an answer.
#[derive(Default)]
pub(crate) struct PendingCalls {
    next: AtomicU64,
    /// How many calls wait (the size of `waiting`), read without the lock.
    count: AtomicUsize,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Answer>>>,
    /// The session, woken when a call starts waiting: it may have stopped reading (a busy
    /// handler), and the answer is a frame to read.
    session: AtomicWaker,
}

impl PendingCalls {
    fn register(&self) -> Result<(u64, oneshot::Receiver<Answer>), CallError> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if waiting.len() >= MAX_PENDING_CALLS {
            return Err(CallError::TooManyPending);
        }
        let call = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (sender, receiver) = oneshot::channel();
        waiting.insert(call, sender);
        self.count.store(waiting.len(), Ordering::Release);
        drop(waiting);
        self.session.wake();
        Ok((call, receiver))
    }

    /// Whether a call waits for an answer; else `waker` is woken when one starts to.
    pub(crate) fn waiting(&self, waker: &Waker) -> bool {
        if self.count.load(Ordering::Acquire) > 0 {
            return true;
        }
        self.session.register(waker);
        self.count.load(Ordering::Acquire) > 0
    }

    /// Takes the call out of the table, if it is still there.
    fn take(&self, call: u64) -> Option<oneshot::Sender<Answer>> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = waiting.remove(&call);
        self.count.store(waiting.len(), Ordering::Release);
        sender
    }

    fn forget(&self, call: u64) {
        self.take(call);
    }

    /// Hands `answer` to the call waiting for it; `false` when none does (unknown, or late).
    fn answer(&self, call: u64, answer: Answer) -> bool {
        self.take(call)
            .is_some_and(|sender| sender.send(answer).is_ok())
    }
}

/// Removes the call from the table however the wait ends (answer, timeout, drop).
struct Forget<'a>(&'a PendingCalls, u64);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
    }
}

#[derive(Serialize)]
struct CallEnvelope<'a, T: ?Sized> {
    #[serde(rename = "Type")]
    message_type: &'a str,
    #[serde(rename = "Data")]
    data: &'a T,
    #[serde(rename = "Call")]
    call: u64,
}

#[derive(Deserialize)]
struct AnswerEnvelope<'a> {
    #[serde(rename = "Call")]
    call: u64,
    #[serde(rename = "Data", borrow, default)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Refusal {
    code: String,
    message: String,
}

impl Connection {
    /// Asks the client: sends `request` with the `Type` named after `Req` and waits, at most
    /// [`DEFAULT_CALL_TIMEOUT`], for the client's answer, decoded into `Resp`.
    ///
    /// ```no_run
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Deserialize)]
    /// struct Checkout {}
    /// #[derive(Serialize)]
    /// struct ConfirmPayment { amount_cents: u64 }
    /// #[derive(Deserialize)]
    /// struct Confirmation { accepted: bool }
    ///
    /// #[exws::message(reply = "Paid")]
    /// async fn checkout(_request: Checkout, connection: exws::Connection) -> Result<bool, exws::CallError> {
    ///     let answer: Confirmation = connection.call(&ConfirmPayment { amount_cents: 1250 }).await?;
    ///     Ok(answer.accepted)
    /// }
    /// ```
    ///
    /// A handler may call the client whose message it is handling, in either processing
    /// mode: while the running handlers take every slot (in the default,
    /// [sequential](crate::Server::sequential), mode: the one handler) and one of them waits
    /// for an answer, the session reads on for the answers; other messages read meanwhile
    /// are held, in order, and handled once a slot is free (at most 16 of them, and
    /// `max_message_size` bytes: past that reading pauses, and an answer sent after them
    /// comes too late).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future forgets the call: the request may already have gone to the client,
    /// and its answer is then dropped. Nothing else is left behind.
    pub async fn call<Req, Resp>(&self, request: &Req) -> Result<Resp, CallError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        self.call_as(message_type_name::<Req>(), request, DEFAULT_CALL_TIMEOUT)
            .await
    }

    /// [`call`](Connection::call) with an explicit `Type` and timeout.
    ///
    /// # Cancel safety
    ///
    /// As [`call`](Connection::call): dropping the future forgets the call.
    pub async fn call_as<Req, Resp>(
        &self,
        message_type: &str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, CallError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        if self.is_closed() {
            return Err(CallError::Closed);
        }
        let calls = &self.inner.calls;
        let (call, receiver) = calls.register()?;
        let _forget = Forget(calls, call);
        let envelope = CallEnvelope {
            message_type,
            data: request,
            call,
        };
        let text = serde_json::to_string(&envelope).map_err(CallError::Serialize)?;
        match self.send_encoded(Utf8Bytes::from(text)).await {
            Ok(()) => {}
            Err(_) => return Err(CallError::Closed),
        }
        let answer = tokio::select! {
            answer = receiver => answer.map_err(|_| CallError::Closed)?,
            () = self.closed() => return Err(CallError::Closed),
            () = tokio::time::sleep(timeout) => return Err(CallError::Timeout(timeout)),
        };
        match answer {
            Answer::Data(data) => {
                serde_json::from_str(data.get()).map_err(CallError::InvalidAnswer)
            }
            Answer::Refused { code, message } => Err(CallError::Refused { code, message }),
        }
    }

    /// Calls the client with a request already in JSON, for a room call: what came of it,
    /// the answer kept as JSON.
    pub(crate) async fn call_for_room(
        &self,
        message_type: &str,
        data: &RawValue,
        timeout: Duration,
    ) -> CallOutcome {
        match self
            .call_as::<RawValue, Box<RawValue>>(message_type, data, timeout)
            .await
        {
            Ok(answer) => CallOutcome::Answered(Arc::from(answer)),
            Err(CallError::Refused { code, message }) => CallOutcome::Refused { code, message },
            Err(CallError::Timeout(_)) => CallOutcome::Timeout,
            Err(CallError::TooManyPending) => CallOutcome::Busy,
            // Raw JSON serializes, and any JSON decodes into raw JSON.
            Err(CallError::Closed | CallError::Serialize(_) | CallError::InvalidAnswer(_)) => {
                CallOutcome::Closed
            }
        }
    }

    /// Whether a call of the server waits for this client's answer; else `waker` is woken
    /// when one starts to.
    pub(crate) fn awaits_answer(&self, waker: &Waker) -> bool {
        self.inner.calls.waiting(waker)
    }

    /// Routes a client's `Answer`/`AnswerError` frame to its call; `Err` explains a malformed
    /// one. An answer nobody waits for (late, or unknown) is dropped.
    pub(crate) fn answered(&self, text: &str, refused: bool) -> Result<(), String> {
        let envelope: AnswerEnvelope<'_> = serde_json::from_str(text).map_err(|error| {
            format!("an answer needs a numeric \"Call\" of a server call: {error}")
        })?;
        let data = envelope.data.map_or("null", RawValue::get);
        let answer = if refused {
            let refusal: Refusal = serde_json::from_str(data).map_err(|error| {
                format!("an AnswerError's Data needs \"code\" and \"message\": {error}")
            })?;
            Answer::Refused {
                code: refusal.code,
                message: refusal.message,
            }
        } else {
            // `data` is valid JSON: it was parsed above.
            Answer::Data(RawValue::from_string(data.to_owned()).map_err(|e| e.to_string())?)
        };
        if !self.inner.calls.answer(envelope.call, answer) {
            tracing::debug!(id = %self.inner.id, call = envelope.call, "an answer nobody waits for (late?)");
        }
        Ok(())
    }
}
