//! Streams (subscriptions): the [`ItemStream`] a caller reads, and the table of open streams
//! the connection task routes into.
//!
//! A stream is opened by a request with an `Id`; the server answers with any number of items
//! carrying that `Id`, then `StreamEnd` (or one `Error`). The connection task routes each
//! envelope with the `Id` of an open stream into that stream's bounded queue; the caller reads
//! the queue through [`ItemStream`]. Dropping an open [`ItemStream`] sends `StreamCancel`.

mod item_stream;
mod table;

pub use item_stream::{ItemStream, StreamOptions};
pub(crate) use table::{Registration, Routed, StreamTable};

/// The `Type` of the envelope that ends a stream.
pub const STREAM_END_TYPE: &str = exws_protocol::message_type::STREAM_END;
/// The `Type` of the envelope that cancels a stream.
pub const STREAM_CANCEL_TYPE: &str = exws_protocol::message_type::STREAM_CANCEL;
