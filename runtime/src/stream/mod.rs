//! Streams (subscriptions): a handler answers one request with any number of items.
//!
//! A handler returns a [`Stream`](futures_util::Stream) of `Serialize` items (or of
//! `Result<T, E>`: an `Err` sends an `Error` and ends the stream), an [`ItemStream`] fed by a
//! [`StreamSender`] that any task may hold, or a [`RoomSubscription`](crate::RoomSubscription)
//! of a room's messages. On the wire (see `docs/PROTOCOL.md`, "Streams"):
//!
//! - the request carries an `Id`; each item is `{"Type": <item type>, "Data": <item>, "Id": <Id>}`;
//! - the end is `{"Type": "StreamEnd", "Id": <Id>}`; a failure is one `Error` with the `Id`;
//! - the client cancels with `{"Type": "StreamCancel", "Id": <Id>}` and gets `StreamEnd`;
//! - an `Id` already open is refused (`duplicate_id`), and so is a stream past the server's
//!   [`max_streams`](crate::Server::max_streams) (`too_many_streams`).
//!
//! The handler's future returns at once; the stream then runs in a task of its own beside the
//! connection's other requests (in sequential mode too), paced by its client: an item waits
//! while the client's outbound queue is full; items are never dropped. Cancelling (a
//! `StreamCancel`, the connection closing, the server shutting down) drops the stream, so the
//! code producing it stops at its next `.await`.
//!
//! ```
//! use exws::message;
//! use futures_util::Stream;
//! use serde::{Deserialize, Serialize};
//! use std::time::Duration;
//!
//! #[derive(Deserialize)]
//! struct Countdown { from: u32, interval_ms: u64 }
//!
//! #[derive(Serialize)]
//! struct Tick { n: u32 }
//!
//! /// Items "Tick" with the request's Id, then StreamEnd.
//! #[message]
//! async fn countdown(request: Countdown) -> impl Stream<Item = Tick> {
//!     let (sender, items) = exws::stream::channel(8);
//!     tokio::spawn(async move {
//!         for n in (1..=request.from).rev() {
//!             if sender.send(Tick { n }).await.is_err() {
//!                 return; // cancelled, or the client went away
//!             }
//!             tokio::time::sleep(Duration::from_millis(request.interval_ms)).await;
//!         }
//!     });
//!     items
//! }
//! ```

mod channel;
mod item;
mod table;
mod task;

pub use channel::{channel, ItemStream, StreamClosed, StreamSender};
pub use item::IntoStreamItem;

pub(crate) use item::with_id;
#[doc(hidden)]
pub use item::{Raw, StreamItem};
pub(crate) use table::StreamTable;
pub(crate) use task::{refusal, start};
