//! Why a contract could not be made.

use std::fmt;

/// Why the AsyncAPI document could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// Some handlers take or return types without a JSON Schema. All of them are listed, so
    /// one build shows everything to fix.
    #[error(
        "the contract needs a JSON Schema of every request and reply type, and {} lack one: {}; \
         derive it with `#[derive(schemars::JsonSchema)]` on each type listed (schemars 1.x), \
         or give the server only the handlers to publish with `Server::with_handlers`",
        Count(.0.len()),
        List(.0)
    )]
    MissingSchemas(Vec<MissingSchema>),
    /// Two declarations of a server-pushed `Type` disagree.
    #[error(
        "the pushed message `Type` {message_type:?} is declared twice, with `{first}` and \
         `{second}`: declare each `Type` once with `Server::pushes`"
    )]
    DuplicatePush {
        /// The `Type`.
        message_type: String,
        /// The Rust type of the first declaration.
        first: &'static str,
        /// The Rust type of the second declaration.
        second: &'static str,
    },
}

/// One type of a handler that has no JSON Schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingSchema {
    /// The handler, as `module::function`.
    pub handler: String,
    /// `"request"`, `"reply"` or `"stream item"`.
    pub role: &'static str,
    /// The type as written in the signature (for a reply: its `Type`).
    pub rust_type: String,
}

impl fmt::Display for MissingSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} `{}` of `{}`",
            self.role, self.rust_type, self.handler
        )
    }
}

struct Count(usize);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("1 type"),
            n => write!(f, "{n} types"),
        }
    }
}

struct List<'a>(&'a [MissingSchema]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, missing) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{missing}")?;
        }
        Ok(())
    }
}
