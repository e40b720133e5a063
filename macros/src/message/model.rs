//! The description of a handler that the expansion works from.

use proc_macro2::Span;
use syn::{Ident, LitStr, Path, Type};

/// A handler, as read from the attribute and the signature.
pub(crate) struct Handler {
    /// The `Type` it answers.
    pub message_type: LitStr,
    /// The request type (first argument).
    pub request: Type,
    /// Every further argument: an extractor.
    pub extractors: Vec<Type>,
    /// How the return type is read.
    pub reply: Reply,
    /// `#[message(reply = "...")]`.
    pub reply_name: Option<LitStr>,
    /// The function's name.
    pub name: Ident,
    /// The path of the exws crate (`::exws`, or `#[message(crate = "...")]`).
    pub krate: Path,
    /// The function's doc comment.
    pub doc: String,
}

/// The return type as a chain of levels: the type, its first type argument, that one's first
/// type argument, and so on. Which levels are `Option`/`Result` is decided by the compiler
/// from the types (aliases included), not here.
pub(crate) struct Reply {
    pub levels: Vec<Level>,
    /// The first and last token of the return type, for error spans (the function's name
    /// without one).
    pub span: (Span, Span),
}

/// One type of the chain.
pub(crate) struct Level {
    /// The type as written; `None` when it cannot be asked about (`impl Trait`, or no return
    /// type at all), and `shape` says what it is.
    pub ty: Option<Type>,
    /// A shape known from the syntax alone (`VALUE` for `impl Trait`, `STREAM` for
    /// `impl Stream<Item = T>`, `NOTHING` without a return type).
    pub shape: Option<Shape>,
    /// The reply `Type` this level would give as the value: its last path segment, when that
    /// is a good name.
    pub name: Option<String>,
    /// The second type argument as written (the `E` of `Result<T, E>`).
    pub error_type: Option<String>,
}

/// A shape known without asking the compiler.
#[derive(Clone, Copy)]
pub(crate) enum Shape {
    Value,
    Nothing,
    /// `impl Stream<Item = T>`: the next level is the item.
    Stream,
}
