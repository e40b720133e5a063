//! An authenticator's answer: admit (with a user, id, metadata) or refuse.

use super::UserId;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// An admitted handshake: the connection opens, with what the authenticator learned.
///
/// ```
/// use exws::auth::Admission;
///
/// #[derive(Clone)]
/// struct Account { name: String }
///
/// let admission = Admission::user(Account { name: "ada".into() })
///     .with_user_id("ada")
///     .with_metadata("tenant", "acme");
/// ```
///
/// Every connection gets a unique, generated [`ConnectionId`](crate::ConnectionId); the user
/// id says whose it is. Connections of one user (several tabs or devices) share the user id,
/// and [`Hub::user`](crate::Hub::user) reaches all of them.
#[derive(Default)]
pub struct Admission {
    pub(crate) user: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) user_id: Option<UserId>,
    pub(crate) metadata: HashMap<String, String>,
}

impl Admission {
    /// Admits a connection without a user: handlers taking a user answer `unauthorized`,
    /// `Option<...>` user arguments are `None`.
    pub fn anonymous() -> Self {
        Admission::default()
    }

    /// Admits a connection authenticated as `user`, of the application's own type; handlers
    /// take it as [`User<U>`](super::User).
    pub fn user<U: Send + Sync + 'static>(user: U) -> Self {
        Admission {
            user: Some(Arc::new(user)),
            ..Admission::default()
        }
    }

    /// Says which user the connection belongs to. Several connections may have the same user
    /// id (a user with two tabs): each keeps its own connection id, and
    /// [`Hub::user`](crate::Hub::user) addresses all of them, in every process.
    pub fn with_user_id(mut self, id: impl Into<UserId>) -> Self {
        self.user_id = Some(id.into());
        self
    }

    /// Sets a metadata value of the connection, readable with
    /// [`Connection::metadata`](crate::Connection::metadata).
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admission")
            .field("user", &self.user.is_some())
            .field("user_id", &self.user_id)
            .field("metadata", &self.metadata)
            .finish()
    }
}

/// A refused handshake: answered with this HTTP status and reason, no WebSocket is opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {reason}")]
pub struct HandshakeRejection {
    status: u16,
    reason: String,
}

impl HandshakeRejection {
    /// 401: the client did not prove who it is (missing or invalid credentials).
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        HandshakeRejection::with_status(401, reason)
    }

    /// 403: the client is known but not allowed.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        HandshakeRejection::with_status(403, reason)
    }

    /// Any 4xx or 5xx status; other values become 403.
    pub fn with_status(status: u16, reason: impl Into<String>) -> Self {
        let status = if (400..600).contains(&status) {
            status
        } else {
            403
        };
        let mut reason: String = reason.into();
        // A short, single-line reason: the body of the HTTP answer.
        reason.retain(|c| c != '\r' && c != '\n');
        truncate_on_char_boundary(&mut reason, 512);
        HandshakeRejection { status, reason }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason sent as the body.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

fn truncate_on_char_boundary(text: &mut String, max_len: usize) {
    if text.len() > max_len {
        let end = (0..=max_len)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_keep_a_short_single_line_reason() {
        let rejection = HandshakeRejection::with_status(200, "a\r\nb".repeat(400));
        assert_eq!(rejection.status(), 403);
        assert!(rejection.reason().len() <= 512);
        assert!(!rejection.reason().contains('\n'));
    }
}
