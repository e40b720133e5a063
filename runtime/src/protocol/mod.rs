//! The wire protocol: envelopes, error codes and close codes.
//!
//! Every message, in both directions, is one JSON object in a text frame:
//! `{"Type": "...", "Data": ..., "Id": ...}`. See the project's `PROTOCOL.md`. The shapes,
//! codes and naming rules live in the `exws-protocol` crate, shared with the macros and the
//! Rust client; this module re-exports them and holds the server's reading of a frame.

mod decode;
mod reply_to;

pub use exws_protocol::envelope::ErrorBody;
pub use exws_protocol::message_type;
pub use exws_protocol::presence;
pub use exws_protocol::{CloseCode, ErrorCode};

pub(crate) use decode::{strip_position, Incoming};
pub(crate) use exws_protocol::envelope::{encode, encode_error};
pub(crate) use reply_to::{message_type_name, ReplyTo};
