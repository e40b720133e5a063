//! The description of one handler, as `#[message]` generates it.

use super::Call;
use super::CallResult;

/// A message handler: the `Type` it observes, the function behind it and how to call it.
///
/// `#[exws::message]` generates one for every handler function; list them explicitly with
/// [`handlers!`](crate::handlers) for [`Server::with_handlers`](crate::Server::with_handlers).
#[derive(Debug)]
pub struct Handler {
    message_type: &'static str,
    function: &'static str,
    module_path: &'static str,
    file: &'static str,
    line: u32,
    call: fn(Call<'_>) -> CallResult,
}

impl Handler {
    /// Describes a handler. Called by the code `#[message]` generates.
    #[doc(hidden)]
    pub const fn new(
        message_type: &'static str,
        function: &'static str,
        module_path: &'static str,
        file: &'static str,
        line: u32,
        call: fn(Call<'_>) -> CallResult,
    ) -> Self {
        Handler {
            message_type,
            function,
            module_path,
            file,
            line,
            call,
        }
    }

    /// The `Type` this handler observes.
    pub fn message_type(&self) -> &'static str {
        self.message_type
    }

    /// The handler function's name.
    pub fn function(&self) -> &'static str {
        self.function
    }

    /// The module the handler function is defined in.
    pub fn module_path(&self) -> &'static str {
        self.module_path
    }

    /// Where the handler is defined, as `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// `module::function`, the handler's identity.
    pub(crate) fn qualified_name(&self) -> String {
        format!("{}::{}", self.module_path, self.function)
    }

    pub(crate) fn call(&self, call: Call<'_>) -> CallResult {
        (self.call)(call)
    }
}

/// A handler registered through `inventory` by `#[message]`.
#[doc(hidden)]
pub struct Registered(pub &'static Handler);

inventory::collect!(Registered);

/// Every handler registered with `#[message]` in the program.
pub(crate) fn registered() -> Vec<&'static Handler> {
    inventory::iter::<Registered>
        .into_iter()
        .map(|registered| registered.0)
        .collect()
}
