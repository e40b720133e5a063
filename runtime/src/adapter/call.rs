//! Server calls that cross processes: a call to the connections a target names, and each
//! callee's answer on its way back to the asking process.

use super::Target;
use crate::connection::ConnectionId;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A server call to every connection a target names ([`Recipients::call`]): the request each
/// callee gets and how long each has to answer.
///
/// The asking process calls its own connections; an engine carries the call to the other
/// processes ([`Adapter::call`](super::Adapter::call)), each of which calls its connections
/// through [`Inbound::call`](super::Inbound::call) and sends every answer back.
///
/// [`Recipients::call`]: crate::hub::Recipients::call
#[derive(Debug, Clone)]
pub struct CallRequest {
    /// Who is called.
    pub target: Target,
    /// Connections that are not called.
    pub except: Vec<ConnectionId>,
    /// The `Type` of the request envelope each callee gets.
    pub message_type: Arc<str>,
    /// The request's `Data`, as JSON.
    pub data: Arc<RawValue>,
    /// How long each callee has to answer, from the moment its process calls it.
    pub timeout: Duration,
}

/// What came of calling one connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CallOutcome {
    /// The client's answer (`Answer`): its `Data`, as JSON.
    Answered(Arc<RawValue>),
    /// The client refused (`AnswerError`).
    Refused {
        /// The client's error code.
        code: String,
        /// The client's description.
        message: String,
    },
    /// The client did not answer in time.
    Timeout,
    /// The connection closed before it answered.
    Closed,
    /// The connection had too many calls waiting already; it was not called.
    Busy,
}

/// One callee's answer, for the asking process.
#[derive(Debug, Clone)]
pub struct CallAnswer {
    /// The connection that was called.
    pub connection: ConnectionId,
    /// What came of it.
    pub outcome: CallOutcome,
}

/// Where answers go: the asking process's gathering, or an engine's way back to it. Bounded;
/// the gathering drops its receiver once it has every answer or its time is up, and then
/// nothing more needs sending.
pub type AnswerSender = mpsc::Sender<CallAnswer>;
