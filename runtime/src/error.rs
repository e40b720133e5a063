//! The errors of starting and running a server.

use crate::handler::RegistryError;

/// Why a server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("could not listen on the given address: {0} (is another process using it, or is the address not local?)")]
    Bind(#[source] std::io::Error),
    /// The listening socket's address could not be read.
    #[error("could not read the listening socket's address: {0}")]
    LocalAddr(#[source] std::io::Error),
    /// The set of handlers is inconsistent.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The adapter could not start (e.g. Redis is unreachable at start-up).
    #[error("the hub adapter could not start: {0}")]
    Adapter(#[from] crate::adapter::AdapterError),
    /// A configuration value is out of range.
    #[error("invalid server option `{option}`: {reason}")]
    InvalidOption {
        /// The builder method.
        option: &'static str,
        /// What is wrong and what would be right.
        reason: String,
    },
}
