//! Why an adapter operation failed.

/// Why an adapter operation failed.
///
/// The hub treats every failure the same way: what it did on this process stands (a join, a
/// leave, a local delivery), and the failure is reported to the caller or logged. An engine
/// repairs its backend's view itself once the backend is back (see [`Inbound`](super::Inbound)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The backend (e.g. Redis) cannot be reached right now; the adapter keeps reconnecting.
    #[error("the hub backend is unavailable: {0}")]
    Unavailable(String),
}
