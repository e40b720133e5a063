//! User ids: who a connection belongs to, as the authenticator says.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// The id of a user, as the application knows it (an account id, a Telegram user id...).
///
/// An authenticator gives it with [`Admission::with_user_id`](super::Admission::with_user_id).
/// A user may hold several connections at once (two tabs, a phone and a laptop), each with
/// its own unique [`ConnectionId`](crate::ConnectionId);
/// [`Hub::user`](crate::Hub::user) reaches all of them, in every process.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(Arc<str>);

impl UserId {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for UserId {
    fn from(id: String) -> Self {
        UserId(id.into())
    }
}

impl From<&str> for UserId {
    fn from(id: &str) -> Self {
        UserId(id.into())
    }
}

impl From<i64> for UserId {
    fn from(id: i64) -> Self {
        UserId(id.to_string().into())
    }
}

impl From<u64> for UserId {
    fn from(id: u64) -> Self {
        UserId(id.to_string().into())
    }
}

impl AsRef<str> for UserId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}
