//! The authenticated user as a handler argument.

use crate::context::Context;
use crate::extract::{FromContext, Rejection};
use std::ops::Deref;

/// The user an [`Authenticator`](super::Authenticator) admitted the connection with, of the
/// application's type `U`. A connection without one (or with a user of another type) answers
/// `unauthorized`; take `Option<User<U>>` to serve anonymous connections too.
///
/// ```
/// use exws::{auth::User, message};
/// # #[derive(serde::Deserialize)] struct Profile {}
/// # #[derive(serde::Serialize)] struct ProfileReply { name: String }
///
/// #[derive(Clone)]
/// struct Account { name: String }
///
/// #[message]
/// async fn profile(_request: Profile, User(account): User<Account>) -> ProfileReply {
///     ProfileReply { name: account.name }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct User<U>(pub U);

impl<U: Clone + Send + Sync + 'static> FromContext for User<U> {
    async fn from_context(context: &Context) -> Result<Self, Rejection> {
        context
            .connection()
            .user::<U>()
            .cloned()
            .map(User)
            .ok_or_else(|| {
                Rejection::unauthorized(
                    "this message needs an authenticated user; connect with credentials",
                )
            })
    }
}

impl<U> Deref for User<U> {
    type Target = U;

    fn deref(&self) -> &U {
        &self.0
    }
}
