//! Handlers: what `#[message]` generates, how replies are made, and the registry that finds
//! the handlers of a `Type`.

mod call;
mod definition;
mod outcome;
mod registry;

pub use call::{Call, CallResult};
pub(crate) use definition::registered;
pub use definition::{Handler, Registered};
pub use outcome::{assert_send_future, Outcome, ReplyName};

pub(crate) use outcome::OutcomeKind;
pub(crate) use registry::Registry;
pub use registry::RegistryError;
