//! The table from `Type` to the handlers observing it, built and checked at start-up.

use super::Handler;
use std::collections::HashMap;

/// Handlers by the `Type` they observe.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    by_type: HashMap<Box<str>, Entry>,
    /// Every handler, by `Type`, module path and function name.
    all: Box<[&'static Handler]>,
}

/// The handlers of one `Type`, and their run-time histogram.
pub(crate) struct Entry {
    handlers: Box<[&'static Handler]>,
    histogram: Option<metrics::Histogram>,
}

impl Entry {
    pub(crate) fn handlers(&self) -> &[&'static Handler] {
        &self.handlers
    }

    pub(crate) fn histogram(&self) -> Option<&metrics::Histogram> {
        self.histogram.as_ref()
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.handlers.iter().map(|handler| handler.function()))
            .finish()
    }
}

/// A problem with the set of handlers, found at start-up.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The same handler function was given twice.
    #[error(
        "the handler `{function}` ({location}) is registered twice: list each handler once \
         in `handlers![...]`, and put `#[exws::message]` on a function once"
    )]
    DuplicateHandler {
        /// `module::function`.
        function: String,
        /// `file:line` of the function.
        location: String,
    },
    /// A handler's `Type` is not usable.
    #[error(
        "the handler `{function}` ({location}) observes the `Type` {message_type:?}, which has \
         surrounding whitespace or control characters: no client could address it; fix its \
         `#[message(type = \"...\")]`"
    )]
    InvalidType {
        /// `module::function`.
        function: String,
        /// `file:line` of the function.
        location: String,
        /// The offending `Type`.
        message_type: String,
    },
}

impl Registry {
    /// Builds the table, refusing duplicates. Handlers of one `Type` run in the order of their
    /// module path and function name, whatever order they were registered in.
    pub(crate) fn new(mut handlers: Vec<&'static Handler>) -> Result<Self, RegistryError> {
        handlers.sort_by(|a, b| {
            (a.message_type(), a.module_path(), a.function()).cmp(&(
                b.message_type(),
                b.module_path(),
                b.function(),
            ))
        });
        let mut by_type: HashMap<&'static str, Vec<&'static Handler>> = HashMap::new();
        for pair in handlers.windows(2) {
            if pair[0].module_path() == pair[1].module_path()
                && pair[0].function() == pair[1].function()
                && pair[0].message_type() == pair[1].message_type()
            {
                return Err(RegistryError::DuplicateHandler {
                    function: pair[0].qualified_name(),
                    location: pair[0].location(),
                });
            }
        }
        for handler in handlers.iter().copied() {
            let message_type = handler.message_type();
            if message_type.trim() != message_type || message_type.chars().any(char::is_control) {
                return Err(RegistryError::InvalidType {
                    function: handler.qualified_name(),
                    location: handler.location(),
                    message_type: message_type.to_owned(),
                });
            }
            by_type.entry(message_type).or_default().push(handler);
        }
        let by_type = by_type
            .into_iter()
            .map(|(message_type, handlers)| {
                let entry = Entry {
                    handlers: handlers.into_boxed_slice(),
                    histogram: crate::metrics::handler_histogram(message_type),
                };
                (Box::from(message_type), entry)
            })
            .collect();
        Ok(Registry {
            by_type,
            all: handlers.into_boxed_slice(),
        })
    }

    /// The handlers observing `message_type`, if any.
    pub(crate) fn get(&self, message_type: &str) -> Option<&Entry> {
        self.by_type.get(message_type)
    }

    /// Every handler, by `Type`, module path and function name.
    pub(crate) fn handlers(
        &self,
    ) -> impl Iterator<Item = &'static crate::handler::HandlerInfo> + '_ {
        self.all.iter().map(|handler| handler.info())
    }

    /// How many distinct `Type`s have handlers.
    pub(crate) fn type_count(&self) -> usize {
        self.by_type.len()
    }
}
