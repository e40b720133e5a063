//! The Redis adapter: several server processes sharing one Redis act as one server.
//!
//! What lives in Redis (under a key prefix, `exws` by default):
//! - `{prefix}:conns`, a hash from connection id to the id of the process holding it;
//! - `{prefix}:connusers`, a hash from connection id to the user it belongs to (connections
//!   admitted with a user id); a user's connections are also the members of a room of the
//!   user's own, so that messages to the user reach every process holding one;
//! - `{prefix}:connmeta`, a hash from connection id to its presence meta as JSON (connections
//!   with a meta, see [`PresenceConfig::meta`](crate::PresenceConfig::meta));
//! - `{prefix}:room:{room}`, a set of the room's members across processes (for counts and
//!   member lists);
//! - `{prefix}:connrooms:{id}`, a set of the rooms a connection is in (for cleaning up after a
//!   process that is gone);
//! - room history (`hist:{room}` streams, `hmeta:{room}` hashes) and session records
//!   (`session:{id}:{token}`), see [`history`](self) for connection recovery;
//! - the pub/sub channels `{prefix}:msg:all` (broadcasts), `{prefix}:msg:room:{room}` (room
//!   messages; a process subscribes only while it has members in the room) and
//!   `{prefix}:msg:node:{node}` (direct messages to that process's connections).
//!
//! Server calls ([`Recipients::call`](crate::hub::Recipients::call)) travel the same channels:
//! the call goes where its target's messages go, with a header naming the asking process and
//! the call's number; each process holding callees calls them and publishes every answer on
//! the asking process's node channel. An answer lost on the way (Redis away, a process gone)
//! is reported by the asking process as a timeout.
//!
//! If Redis goes away, each process goes on serving its own connections (local rooms,
//! broadcasts and direct messages keep working) and reconnects with exponential backoff. On
//! reconnection it subscribes again and writes back its connections and memberships (a
//! restarted Redis has lost them). Lost meanwhile: messages between processes (pub/sub does
//! not queue), so other processes' members miss what was sent during the outage; direct
//! messages to other processes fail with an error; member counts are this process's only.
//! Room messages and broadcasts are published through a bounded queue that one task sends to
//! Redis as pipelines (see [`RedisAdapterConfig::publish_queue`]).
//! A process that crashes (or is killed, or cut off from Redis for good) cannot remove its own
//! entries: the other processes do once Redis has dropped its subscription (at once when its
//! host closes the socket, as for a killed process; after Redis's `tcp-keepalive` detects a
//! dead peer, a few minutes by default, when the host itself is gone), at their next sweep
//! ([`RedisAdapterConfig::sweep_interval`], 30 s by default). Until then member counts and lists
//! include its connections. A leave or close that fails while Redis is unreachable is repaired
//! the same way: the close of the connection removes every membership Redis has for it, and a
//! process's sweep removes its own connections that closed meanwhile.
//!
//! Presence ([`Hub::presence`](crate::Hub::presence)) is read from the same keys: a room's
//! members, their users and their metas. The process whose sweep removes a gone process's
//! connections (one process: the removal is one script) tells the hub, which sends leave
//! diffs to the rooms' presence watchers on every process.

mod adapter;
mod calls;
mod config;
mod connect;
mod history;
mod keys;
mod operations;
mod presence;
mod publisher;
mod recorder;
mod scripts;
mod subscriber;
mod sweeper;

pub use adapter::RedisAdapter;
pub use config::RedisAdapterConfig;
