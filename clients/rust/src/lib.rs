//! Typed Rust client for [exws](https://github.com/exws/exws) servers.
//!
//! Speaks the exws wire protocol: one JSON envelope `{"Type", "Data", "Id"}` per WebSocket
//! text frame. On top of a single connection it offers
//!
//! - typed **calls** matched to their reply by `Id` ([`Client::call`]), with timeouts and
//!   `Error` envelopes turned into [`CallError::Server`];
//! - fire-and-forget **sends** ([`Client::send`]);
//! - a stream of every incoming envelope ([`Client::events`]) and typed **subscriptions** per
//!   `Type` ([`Client::subscribe`]) for server-initiated messages;
//! - **streams** (subscriptions): a request answered by any number of items until
//!   `StreamEnd`, read as an async [`ItemStream`] ([`Client::stream`]); dropping it cancels;
//! - a room's **presence** (servers with presence on): its state and diffs
//!   ([`Client::watch_presence`], applied into [`Presences`]), or a one-time read
//!   ([`Client::presence`]);
//! - a watchable **connection state** ([`Client::state`]: `CONNECTING`, `ONLINE`, `OFFLINE`,
//!   `ERROR`);
//! - automatic **reconnection** with exponential backoff and full jitter ([`ReconnectPolicy`]).
//!
//! Type names follow the server's rule ([`type_name_of`]): a request of Rust type
//! `my_app::CalculateRequest` is sent as `"Type": "CalculateRequest"`.
//!
//! ```no_run
//! use exws_client::{CallError, Client, ErrorCode};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize)]
//! struct CalculateRequest { numbers: Vec<i64> }
//! #[derive(Deserialize)]
//! struct CalculateResponse { result: i64 }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let client = Client::builder("ws://127.0.0.1:8765")
//!         .header("Authorization", "tma query_id=...")
//!         .connect()
//!         .await?;
//!     let reply: CalculateResponse =
//!         client.call(&CalculateRequest { numbers: vec![2, 2] }).await?;
//!     assert_eq!(reply.result, 4);
//!
//!     match client.call_as::<_, CalculateResponse>("calc.fail", &()).await {
//!         Err(CallError::Server { code: ErrorCode::HandlerError, message, .. }) => {
//!             eprintln!("the handler failed: {message}")
//!         }
//!         other => println!("{:?}", other.map(|reply| reply.result)),
//!     }
//!     client.close().await;
//!     Ok(())
//! }
//! ```
//!
//! **TLS**: `wss://` URLs are served by rustls (the *ring* provider) trusting Mozilla's root
//! certificates (feature `tls`, on by default); [`ClientBuilder::add_root_certificate`] adds a
//! private CA or a self-signed certificate. Without the feature, only `ws://` URLs connect.

mod answer;
mod builder;
mod call;
mod client;
mod connection;
mod envelope;
mod error;
mod events;
mod presence;
mod reconnect;
mod recovery;
mod state;
mod stream;
#[cfg(feature = "tls")]
mod tls;

pub use answer::{ANSWER_ERROR_TYPE, ANSWER_TYPE};
pub use builder::ClientBuilder;
pub use call::CallOptions;
pub use client::Client;
pub use envelope::{Envelope, Id, ERROR_TYPE};
pub use error::{CallError, ConnectError, ErrorCode, RecvError, SendError, StreamError};
pub use events::{Events, Subscription};
pub use exws_protocol::presence::{
    PresenceChange, PresenceDiff, PresenceEntry, PresenceKey, PresenceMeta, PresenceState,
    Presences,
};
/// The `Type` name of a Rust type, by the rule the exws server uses: take
/// [`std::any::type_name`], drop everything from the first `<`, keep what follows the last `::`.
///
/// ```
/// struct CalculateRequest;
/// assert_eq!(exws_client::type_name_of::<CalculateRequest>(), "CalculateRequest");
/// assert_eq!(exws_client::type_name_of::<Vec<String>>(), "Vec");
/// ```
pub use exws_protocol::type_name_of;
pub use presence::{PresenceEvent, PresenceWatcher};
pub use reconnect::ReconnectPolicy;
pub use recovery::{Gap, Recovered, SESSION_TYPE};
pub use state::ConnectionState;
pub use stream::{ItemStream, StreamOptions, STREAM_CANCEL_TYPE, STREAM_END_TYPE};
