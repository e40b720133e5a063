//! The wire protocol: envelopes, error codes and close codes.
//!
//! Every message, in both directions, is one JSON object in a text frame:
//! `{"Type": "...", "Data": ..., "Id": ...}`. See the project's `PROTOCOL.md`.

mod close;
mod decode;
mod encode;
mod error_code;

pub use close::CloseCode;
pub use error_code::{ErrorBody, ErrorCode};

pub(crate) use decode::{strip_position, Incoming};
pub(crate) use encode::{encode, encode_error, message_type_name, ReplyTo};
