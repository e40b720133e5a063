//! The errors of starting and running a server.

use crate::adapter::AdapterError;
use crate::handler::RegistryError;
use std::fmt;
use std::io;
use std::net::SocketAddr;

/// Why a server could not start or stopped with an error.
///
/// Its `Display` is one sentence for a person: what failed, with the address or URL involved,
/// and what to do about it. So is its `Debug` (`{:?}`), so that `fn main() -> Result<(),
/// exws::Error>`, which prints the error with `Debug`, prints that sentence too:
///
/// ```text
/// Error: cannot listen on 127.0.0.1:8765: the address is already in use (is another server running? stop it, or choose another port; port 0 picks a free one)
/// ```
///
/// The alternate form (`{:#?}`) shows the variant and its fields, as a derived `Debug` would.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("cannot listen on {}: {}", Addresses(addrs), BindFailure(source))]
    Bind {
        /// The addresses the given address resolved to; empty if it did not resolve.
        addrs: Vec<SocketAddr>,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The listening socket's address could not be read.
    #[error(
        "cannot read the listening socket's address: {0} (the operating system refused a \
         socket it had just bound; try again)"
    )]
    LocalAddr(#[source] io::Error),
    /// The set of handlers is inconsistent.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The adapter could not start (e.g. Redis is unreachable at start-up).
    #[error("the hub adapter could not start: {}", AdapterReason(.0))]
    Adapter(#[from] AdapterError),
    /// `Server::new()` found no handler in the program: none is written, or they are in a
    /// library crate the binary names nothing of, so the linker dropped their registrations.
    #[error(
        "the server has no handler: `Server::new()` serves the `#[exws::message]` functions \
         linked into the program, and found none. Handlers in a library crate are dropped by \
         the linker when the binary names nothing of that library: list them with \
         `Server::with_handlers(handlers![my_lib::calculate, ...])` (or name an item of the \
         library from `main`); a server that should serve nothing takes \
         `Server::with_handlers([])`"
    )]
    NoHandlers,
    /// A handler takes `State<T>` but the server was given no state of type `T`.
    #[error(
        "the handler `{handler}` takes `State<{state}>`, but the server has no state of that \
         type: give it with `Server::with_state(...)` before `bind`"
    )]
    MissingState {
        /// The handler, as `module::function`.
        handler: String,
        /// The state's type.
        state: &'static str,
    },
    /// The contract served by `Server::serve_asyncapi` could not be made (feature `schema`).
    #[cfg(feature = "schema")]
    #[error("cannot serve /asyncapi.json: {0}")]
    Contract(#[from] crate::contract::ContractError),
    /// A configuration value is out of range.
    #[error("invalid server option `{option}`: {reason}")]
    InvalidOption {
        /// The builder method.
        option: &'static str,
        /// What is wrong and what would be right.
        reason: String,
    },
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            return fmt::Display::fmt(self, f);
        }
        match self {
            Error::Bind { addrs, source } => f
                .debug_struct("Bind")
                .field("addrs", addrs)
                .field("source", source)
                .finish(),
            Error::LocalAddr(source) => f.debug_tuple("LocalAddr").field(source).finish(),
            Error::NoHandlers => f.write_str("NoHandlers"),
            Error::Registry(error) => f.debug_tuple("Registry").field(error).finish(),
            Error::Adapter(error) => f.debug_tuple("Adapter").field(error).finish(),
            Error::MissingState { handler, state } => f
                .debug_struct("MissingState")
                .field("handler", handler)
                .field("state", state)
                .finish(),
            Error::InvalidOption { option, reason } => f
                .debug_struct("InvalidOption")
                .field("option", option)
                .field("reason", reason)
                .finish(),
            #[cfg(feature = "schema")]
            Error::Contract(error) => f.debug_tuple("Contract").field(error).finish(),
        }
    }
}

/// `127.0.0.1:8765`, `[::1]:8765 or 127.0.0.1:8765`, or "the given address".
struct Addresses<'a>(&'a [SocketAddr]);

impl fmt::Display for Addresses<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((first, rest)) = self.0.split_first() else {
            return f.write_str("the given address");
        };
        write!(f, "{first}")?;
        for addr in rest {
            write!(f, " or {addr}")?;
        }
        Ok(())
    }
}

/// What went wrong binding, and what to do, for the failures people meet.
struct BindFailure<'a>(&'a io::Error);

impl fmt::Display for BindFailure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.kind() {
            io::ErrorKind::AddrInUse => f.write_str(
                "the address is already in use (is another server running? stop it, or choose \
                 another port; port 0 picks a free one)",
            ),
            io::ErrorKind::AddrNotAvailable => f.write_str(
                "the address is not one of this machine's (listen on 127.0.0.1 for this machine \
                 only, 0.0.0.0 for every interface, or an address one of its interfaces has)",
            ),
            io::ErrorKind::PermissionDenied => f.write_str(
                "permission denied (ports below 1024 need privileges: choose a port from 1024 \
                 up, or give the program the right to bind low ports)",
            ),
            _ => write!(
                f,
                "{} (give an address as IP:PORT, e.g. 127.0.0.1:8765)",
                self.0
            ),
        }
    }
}

/// The adapter's own explanation, without `AdapterError`'s generic prefix.
struct AdapterReason<'a>(&'a AdapterError);

impl fmt::Display for AdapterReason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let AdapterError::Unavailable(reason) = self.0;
        f.write_str(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind_error(addrs: &[&str], kind: io::ErrorKind) -> Error {
        Error::Bind {
            addrs: addrs
                .iter()
                .map(|a| a.parse().expect("an address"))
                .collect(),
            source: io::Error::from(kind),
        }
    }

    #[test]
    fn an_address_in_use_names_the_address_and_what_to_do() {
        let error = bind_error(&["127.0.0.1:8765"], io::ErrorKind::AddrInUse);
        let text = error.to_string();
        assert!(
            text.starts_with("cannot listen on 127.0.0.1:8765: the address is already in use"),
            "{text}"
        );
        assert!(text.contains("choose another port"), "{text}");
    }

    #[test]
    fn debug_is_the_sentence_and_alternate_debug_the_fields() {
        let error = bind_error(
            &["[::1]:80", "127.0.0.1:80"],
            io::ErrorKind::PermissionDenied,
        );
        assert_eq!(format!("{error:?}"), error.to_string());
        assert!(
            error
                .to_string()
                .starts_with("cannot listen on [::1]:80 or 127.0.0.1:80: permission denied"),
            "{error}"
        );
        let fields = format!("{error:#?}");
        assert!(fields.starts_with("Bind {"), "{fields}");
        assert!(fields.contains("PermissionDenied"), "{fields}");
    }

    #[test]
    fn an_unresolved_address_says_how_to_write_one() {
        let error = bind_error(&[], io::ErrorKind::InvalidInput);
        let text = error.to_string();
        assert!(
            text.starts_with("cannot listen on the given address: "),
            "{text}"
        );
        assert!(text.contains("IP:PORT"), "{text}");
    }

    #[test]
    fn an_adapter_failure_shows_the_adapter_s_reason_once() {
        let error = Error::from(AdapterError::Unavailable(
            "cannot connect to Redis at redis://127.0.0.1:6390/: refused".to_owned(),
        ));
        assert_eq!(
            error.to_string(),
            "the hub adapter could not start: cannot connect to Redis at \
             redis://127.0.0.1:6390/: refused"
        );
    }
}
