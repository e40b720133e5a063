//! Connection recovery: a client that drops and comes back within the recovery window, to
//! this process or another, gets its session back (the same connection id and user, its rooms
//! and room subscriptions) and every room message it missed, in order and exactly once,
//! before new ones; or an explicit gap naming the rooms it could not be given.
//!
//! Turned on for the server with [`Server::recovery`](crate::Server::recovery), and asked
//! for by each client at its handshake (`?exws_recover=1`): a client that does not ask sees
//! exactly the frames it saw before. The wire extension is in `docs/PROTOCOL.md`,
//! "Connection recovery".
//!
//! How it works: recovery rests on [room history](crate::history). A recovering connection
//! gets each room message with its position (`Pos`); its session (id, user, rooms with the
//! position each was joined at, subscriptions) is stored through the adapter while it is
//! open, and kept for the window once it has closed. Coming back, the client presents the
//! session's token and the last position it got in each room; the server takes the session
//! (once: two resumes of one session cannot both get it), closes the old connection if it is
//! still open somewhere, restores the memberships, and replays each room from the client's
//! position, holding live messages back until the replay is done.

mod config;
mod current;
mod record;
mod request;
mod resume;
mod state;
mod token;

pub use config::Recovery;
pub(crate) use current::{current_request, with_request};
pub(crate) use record::{record_room, record_subscription, SessionRecord};
pub(crate) use request::requested;
pub(crate) use resume::{begin, restore, Restored};
pub(crate) use state::{Recover, SubscriptionRecord};
pub(crate) use token::random_token;

/// The `Type` of the frame that tells a recovering client its session (see
/// `docs/PROTOCOL.md`).
pub const SESSION_TYPE: &str = "exws.session";

/// The text that, delivered to a connection, closes it because its session was resumed on
/// another connection (never a valid envelope: it does not start with `{`).
pub(crate) const TAKEOVER: &str = "\u{0}exws.takeover";

/// What a connection's close does with its session: `Some(true)` keeps it for the window,
/// `Some(false)` forgets it, `None` leaves it alone (a resume took it).
pub(crate) fn keeps_session(reason: &crate::session::DisconnectReason) -> Option<bool> {
    use crate::DisconnectReason as Reason;
    match reason {
        Reason::Resumed => None,
        // Closed for good: by the client (1000), by the application, or for misbehaving.
        Reason::ClientClosed {
            code: Some(1000), ..
        }
        | Reason::ClosedByApplication { .. }
        | Reason::ProtocolError { .. }
        | Reason::MessageTooLarge
        | Reason::RateLimited => Some(false),
        _ => Some(true),
    }
}
