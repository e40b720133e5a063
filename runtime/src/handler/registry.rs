//! The table from `Type` to the handlers observing it, built and checked at start-up.

use super::Handler;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Handlers by the `Type` they observe.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    by_type: Table,
    /// Every handler, by `Type`, module path and function name.
    all: Box<[&'static Handler]>,
}

/// The `Type`s and their handlers: a list searched in order when there are few (lengths are
/// compared first: most names are told apart without reading them), a hash table otherwise.
#[derive(Debug)]
enum Table {
    Few(Box<[(Box<str>, Entry)]>),
    Many(HashMap<Box<str>, Entry, BuildHasherDefault<TypeHasher>>),
}

/// Up to this many `Type`s, the registry is a list.
const FEW_TYPES: usize = 8;

impl Default for Table {
    fn default() -> Self {
        Table::Few(Box::default())
    }
}

impl Table {
    fn new(entries: Vec<(Box<str>, Entry)>) -> Self {
        if entries.len() <= FEW_TYPES {
            Table::Few(entries.into_boxed_slice())
        } else {
            Table::Many(entries.into_iter().collect())
        }
    }

    fn get(&self, message_type: &str) -> Option<&Entry> {
        match self {
            Table::Few(entries) => entries
                .iter()
                .find(|(name, _)| name.len() == message_type.len() && **name == *message_type)
                .map(|(_, entry)| entry),
            Table::Many(table) => table.get(message_type),
        }
    }

    fn len(&self) -> usize {
        match self {
            Table::Few(entries) => entries.len(),
            Table::Many(table) => table.len(),
        }
    }
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

/// The hash of a `Type` in the registry: a word-at-a-time multiply-rotate hash (rustc's
/// `FxHasher` scheme) instead of the standard library's SipHash, which costs about 200
/// instructions per lookup of a 17-byte name (BENCHMARKS.md, 2026-12-05).
///
/// SipHash's keyed hashing defends a table that takes untrusted keys against flooding with
/// colliding keys. This table takes none: it is built once at start-up from the handlers'
/// `Type`s and never changes, so a client's `Type` only ever looks up; a chosen collision costs
/// it one extra comparison of a handler's name.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TypeHasher(u64);

impl TypeHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for TypeHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
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
        let by_type = Table::new(
            by_type
                .into_iter()
                .map(|(message_type, handlers)| {
                    let entry = Entry {
                        handlers: handlers.into_boxed_slice(),
                        histogram: crate::metrics::handler_histogram(message_type),
                    };
                    (Box::from(message_type), entry)
                })
                .collect(),
        );
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

#[cfg(test)]
mod tests {
    use super::{Entry, Table, FEW_TYPES};

    fn table(names: &[String]) -> Table {
        Table::new(
            names
                .iter()
                .map(|name| {
                    let entry = Entry {
                        handlers: Box::default(),
                        histogram: None,
                    };
                    (Box::from(name.as_str()), entry)
                })
                .collect(),
        )
    }

    #[test]
    fn finds_exactly_the_registered_types_in_small_and_large_tables() {
        for count in [0, 1, FEW_TYPES, FEW_TYPES + 1, 40] {
            // Names of one length and of several, some prefixes of others.
            let names: Vec<String> = (0..count)
                .map(|index| match index % 3 {
                    0 => format!("Type{index:04}"),
                    1 => format!("T{index}"),
                    _ => format!("Type{index:04}Reply"),
                })
                .collect();
            let table = table(&names);
            assert_eq!(table.len(), count);
            assert_eq!(matches!(table, Table::Few(_)), count <= FEW_TYPES);
            for name in &names {
                assert!(table.get(name).is_some(), "{name} in a table of {count}");
            }
            for absent in ["", "Type", "Type9999", "T", "type0000", "Type0000Repl"] {
                assert!(
                    table.get(absent).is_none(),
                    "{absent} in a table of {count}"
                );
            }
        }
    }
}
