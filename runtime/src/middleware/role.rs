//! Per-`Type` role checks on the authenticated user.

use super::{Middleware, Next, Request, Response, TypePatterns};
use crate::protocol::ErrorCode;
use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;

/// Lets a message through only when the connection's authenticated user (of type `U`, as the
/// [authenticator](crate::Server::authenticator) admitted it) has the role its `Type` needs.
/// Rules are checked in the order they were added; the first whose patterns match the `Type`
/// decides; a `Type` no rule matches goes through. Refused messages get `unauthorized`, and
/// their handlers do not run.
///
/// ```
/// use exws::middleware::RequireRole;
///
/// #[derive(Clone)]
/// struct Account { roles: Vec<String> }
///
/// let roles = RequireRole::new(|account: &Account, role: &str| {
///     account.roles.iter().any(|held| held == role)
/// })
/// .rule(["admin.*"], "admin")
/// .rule(["billing.refund", "billing.void"], "billing");
///
/// let server = exws::Server::new().middleware(roles);
/// ```
pub struct RequireRole<U, F> {
    has_role: F,
    rules: Vec<(TypePatterns, String)>,
    user: PhantomData<fn(&U)>,
}

impl<U, F> std::fmt::Debug for RequireRole<U, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireRole")
            .field("user", &std::any::type_name::<U>())
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl<U, F> RequireRole<U, F>
where
    U: Any + Send + Sync,
    F: Fn(&U, &str) -> bool + Send + Sync + 'static,
{
    /// A check with no rules yet; `has_role(user, role)` says whether a user holds a role.
    pub fn new(has_role: F) -> Self {
        RequireRole {
            has_role,
            rules: Vec::new(),
            user: PhantomData,
        }
    }

    /// The `Type`s matching `patterns` (names or globs, see
    /// [`TypePatterns`]) need `role`.
    pub fn rule<I, S>(mut self, patterns: I, role: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rules.push((TypePatterns::new(patterns), role.into()));
        self
    }

    /// `None` when the request may go on, else why not.
    fn refusal(&self, request: &Request) -> Option<String> {
        let message_type = request.message_type();
        let (_, role) = self
            .rules
            .iter()
            .find(|(patterns, _)| patterns.matches(message_type))?;
        match request.connection().user::<U>() {
            None => Some(format!(
                "{message_type:?} needs an authenticated user with the role {role:?}"
            )),
            Some(user) if !(self.has_role)(user, role) => {
                Some(format!("{message_type:?} needs the role {role:?}"))
            }
            Some(_) => None,
        }
    }
}

impl<U, F> Middleware for RequireRole<U, F>
where
    U: Any + Send + Sync,
    F: Fn(&U, &str) -> bool + Send + Sync + 'static,
{
    fn call(&self, request: Request, next: Next) -> impl Future<Output = Response> + Send {
        let refusal = self.refusal(&request);
        async move {
            match refusal {
                None => next.run(request).await,
                Some(message) => Response::error(ErrorCode::Unauthorized, message),
            }
        }
    }
}
