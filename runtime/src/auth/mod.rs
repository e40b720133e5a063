//! Authentication of WebSocket clients during the handshake.
//!
//! An [`Authenticator`] sees the HTTP upgrade request ([`HandshakeRequest`]) before any
//! WebSocket is opened and either admits it ([`Admission`], optionally with a user, a user id and
//! metadata) or refuses it with an HTTP status and a short reason ([`HandshakeRejection`]).
//! Give one to [`Server::authenticator`](crate::Server::authenticator); handlers then take the
//! user with [`User<U>`] (or, for Telegram, `WebAppUser` directly).
//!
//! - [`telegram`] (feature `telegram`, on by default): validates the `initData` that a
//!   Telegram Mini App sends, so a handler knows which Telegram user it talks to.
//!
//! [`HandshakeRequest`]: crate::HandshakeRequest

mod admission;
mod authenticator;
mod user;
mod user_id;

#[cfg(feature = "telegram")]
pub mod telegram;

pub use admission::{Admission, HandshakeRejection};
pub use authenticator::Authenticator;
pub use user::User;
pub use user_id::UserId;

pub(crate) use authenticator::SharedAuthenticator;
