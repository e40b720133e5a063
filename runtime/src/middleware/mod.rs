//! Middleware: code that runs around the dispatch of every message.
//!
//! A middleware sees each envelope before its handlers run — its `Type`, its `Id`, its raw
//! `Data`, the connection and its context (extractors work) — and decides: let it through
//! ([`Next::run`]), answer in place with an `Error` ([`Response::error`]), or close the
//! connection ([`Response::close`]). What [`Next::run`] returns tells it what happened: the
//! replies, the streams started, the error code if any, and how long the handlers took.
//!
//! Write one as an `async fn` taking a [`Request`] and a [`Next`] (wrapped by [`from_fn`]), or
//! implement [`Middleware`]; limit one to some `Type`s with [`only`]. Install them with
//! [`Server::middleware`](crate::Server::middleware): the first installed runs first and sees
//! the final answer last, like the layers of a `tower::ServiceBuilder`. A server without
//! middleware dispatches exactly as before, with no allocation or indirection added.
//!
//! Three ship with exws: [`RateLimitPerType`], [`RequireRole`] and [`CallLog`].
//!
//! ```
//! use exws::middleware::{from_fn, only, Next, Request, Response};
//! use exws::ErrorCode;
//!
//! /// Refuses `admin.*` messages on connections without the `admin` metadata flag.
//! async fn admins_only(request: Request, next: Next) -> Response {
//!     if request.connection().metadata("admin").as_deref() != Some("yes") {
//!         return Response::error(ErrorCode::Unauthorized, "admins only");
//!     }
//!     next.run(request).await
//! }
//!
//! let server = exws::Server::new().middleware(only(["admin.*"], from_fn(admins_only)));
//! ```

mod chain;
mod from_fn;
mod log;
mod pattern;
mod rate_limit;
mod request;
mod response;
mod role;

pub use chain::{Middleware, Next};
pub use from_fn::{from_fn, FromFn};
pub use log::CallLog;
pub use pattern::{only, Only, TypePatterns};
pub use rate_limit::RateLimitPerType;
pub use request::Request;
pub use response::Response;
pub use role::RequireRole;

pub(crate) use chain::{run, Stack};
pub(crate) use response::Handled;
