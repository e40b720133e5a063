//! The adapter interface: what an engine implements to carry hub messages between server
//! processes, and the engines exws ships.
//!
//! The [`Hub`](crate::Hub) delivers to this process's connections itself; its adapter tells
//! the other processes. The contract has three parts, side by side:
//!
//! - [`Adapter`]: the engine. The hub calls it after it has updated and delivered to its own
//!   process (membership changes, messages for other processes, cluster-wide queries).
//! - [`Inbound`]: this process, as the engine sees it. The hub implements it and hands it to
//!   [`Adapter::start`]; the engine delivers messages from other processes through it and
//!   reads what this process holds (to restore its backend's view after a reconnection).
//! - [`Outgoing`] and [`Target`]: one message and who it is for; [`CallRequest`],
//!   [`CallAnswer`] and [`CallOutcome`]: a server call to connections on other processes and
//!   their answers on the way back; [`AdapterError`]: why an operation failed.
//!
//! Engines: [`InProcess`] (the default) has no other processes to tell. [`RedisAdapter`]
//! (feature `redis`) makes every process connected to the same Redis act as one server:
//! broadcasts, room messages and direct messages reach the right connections wherever they
//! are, and room member counts are global. [`NatsAdapter`] (feature `nats`) does the same over
//! NATS, with the shared view of rooms and connections in a JetStream stream.

mod call;
mod engine;
mod error;
mod history;
mod in_process;
mod inbound;
mod message;
#[cfg(feature = "nats")]
mod nats;
mod presence;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "redis", feature = "nats"))]
mod url;
#[cfg(any(feature = "redis", feature = "nats"))]
mod wire;

pub use call::{AnswerSender, CallAnswer, CallOutcome, CallRequest};
pub use engine::Adapter;
pub use error::AdapterError;
pub use history::{HistoryEntry, HistoryLimits, HistoryPage, HistoryQuery, Position};
pub use in_process::InProcess;
pub use inbound::Inbound;
pub use message::{Outgoing, Target};
#[cfg(feature = "nats")]
pub use nats::{NatsAdapter, NatsAdapterConfig};
pub use presence::{GoneConnection, PresenceRecord};
#[cfg(feature = "redis")]
pub use redis::{RedisAdapter, RedisAdapterConfig};
