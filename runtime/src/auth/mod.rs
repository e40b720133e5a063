//! Authentication of WebSocket clients during the handshake.
//!
//! - [`telegram`] (feature `telegram`, on by default): validates the `initData` that a
//!   Telegram Mini App sends, so a handler knows which Telegram user it talks to.
#[cfg(feature = "telegram")]
pub mod telegram;
