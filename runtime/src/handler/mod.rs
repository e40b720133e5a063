//! Handlers: what `#[message]` generates, how replies are made, and the registry that finds
//! the handlers of a `Type`.

mod call;
mod definition;
mod info;
mod outcome;
mod registry;
#[doc(hidden)]
pub mod reply;
#[doc(hidden)]
pub mod schema;

pub use call::{Call, CallResult};
pub(crate) use definition::registered;
pub use definition::{Handler, HandlerItem, Registered};
pub use info::{HandlerInfo, ReplyKind};
#[doc(hidden)]
pub use info::{Origin, Signature};
pub use outcome::{run, Outcome};

pub(crate) use outcome::OutcomeKind;
pub(crate) use registry::Registry;
pub use registry::RegistryError;
