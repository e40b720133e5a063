//! The recipients of one hub message: a target and exclusions.

use super::{Hub, HubError};
use crate::adapter::{CallAnswer, CallOutcome, CallRequest, Outgoing, Target};
use crate::auth::UserId;
use crate::connection::{CallError, ConnectionId};
use crate::protocol::{encode, message_type_name};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Who a hub message goes to: made by [`Hub::to`], [`Hub::room`] or [`Hub::everyone`].
#[must_use = "nothing is sent until you call `send`"]
#[derive(Debug)]
pub struct Recipients<'a> {
    hub: &'a Hub,
    target: Target,
    except: Vec<ConnectionId>,
    /// The user whose connections `target` (their room) names.
    user: Option<UserId>,
}

impl<'a> Recipients<'a> {
    pub(crate) fn new(hub: &'a Hub, target: Target) -> Self {
        Recipients {
            hub,
            target,
            except: Vec::new(),
            user: None,
        }
    }

    pub(crate) fn for_user(hub: &'a Hub, user: UserId) -> Self {
        Recipients {
            hub,
            target: Target::Room(super::local::user_room(&user)),
            except: Vec::new(),
            user: Some(user),
        }
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    pub(crate) fn hub(&self) -> &'a Hub {
        self.hub
    }

    /// Leaves the connection `id` out (e.g. the sender).
    pub fn except(mut self, id: &ConnectionId) -> Self {
        self.except.push(id.clone());
        self
    }

    /// Sends `message` with the `Type` named after its Rust type.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe with an adapter: the receivers on this process get the message at the
    /// first poll; dropped while it is handed to the adapter, the other processes may miss it.
    /// Without an adapter (one process) it completes at the first poll.
    pub async fn send<T: Serialize + ?Sized>(self, message: &T) -> Result<(), HubError> {
        self.send_as(message_type_name::<T>(), message).await
    }

