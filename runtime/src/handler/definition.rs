//! The description of one handler, as `#[message]` generates it.

use super::Call;
use super::CallResult;
use super::HandlerInfo;
use crate::extract::Requirements;

/// A message handler: the `Type` it observes, the function behind it and how to call it.
///
/// `#[exws::message]` generates one for every handler function; list them explicitly with
/// [`handlers!`](crate::handlers) for [`Server::with_handlers`](crate::Server::with_handlers).
/// [`info`](Handler::info) describes it.
#[derive(Debug)]
pub struct Handler {
    info: HandlerInfo,
    call: fn(Call<'_>) -> CallResult,
    /// Declares what the handler's extractors need from the server (checked at `bind`).
    requires: fn(&mut Requirements),
}

impl Handler {
    /// Describes a handler. Called by the code `#[message]` generates.
    #[doc(hidden)]
    pub const fn new(info: HandlerInfo, call: fn(Call<'_>) -> CallResult) -> Self {
        fn nothing(_requirements: &mut Requirements) {}
        Handler {
            info,
            call,
            requires: nothing,
        }
    }

    /// The handler with `requires` declaring what its extractors need. Called by the code
    /// `#[message]` generates.
    #[doc(hidden)]
    pub const fn requiring(mut self, requires: fn(&mut Requirements)) -> Self {
        self.requires = requires;
        self
    }

    /// What the handler's extractors need from the server.
    pub(crate) fn requirements(&self) -> Requirements {
        let mut requirements = Requirements::default();
        (self.requires)(&mut requirements);
        requirements
    }

    /// Stands for a handler whose `#[message]` reported a compile error, so that
    /// `handlers![...]` adds none of its own. The program does not compile, so it never runs.
    #[doc(hidden)]
    pub const fn not_compiled(function: &'static str) -> Self {
        fn refuse(_call: Call<'_>) -> CallResult {
            Ok(Box::pin(async {
                super::Outcome::failed("this handler did not compile")
            }))
        }
        Handler::new(
            HandlerInfo::new(
                super::Signature {
                    message_type: "",
                    request_type: "",
                    reply: super::ReplyKind::Nothing,
                    fallible: false,
                    error_type: None,
                    extractors: &[],
                    doc: "",
                },
                super::Origin {
                    function,
                    module_path: "",
                    file: "",
                    line: 0,
                },
            ),
            refuse,
        )
    }

    /// The handler model: request, extractors, replies, documentation.
    pub fn info(&self) -> &HandlerInfo {
        &self.info
    }

    /// The `Type` this handler observes.
    pub fn message_type(&self) -> &'static str {
        self.info.message_type()
    }

    /// The handler function's name.
    pub fn function(&self) -> &'static str {
        self.info.function()
    }

    /// The module the handler function is defined in.
    pub fn module_path(&self) -> &'static str {
        self.info.module_path()
    }

    /// Where the handler is defined, as `file:line`.
    pub fn location(&self) -> String {
        self.info.location()
    }

    /// `module::function`, the handler's identity.
    pub(crate) fn qualified_name(&self) -> String {
        format!("{}::{}", self.module_path(), self.function())
    }

    pub(crate) fn call(&self, call: Call<'_>) -> CallResult {
        (self.call)(call)
    }
}

/// The handler a `#[message]` function stands for, reached through the hidden item named like
/// the function that `#[message]` generates in the type namespace; `handlers![f]` reads it.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an exws handler",
    label = "not a `#[exws::message]` function",
    note = "`handlers![...]` lists functions annotated with `#[exws::message]`, by path"
)]
pub trait HandlerItem {
    /// The handler's definition.
    const HANDLER: &'static Handler;
}

/// A handler registered through `inventory` by `#[message]`.
#[doc(hidden)]
#[derive(Debug)]
pub struct Registered(pub &'static Handler);

inventory::collect!(Registered);

/// Every handler registered with `#[message]` in the program.
pub(crate) fn registered() -> Vec<&'static Handler> {
    inventory::iter::<Registered>
        .into_iter()
        .map(|registered| registered.0)
        .collect()
}
