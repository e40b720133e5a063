//! The extractor trait.

use super::Rejection;
use crate::connection::Connection;
use crate::context::Context;
use std::any::TypeId;
use std::future::Future;

/// Builds a handler argument from the connection's context.
///
/// A failed extraction answers the message with an `Error` envelope carrying the
/// [`Rejection`]'s code, and the handler is not called.
///
/// ```
/// use exws::{Context, FromContext, Rejection};
///
/// /// The `tenant` metadata value set at the handshake.
/// struct Tenant(String);
///
/// impl FromContext for Tenant {
///     async fn from_context(context: &Context) -> Result<Self, Rejection> {
///         context
///             .connection()
///             .metadata("tenant")
///             .map(Tenant)
///             .ok_or_else(|| Rejection::unauthorized("this connection has no tenant"))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an exws handler argument",
    label = "not an extractor: arguments after the request must implement `exws::FromContext`",
    note = "the first argument is the request; every further one is an extractor such as \
            `exws::Connection`, `exws::State<T>` or your own type implementing `exws::FromContext`"
)]
pub trait FromContext: Sized + Send + 'static {
    /// Extracts the value, or explains why it cannot.
    fn from_context(context: &Context) -> impl Future<Output = Result<Self, Rejection>> + Send;

    /// Declares what this extractor needs from the server, so that
    /// [`Server::bind`](crate::Server::bind) refuses a server that lacks it (naming the
    /// handler) instead of every call failing at run time. [`State<T>`](crate::State) declares
    /// its state type. By default, nothing.
    fn requirements(requirements: &mut Requirements) {
        let _ = requirements;
    }
}

/// What a handler's extractors need from the server: filled by
/// [`FromContext::requirements`], checked at [`Server::bind`](crate::Server::bind).
#[derive(Debug, Default)]
pub struct Requirements {
    pub(crate) states: Vec<(TypeId, &'static str)>,
}

impl Requirements {
    /// The server must have been given a state of type `T` with
    /// [`Server::with_state`](crate::Server::with_state).
    pub fn state<T: 'static>(&mut self) {
        self.states
            .push((TypeId::of::<T>(), std::any::type_name::<T>()));
    }
}

impl FromContext for Connection {
    async fn from_context(context: &Context) -> Result<Self, Rejection> {
        Ok(context.connection().clone())
    }
}

impl FromContext for Context {
    async fn from_context(context: &Context) -> Result<Self, Rejection> {
        Ok(context.clone())
    }
}

/// `None` where the inner extractor would reject, e.g. `Option<WebAppUser>` on an anonymous
/// connection.
impl<T: FromContext> FromContext for Option<T> {
    async fn from_context(context: &Context) -> Result<Self, Rejection> {
        Ok(T::from_context(context).await.ok())
    }
}

/// The inner extractor's result, for handlers that want to see the rejection themselves.
impl<T: FromContext> FromContext for Result<T, Rejection> {
    async fn from_context(context: &Context) -> Result<Self, Rejection> {
        Ok(T::from_context(context).await)
    }
}
