//! Extractors: the handler arguments after the request.
//!
//! Every argument after the first is built from the connection's [`Context`](crate::Context) by
//! [`FromContext`]. exws implements it for [`Connection`](crate::Connection),
//! [`State<T>`], [`Option<T>`] of any extractor, and more; implement it for your own types.

mod from_context;
mod rejection;
mod state;

pub use from_context::{FromContext, Requirements};
pub use rejection::Rejection;
pub use state::State;
