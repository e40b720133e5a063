//! Message types shared by the examples' servers and clients: the same Rust structs on both
//! sides of the wire.

pub mod calculator;
pub mod chat;
pub mod recovery;
