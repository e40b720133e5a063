//! The server's recovery settings.

use crate::history::HistoryLimits;
use std::time::Duration;

/// The longest recovery window.
const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Connection recovery settings, for [`Server::recovery`](crate::Server::recovery).
///
/// ```
/// use exws::recovery::Recovery;
/// use exws::history::HistoryLimits;
/// use std::time::Duration;
///
/// let recovery = Recovery::default() // a 2 minute window, default history limits
///     .window(Duration::from_secs(60))
///     .history(HistoryLimits::default().max_messages(5000));
/// # let _ = exws::Server::new().recovery(recovery);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    pub(crate) window: Option<Duration>,
    pub(crate) history: HistoryLimits,
}

impl Default for Recovery {
    /// Recovery on, with a window of 2 minutes and the default
    /// [history limits](HistoryLimits::default).
    fn default() -> Self {
        Recovery {
            window: Some(Duration::from_secs(120)),
            history: HistoryLimits::default(),
        }
    }
}

impl Recovery {
    /// Recovery off: clients that ask for it get no session (the `exws_recover` query
    /// parameter is ignored, and the server sends no `exws.session` frame).
    pub fn off() -> Self {
        Recovery {
            window: None,
            history: HistoryLimits::default(),
        }
    }

    /// How long a closed connection's session is kept for its client to come back (default
    /// 2 minutes; at least 1 s, at most a day). Messages older than the history's
    /// [`max_age`](HistoryLimits::max_age) cannot be recovered whatever the window.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = Some(window.clamp(Duration::from_secs(1), MAX_WINDOW));
        self
    }

    /// The room history recovery replays from (default [`HistoryLimits::default`]).
    pub fn history(mut self, limits: HistoryLimits) -> Self {
        self.history = limits;
        self
    }

    /// The window, if recovery is on.
    pub fn window_duration(&self) -> Option<Duration> {
        self.window
    }
}
