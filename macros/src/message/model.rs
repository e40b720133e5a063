//! The validated description of a handler that the expansion works from.

use syn::{Ident, LitStr, Type};

/// A handler that passed validation.
pub(crate) struct Handler {
    /// The `Type` it answers.
    pub message_type: LitStr,
    /// The request type (first argument).
    pub request: Type,
    /// Every further argument: an extractor.
    pub extractors: Vec<Type>,
    /// How the return value becomes a reply.
    pub reply: ReplyKind,
    /// `#[message(reply = "...")]`.
    pub reply_name: Option<LitStr>,
    /// The function's name.
    pub name: Ident,
}

/// The shape of a handler's return type, read from its syntax.
pub(crate) enum ReplyKind {
    /// `()` or no return type: no reply.
    Nothing,
    /// Any other type: serialized as the reply. Holds the type for error spans.
    Value(Type),
    /// `Option<T>`: `None` sends nothing.
    Optional(Box<ReplyKind>),
    /// `Result<T, E>` (or an alias ending in `Result`): `Err` answers `handler_error`. Holds
    /// the error type (or the whole type for a one-parameter alias) for error spans.
    Fallible(Box<ReplyKind>, Type),
}
