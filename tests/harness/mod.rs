//! The one test harness of the integration tests (`mod harness;` in each test binary), by
//! concept:
//!
//! - [`timing`]: every await bounded by one step limit, waits for a state;
//! - [`transport`]: `EXWS_TEST_TRANSPORT` (`plain`, `tls`, `axum`), the test certificate, the
//!   byte stream to a test server;
//! - [`server`]: the in-process server on a free port over that transport (every test server is
//!   constructed there), and one that reports its connections' opens and closes;
//! - [`client`]: the WebSocket client with strict expectations;
//! - [`raw`]: hand-made upgrades, raw frames and HTTP exchanges;
//! - [`handlers`]: the calculator and `Add` handlers;
//! - [`chat`]: the chat example's handlers and a chat client;
//! - [`presence`]: the chat handlers with presence on, users and metas from the handshake;
//! - [`process`]: the examples and the CLI as OS processes;
//! - [`recovery`]: the recovery example's handlers and a raw recovering client;
//! - [`redis_server`]: a real `redis-server` on a free port;
//! - [`nats_server`]: a real `nats-server` with JetStream on a free port;
//! - [`engine`]: the distributed engines behind one interface, for the one adapter suite
//!   that runs against each ([`engine_tests!`](crate::engine_tests));
//! - [`ports`]: free ports for those servers;
//! - [`memory`]: the process's resident memory.

// Each test binary uses a different subset of the harness; its `pub` items are its interface
// to the test files of each binary, not a public API.
#![allow(dead_code, unused_imports, unreachable_pub)]

pub mod chat;
pub mod client;
#[cfg(any(feature = "redis", feature = "nats"))]
pub mod engine;
#[cfg(feature = "gateway")]
pub mod gateway;
pub mod handlers;
pub mod memory;
pub mod nats_server;
pub mod ports;
pub mod presence;
pub mod process;
pub mod raw;
pub mod recovery;
pub mod redis_server;
pub mod server;
pub mod timing;
pub mod transport;

pub use client::{assert_error, error_message, Client, Received};
pub use handlers::{add, calculate};
pub use server::{ObservedServer, TestServer};
pub use timing::{eventually, never_within, wait_for, within, within_for, TIMEOUT};
pub use transport::{skipped_over, transport, Transport};
