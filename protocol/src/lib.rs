#![doc = include_str!("../README.md")]
//!
//! # Contents
//!
//! - [`envelope`]: the field names of an envelope, the writer of one, and the `Data` of an
//!   `Error` envelope ([`ErrorBody`]);
//! - [`ErrorCode`]: the stable `code` strings of `Error` envelopes;
//! - [`message_type`]: the reserved `Type` names and the `Type` naming rule
//!   ([`type_name_of`]);
//! - [`CloseCode`]: the WebSocket close codes exws sends;
//! - [`presence`]: a room's presence on the wire (the opt-in presence watch) and
//!   [`Presences`](presence::Presences), which applies its items.

mod close;
pub mod envelope;
mod error_code;
pub mod message_type;
pub mod presence;

pub use close::CloseCode;
pub use envelope::ErrorBody;
pub use error_code::ErrorCode;
pub use message_type::{type_name, type_name_of};
