//! The handler model: what a handler observes, takes and answers, as `#[message]` read it from
//! the function. Built at compile time into the handler's static; reading it costs nothing
//! until asked.

/// What a handler sends back for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyKind {
    /// No reply: the handler returns `()` (or `Result<(), E>`, which only answers errors).
    Nothing,
    /// Exactly one reply of `Type` `reply_type` (or an error, for a fallible handler).
    Single {
        /// The reply's `Type`.
        reply_type: &'static str,
    },
    /// At most one reply of `Type` `reply_type`: the handler returns `Option<T>`; `None` sends
    /// nothing.
    Optional {
        /// The reply's `Type`.
        reply_type: &'static str,
    },
    /// A stream of items of `Type` `item_type`, each with the request's `Id`, then
    /// `StreamEnd`: the handler returns `impl Stream<Item = T>` (or of `Result<T, E>`).
    Stream {
        /// The items' `Type`.
        item_type: &'static str,
    },
    /// A stream of a room's messages, each with the `Type` it was sent with and the request's
    /// `Id`: the handler returns a [`RoomSubscription`](crate::RoomSubscription).
    RoomStream,
}

impl ReplyKind {
    /// The `Type` of the replies (of the items, for a stream), if the handler replies at all
    /// with a `Type` of its own.
    pub const fn reply_type(&self) -> Option<&'static str> {
        match self {
            ReplyKind::Nothing | ReplyKind::RoomStream => None,
            ReplyKind::Single { reply_type } | ReplyKind::Optional { reply_type } => {
                Some(reply_type)
            }
            ReplyKind::Stream { item_type } => Some(item_type),
        }
    }

    /// Whether the handler answers with a stream (its request needs an `Id`).
    pub const fn is_stream(&self) -> bool {
        matches!(self, ReplyKind::Stream { .. } | ReplyKind::RoomStream)
    }
}

/// The description of one handler: its `Type`, its request, extractors and replies, its
/// documentation and where it is defined.
///
/// Read it from [`Handler::info`](crate::Handler::info), [`Server::handlers`](crate::Server::handlers)
/// or [`BoundServer::handlers`](crate::BoundServer::handlers). Rust types are given as written
/// in the handler's signature (`api::CalculateRequest`, `State<Config>`).
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize)]
/// struct CalculateRequest { numbers: Vec<i64> }
/// #[derive(Serialize)]
/// struct CalculateResponse { result: i64 }
///
/// /// Adds the numbers.
/// #[exws::message]
/// async fn calculate(request: CalculateRequest, _connection: exws::Connection)
///     -> Result<CalculateResponse, String>
/// {
///     Ok(CalculateResponse { result: request.numbers.iter().sum() })
/// }
///
/// let server = exws::Server::with_handlers(exws::handlers![calculate]);
/// let info = server.handlers()[0];
/// assert_eq!(info.message_type(), "CalculateRequest");
/// assert_eq!(info.request_type(), "CalculateRequest");
/// assert_eq!(info.reply_kind(), exws::ReplyKind::Single { reply_type: "CalculateResponse" });
/// assert_eq!(info.error_type(), Some("String"));
/// assert_eq!(info.extractors(), ["exws::Connection"]);
/// assert_eq!(info.doc(), "Adds the numbers.");
/// assert_eq!(info.function(), "calculate");
/// ```
#[derive(Debug)]
pub struct HandlerInfo {
    message_type: &'static str,
    request_type: &'static str,
    reply: ReplyKind,
    fallible: bool,
    error_type: Option<&'static str>,
    extractors: &'static [&'static str],
    doc: &'static str,
    function: &'static str,
    module_path: &'static str,
    file: &'static str,
    line: u32,
    schemas: fn() -> super::schema::HandlerSchemas,
}

/// The parts of a [`HandlerInfo`] `#[message]` reads from the signature. Used by the generated
/// code.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    pub message_type: &'static str,
    pub request_type: &'static str,
    pub reply: ReplyKind,
    pub fallible: bool,
    pub error_type: Option<&'static str>,
    pub extractors: &'static [&'static str],
    pub doc: &'static str,
}

/// Where a handler is defined. Used by the generated code.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub function: &'static str,
    pub module_path: &'static str,
    pub file: &'static str,
    pub line: u32,
}

impl HandlerInfo {
    /// Describes a handler. Called by the code `#[message]` generates.
    #[doc(hidden)]
    pub const fn new(signature: Signature, origin: Origin) -> Self {
        HandlerInfo {
            message_type: signature.message_type,
            request_type: signature.request_type,
            reply: signature.reply,
            fallible: signature.fallible,
            error_type: signature.error_type,
            extractors: signature.extractors,
            doc: signature.doc,
            function: origin.function,
            module_path: origin.module_path,
            file: origin.file,
            line: origin.line,
            schemas: super::schema::none,
        }
    }

    /// The description with `schemas` telling which of the handler's types have a JSON
    /// Schema. Called by the code `#[message]` generates.
    #[doc(hidden)]
    pub const fn describing(mut self, schemas: fn() -> super::schema::HandlerSchemas) -> Self {
        self.schemas = schemas;
        self
    }

    /// The schemas of the request and reply types, where they have one.
    #[cfg_attr(not(feature = "schema"), allow(dead_code))]
    pub(crate) fn schemas(&self) -> super::schema::HandlerSchemas {
        (self.schemas)()
    }

    /// The `Type` this handler observes.
    pub fn message_type(&self) -> &'static str {
        self.message_type
    }

    /// The request's Rust type (the first argument), as written.
    pub fn request_type(&self) -> &'static str {
        self.request_type
    }

    /// What the handler answers, with the replies' `Type`.
    pub fn reply_kind(&self) -> ReplyKind {
        self.reply
    }

    /// The `Type` of the handler's replies, if it replies (errors aside).
    pub fn reply_type(&self) -> Option<&'static str> {
        self.reply.reply_type()
    }

    /// Whether the handler returns a `Result` (or an alias of one): an `Err` answers an `Error`
    /// envelope with code `handler_error`.
    pub fn is_fallible(&self) -> bool {
        self.fallible
    }

    /// The error type `E` of a fallible handler, as written in `Result<T, E>`; `None` for an
    /// infallible handler, or when an alias (`AppResult<T>`) does not show it.
    pub fn error_type(&self) -> Option<&'static str> {
        self.error_type
    }

    /// The extractor types (every argument after the request), as written, in order.
    pub fn extractors(&self) -> &'static [&'static str] {
        self.extractors
    }

    /// The function's doc comment, lines joined with `\n`, each without its leading space;
    /// empty when it has none.
    pub fn doc(&self) -> &'static str {
        self.doc
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
}
