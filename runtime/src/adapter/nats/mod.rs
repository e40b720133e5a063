//! The NATS adapter: several server processes connected to the same NATS act as one server.
//!
//! Messages travel as core NATS messages (under a subject prefix, `exws` by default):
//! `{prefix}.all` (broadcasts), `{prefix}.room.{room}` (room messages; a process subscribes only
//! while it has members in the room) and `{prefix}.node.{node}` (direct messages to that
//! process's connections, answered by it, and the liveness check of that process). Nothing
//! subscribes to `{prefix}.sync`: the publishing queue asks there to learn that the server has
//! read what it sent.
//!
//! The shared view of connections and rooms lives in one JetStream stream, `{prefix}-state`
//! (memory storage, one message per subject), whose subjects are the entries:
//! - `{prefix}.state.conn.{node}.{id}`: connection `id` is held by process `node`;
//! - `{prefix}.state.user.{id}`: the user of connection `id` (its payload), for connections
//!   admitted with a user; a user's connections are also members of a room of the user's own;
//! - `{prefix}.state.member.{room}.{id}`: connection `id` is in `room`.
//!
//! A token that is not only ASCII letters, digits, `-` and `_` (a room named `a.b`, a user's
//! room, a subscription id) is written `~` and its bytes in hex. Counts and member lists are
//! read from the stream's subject index (`STREAM.INFO` with a subject filter), removals are
//! purges by subject.
//!
//! If NATS goes away, each process goes on serving its own connections and the client
//! reconnects with exponential backoff (a stale connection is noticed after two unanswered
//! pings, one every five [`NatsAdapterConfig::command_timeout`]s). On reconnection the client
//! subscribes again and the adapter writes back its connections and memberships (a restarted
//! NATS has lost its memory stream; the adapter creates it again). Lost meanwhile: messages
//! between processes (core NATS does not queue), direct messages to other processes fail with
//! an error, member counts and lists are this process's only.
//!
//! A process that crashes (or is killed, or cut off for good) cannot remove its own entries:
//! the others do at their next sweep ([`NatsAdapterConfig::sweep_interval`]) once NATS answers
//! "no responders" for the process's subject (at once when its socket closes, as for a killed
//! process; after NATS's ping interval, two minutes by default, when the host is gone). The
//! removal is a purge bounded by the stream sequence read before the check, so a process that
//! reconnects meanwhile keeps the entries it writes back.
//!
//! Messages from other processes arrive on several subscriptions; the adapter puts them back
//! in each publisher's order (every message carries its publisher's sequence number), so a
//! direct message sent after a room message never overtakes it.

mod adapter;
mod config;
mod connect;
mod gone;
mod jetstream;
mod merge;
mod operations;
mod publisher;
mod replies;
mod subjects;
mod subscriber;
mod sweeper;

pub use adapter::NatsAdapter;
pub use config::NatsAdapterConfig;