    /// Sends `data` with an explicit `Type`. The envelope is serialized once, whatever the
    /// number of receivers. Receivers whose outbound queue is full are handled by the slow
    /// consumer policy; the sender never waits for them.
    ///
    /// Errors: [`HubError::UnknownConnection`] for a direct message to a connection that no
    /// process holds, [`HubError::UnknownUser`] for a message to a user with no connection
    /// (unless [room history](crate::history) is on: the user's history keeps it). A room or broadcast reaches this process's receivers even when the
    /// adapter's backend is down (then [`HubError::Adapter`] says the others missed it).
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Recipients::send).
    pub async fn send_as<T: Serialize + ?Sized>(
        self,
        message_type: &str,
        data: &T,
    ) -> Result<(), HubError> {
        let text = Utf8Bytes::from(encode(message_type, data, None)?);
        self.send_text(text).await
    }

    /// Sends `text` as it is, without an envelope: a text frame the receivers get unchanged
    /// (the gateway relays its backends' messages this way). Same delivery and errors as
    /// [`send_as`](Recipients::send_as).
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Recipients::send).
    pub async fn send_text(self, text: impl Into<Utf8Bytes>) -> Result<(), HubError> {
        let text: Utf8Bytes = text.into();
        let local = self.hub.local();
        if let (Target::Room(room), Some(_)) = (&self.target, self.hub.history_limits()) {
            // Recorded in the room's history, with a position (a user with no open
            // connection gets it too: a recovering client of that user finds it there).
            let room = room.clone();
            self.hub.send_recorded(&room, self.except, text).await?;
            return Ok(());
        }
        let delivered_here = local.deliver(&self.target, &self.except, &text);
        if let Target::Connection(id) = &self.target {
            if delivered_here > 0 || local.connection(id).is_some() {
                return Ok(());
            }
            if self.except.contains(id) {
                return Ok(());
            }
        }
        if let (Some(user), Target::Room(room)) = (&self.user, &self.target) {
            if delivered_here == 0
                && !local.has_room(room)
                && self.hub.members(room).await?.is_empty()
            {
                return Err(HubError::UnknownUser(user.clone()));
            }
        }
        let target = self.target.clone();
        let reached = self
            .hub
            .adapter()
            .publish(Outgoing {
                target: self.target,
                except: self.except,
                text,
            })
            .await?;
        match target {
            Target::Connection(id) if !reached => Err(HubError::UnknownConnection(id)),
            _ => Ok(()),
        }
    }

    /// Calls every recipient at once, on every process (with an adapter that carries calls,
    /// such as Redis), and gathers their answers: one entry per connection called, its typed
    /// answer or why there is none ([`Connection::call_as`] with `Req`'s type name, each
    /// callee given `timeout`).
    ///
    /// The gathering ends once every recipient has answered or failed, and at the latest after
    /// `timeout`: a recipient without an answer by then (it did not answer in time, or its
    /// process is gone) is reported as [`CallError::Timeout`]. For a room, a user or one
    /// connection, the recipients are known beforehand (the room's members across every
    /// process); for [`Hub::everyone`] across processes they are not, so that gathering
    /// always lasts `timeout` and lists those that answered or failed in it.
    ///
    /// Errors: [`HubError::TooManyCallees`] when the target names more connections than
    /// [`Server::max_call_recipients`] allows (nobody is called);
    /// [`HubError::Adapter`] when the adapter's backend cannot list the room's members or
    /// carry the call (nobody is called); [`HubError::Serialize`].
    ///
    /// ```no_run
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize)]
    /// struct Vote { question: String }
    /// #[derive(Deserialize)]
    /// struct Ballot { yes: bool }
    ///
    /// # async fn run(hub: exws::Hub) -> Result<(), exws::HubError> {
    /// let answers = hub
    ///     .room("jury")
    ///     .call::<_, Ballot>(&Vote { question: "guilty?".into() }, std::time::Duration::from_secs(10))
    ///     .await?;
    /// let yes = answers.iter().filter(|(_, answer)| matches!(answer, Ok(Ballot { yes: true }))).count();
    /// # Ok(()) }
    /// ```
    ///
    /// [`Connection::call_as`]: crate::Connection::call_as
    /// [`CallError::Timeout`]: crate::CallError::Timeout
    /// [`Hub::everyone`]: crate::Hub::everyone
    /// [`Server::max_call_recipients`]: crate::Server::max_call_recipients
    ///
    /// # Cancel safety
    ///
    /// Dropping the future forgets every call: requests already sent stay sent, and their
    /// answers are dropped.
    pub async fn call<Req, Resp>(
        self,
        request: &Req,
        timeout: Duration,
    ) -> Result<Vec<(ConnectionId, Result<Resp, CallError>)>, HubError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let limit = self.hub.max_call_recipients();
        let data = serde_json::value::to_raw_value(request)?;
        let local = self.hub.local();
        // Who is expected to answer, when it is known: room subscriptions are not called.
        let expected: Option<HashSet<ConnectionId>> = match &self.target {
            Target::Everyone => None,
            Target::Connection(id) => Some(HashSet::from([id.clone()])),
            Target::Room(room) => Some(self.hub.members(room).await?.into_iter().collect()),
        }
        .map(|ids| {
            ids.into_iter()
                .filter(|id| !id.is_subscription() && !self.except.contains(id))
                .collect()
        });
        if let Some(expected) = &expected {
            if expected.len() > limit {
                return Err(HubError::TooManyCallees {
                    recipients: expected.len(),
                    max: limit,
                });
            }
        }
        let call = CallRequest {
            target: self.target,
            except: self.except,
            message_type: Arc::from(message_type_name::<Req>()),
            data: Arc::from(data),
            timeout,
        };
        let (answers, mut gathered) = mpsc::channel(limit.clamp(1, 1024));
        let all_here = expected
            .as_ref()
            .is_some_and(|expected| expected.iter().all(|id| local.connection(id).is_some()));
        if !all_here {
            // Sent before this process calls its own: a failure calls nobody.
            self.hub
                .adapter()
                .call(call.clone(), answers.clone())
                .await?;
        }
        local.call(call, answers);

        let mut waiting = expected.clone();
        let mut outcomes: Vec<CallAnswer> = Vec::new();
        let mut seen: HashSet<ConnectionId> = HashSet::new();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        while waiting.as_ref().is_none_or(|waiting| !waiting.is_empty()) && outcomes.len() < limit {
            let answer = tokio::select! {
                answer = gathered.recv() => answer,
                () = &mut deadline => None,
            };
            let Some(answer) = answer else { break };
            if !seen.insert(answer.connection.clone()) {
                continue;
            }
            if let Some(waiting) = &mut waiting {
                waiting.remove(&answer.connection);
            }
            outcomes.push(answer);
        }
        drop(gathered);
        let mut results: Vec<(ConnectionId, Result<Resp, CallError>)> = outcomes
            .into_iter()
            .map(|answer| (answer.connection, typed(answer.outcome, timeout)))
            .collect();
        if let Some(waiting) = waiting {
            let mut silent: Vec<ConnectionId> = waiting.into_iter().collect();
            silent.sort();
            results.extend(
                silent
                    .into_iter()
                    .map(|id| (id, Err(CallError::Timeout(timeout)))),
            );
        }
        Ok(results)
    }
}

/// A callee's outcome as the caller's typed result.
fn typed<Resp: DeserializeOwned>(
    outcome: CallOutcome,
    timeout: Duration,
) -> Result<Resp, CallError> {
    match outcome {
        CallOutcome::Answered(data) => {
            serde_json::from_str(data.get()).map_err(CallError::InvalidAnswer)
        }
        CallOutcome::Refused { code, message } => Err(CallError::Refused { code, message }),
        CallOutcome::Timeout => Err(CallError::Timeout(timeout)),
        CallOutcome::Busy => Err(CallError::TooManyPending),
        CallOutcome::Closed => Err(CallError::Closed),
    }
}
