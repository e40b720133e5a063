//! How a handler's return value becomes a reply, decided by its *type*, not by how the type is
//! spelled: `()`, `Option<T>`, `Result<T, E>` and any alias of them behave the same.
//!
//! The code `#[message]` generates asks, for the return type and for each first type argument
//! written inside it, which of these shapes the type is ([`Probe`]: an inherent associated const
//! for `()`, `Option` and `Result` takes priority over the [`ProbeValue`] fallback every other
//! type gets). From those answers it picks, at compile time, the shape marker for
//! [`IntoOutcome`] and the reply `Type` among the names written in the signature
//! ([`resolve_reply`]).

use super::{Outcome, ReplyKind};
use crate::protocol::ReplyTo;
use serde::Serialize;
use std::fmt::Display;
use std::marker::PhantomData;

/// Shape of a type that is serialized as the reply.
pub const VALUE: u8 = 0;
/// Shape of `Option<T>`: `None` sends nothing.
pub const OPTIONAL: u8 = 1;
/// Shape of `Result<T, E>`: `Err` sends an `Error` envelope.
pub const FALLIBLE: u8 = 2;
/// Shape of `()`: no reply.
pub const NOTHING: u8 = 3;
/// Shape of a level the signature does not spell out (an alias without type arguments).
pub const HIDDEN: u8 = 4;
/// Shape of `impl Stream<Item = T>`: the next level is the item's.
pub const STREAM: u8 = 5;
/// Shape of a [`RoomSubscription`](crate::RoomSubscription): a stream of a room's messages.
pub const ROOM_STREAM: u8 = 6;

/// Asks for the shape of `T` with `Probe::<T>::KIND`. Never constructed.
#[derive(Debug)]
pub struct Probe<T: ?Sized>(PhantomData<fn() -> *const T>);

impl<T, E> Probe<Result<T, E>> {
    /// `Result<T, E>`, however it is spelled.
    pub const KIND: u8 = FALLIBLE;
}

impl<T> Probe<Option<T>> {
    /// `Option<T>`, however it is spelled.
    pub const KIND: u8 = OPTIONAL;
}

impl Probe<()> {
    /// `()`.
    pub const KIND: u8 = NOTHING;
}

impl Probe<crate::hub::RoomSubscription> {
    /// A room subscription: a stream of the room's messages.
    pub const KIND: u8 = ROOM_STREAM;
}

/// The shape of every type that is not `()`, `Option` or `Result`: a value. Inherent
/// associated consts take priority over this trait's, so it only answers for the others.
pub trait ProbeValue {
    /// [`VALUE`].
    const KIND: u8;
}

impl<T: ?Sized> ProbeValue for Probe<T> {
    const KIND: u8 = VALUE;
}

/// A shape code as a type, to pick the [`IntoOutcome`] marker.
#[derive(Debug)]
pub struct Shape<const KIND: u8>;

/// The [`IntoOutcome`] marker for a level of shape `Self` whose written first type argument is
/// `X` and whose inner level has the marker `Inner`.
pub trait Select<X: ?Sized, Inner> {
    /// The marker.
    type Marker;
}

/// Marker: serialize the value.
#[derive(Debug)]
pub struct Value;
/// Marker: no reply.
#[derive(Debug)]
pub struct Nothing;
/// Marker: `Option<T>` whose `T` has the marker `K`.
#[derive(Debug)]
pub struct Optional<T, K>(PhantomData<(fn() -> T, K)>);
/// Marker: `Result<T, E>` whose `T` has the marker `K`.
#[derive(Debug)]
pub struct Fallible<T, K>(PhantomData<(fn() -> T, K)>);
/// Marker: a stream whose items have the (stream item) marker `K`.
#[derive(Debug)]
pub struct Streamed<K>(PhantomData<K>);

impl<X: ?Sized, I> Select<X, I> for Shape<VALUE> {
    type Marker = Value;
}
// The level past the last written type: only reached through an alias without type arguments,
// where `AliasWithoutTypeArguments` makes the one error.
impl<X: ?Sized, I> Select<X, I> for Shape<HIDDEN> {
    type Marker = Value;
}
impl<X: ?Sized, I> Select<X, I> for Shape<NOTHING> {
    type Marker = Nothing;
}
impl<X, I> Select<X, I> for Shape<OPTIONAL> {
    type Marker = Optional<X, I>;
}
impl<X, I> Select<X, I> for Shape<FALLIBLE> {
    type Marker = Fallible<X, I>;
}
impl<X: ?Sized, I> Select<X, I> for Shape<STREAM> {
    type Marker = Streamed<I>;
}
impl<X: ?Sized, I> Select<X, I> for Shape<ROOM_STREAM> {
    type Marker = Streamed<crate::stream::Raw>;
}

/// Turns a handler's return value into an [`Outcome`], by the shape marker `K`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an exws reply",
    label = "not a reply type",
    note = "a reply is `()`, a `Serialize` type, or `Option<T>` / `Result<T, E>` of one \
            (aliases included); an alias must take the reply type as its first type argument, \
            e.g. `type AppResult<T> = Result<T, AppError>`"
)]
pub trait IntoOutcome<K> {
    /// Builds the outcome; `name` is the reply's `Type`.
    fn into_outcome(self, reply_to: &ReplyTo, name: &'static str) -> Outcome;
}

impl IntoOutcome<Nothing> for () {
    fn into_outcome(self, _reply_to: &ReplyTo, _name: &'static str) -> Outcome {
        Outcome::nothing()
    }
}

impl<T: Serialize> IntoOutcome<Value> for T {
    fn into_outcome(self, reply_to: &ReplyTo, name: &'static str) -> Outcome {
        Outcome::reply(reply_to, &self, name)
    }
}

impl<T: IntoOutcome<K>, K> IntoOutcome<Optional<T, K>> for Option<T> {
    fn into_outcome(self, reply_to: &ReplyTo, name: &'static str) -> Outcome {
        match self {
            Some(value) => value.into_outcome(reply_to, name),
            None => Outcome::nothing(),
        }
    }
}

impl<S, K> IntoOutcome<Streamed<K>> for S
where
    S: futures_util::Stream + Send + 'static,
    S::Item: crate::stream::IntoStreamItem<K>,
{
    fn into_outcome(self, reply_to: &ReplyTo, name: &'static str) -> Outcome {
        Outcome::stream(self, reply_to, name)
    }
}

impl<T: IntoOutcome<K>, E: Display, K> IntoOutcome<Fallible<T, K>> for Result<T, E> {
    fn into_outcome(self, reply_to: &ReplyTo, name: &'static str) -> Outcome {
        match self {
            Ok(value) => value.into_outcome(reply_to, name),
            Err(error) => Outcome::failed(&error),
        }
    }
}

/// The reply `Type` was decided.
pub const NAMED: u8 = 0;
/// The value's type, as written, has no name of its own (`Vec<_>`, `String`, a tuple, ...).
pub const UNNAMED: u8 = 1;
/// An alias without type arguments hides the reply type.
pub const HIDDEN_REPLY: u8 = 2;

/// What the reply shapes and names along the written return type make of the handler's replies.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// Reply kind with its `Type`.
    pub kind: ReplyKind,
    /// Whether some level is a `Result`.
    pub fallible: bool,
    /// [`NAMED`], [`UNNAMED`] or [`HIDDEN_REPLY`].
    pub problem: u8,
}

/// Walks the levels of the return type: `kinds[i]` is the shape of the `i`-th type of the chain
/// "return type, its first type argument, that one's first type argument, ...", `names[i]` the
/// name written for it (`None`: no good name). `explicit` is `#[message(reply = "...")]`.
pub const fn resolve_reply(
    kinds: &[u8],
    names: &[Option<&'static str>],
    explicit: Option<&'static str>,
) -> Resolved {
    let mut level = 0;
    let mut optional = false;
    let mut fallible = false;
    while level < kinds.len() {
        match kinds[level] {
            OPTIONAL => optional = true,
            FALLIBLE => fallible = true,
            NOTHING => {
                return Resolved {
                    kind: ReplyKind::Nothing,
                    fallible,
                    problem: NAMED,
                }
            }
            ROOM_STREAM => {
                return Resolved {
                    kind: ReplyKind::RoomStream,
                    fallible,
                    problem: NAMED,
                }
            }
            STREAM => {
                // The item's levels follow: `Result` items end the stream with an `Error`.
                let mut item = level + 1;
                while item < kinds.len() && kinds[item] == FALLIBLE {
                    fallible = true;
                    item += 1;
                }
                let problem_free = item < kinds.len() && kinds[item] == VALUE;
                let (name, problem) = match (explicit, problem_free, item < names.len()) {
                    (Some(name), true, _) => (name, NAMED),
                    (None, true, true) => match names[item] {
                        Some(name) => (name, NAMED),
                        None => ("", UNNAMED),
                    },
                    _ => ("", HIDDEN_REPLY),
                };
                return Resolved {
                    kind: ReplyKind::Stream { item_type: name },
                    fallible,
                    problem,
                };
            }
            VALUE => {
                let (name, problem) = match (explicit, names[level]) {
                    (Some(name), _) | (None, Some(name)) => (name, NAMED),
                    (None, None) => ("", UNNAMED),
                };
                let kind = if optional {
                    ReplyKind::Optional { reply_type: name }
                } else {
                    ReplyKind::Single { reply_type: name }
                };
                return Resolved {
                    kind,
                    fallible,
                    problem,
                };
            }
            _ => break,
        }
        level += 1;
    }
    Resolved {
        kind: ReplyKind::Nothing,
        fallible,
        problem: HIDDEN_REPLY,
    }
}

/// A boolean as a type, for the compile-time checks below.
#[derive(Debug)]
pub struct Flag<const FAILS: bool>;

/// Holds when the reply `Type` could be named.
#[diagnostic::on_unimplemented(
    message = "this reply type does not name the reply `Type`: give it with \
               `#[message(reply = \"...\")]`",
    label = "no reply `Type` name",
    note = "a reply `Type` is the last segment of the reply's type path (of `T` in `Result<T, E>`, \
            `Option<T>` and their aliases); standard types (`String`, `Vec`, `Option`, ...), \
            tuples, arrays, `impl Trait` and exws's own `Type`s (`Error`, ...) do not name one"
)]
pub trait ReplyTypeNamed {}
#[diagnostic::do_not_recommend]
impl ReplyTypeNamed for Flag<false> {}

/// Compile-time check, never called: the reply `Type` was decided.
pub const fn assert_reply_named<T: ReplyTypeNamed>() {}

/// The error type as written at the first `Result` level, if it was written there.
pub const fn error_type(kinds: &[u8], written: &[Option<&'static str>]) -> Option<&'static str> {
    let mut level = 0;
    while level < kinds.len() {
        match kinds[level] {
            FALLIBLE => return written[level],
            OPTIONAL => level += 1,
            _ => return None,
        }
    }
    None
}

/// The level of the return type whose type is serialized as the reply (for a stream: as each
/// item), past `Result` and `Option` levels; `usize::MAX` when the handler replies with no
/// value of its own (`()`, a room subscription) or the signature does not show it.
pub const fn value_level(kinds: &[u8]) -> usize {
    let mut level = 0;
    while level < kinds.len() {
        match kinds[level] {
            OPTIONAL | FALLIBLE | STREAM => level += 1,
            VALUE => return level,
            _ => return usize::MAX,
        }
    }
    usize::MAX
}

/// Stands for the type inside an alias of `Result` or `Option` that takes no type arguments:
/// the signature does not show it, so the reply cannot be read from it.
#[derive(Debug)]
pub struct AliasWithoutTypeArguments;

#[cfg(test)]
mod tests {
    use super::*;

    type AppResult<T> = Result<T, String>;
    type Maybe<T> = Option<T>;
    struct Found;

    #[test]
    fn probes_see_through_aliases() {
        assert_eq!(Probe::<AppResult<Found>>::KIND, FALLIBLE);
        assert_eq!(Probe::<Maybe<Found>>::KIND, OPTIONAL);
        assert_eq!(Probe::<()>::KIND, NOTHING);
        assert_eq!(<Probe<Found>>::KIND, VALUE);
        assert_eq!(<Probe<str>>::KIND, VALUE);
    }

    #[test]
    fn resolves_the_name_at_the_value_level() {
        let resolved = resolve_reply(
            &[FALLIBLE, OPTIONAL, VALUE],
            &[Some("AppResult"), Some("Maybe"), Some("Found")],
            None,
        );
        assert!(resolved.fallible);
        assert_eq!(resolved.problem, NAMED);
        assert!(matches!(
            resolved.kind,
            ReplyKind::Optional {
                reply_type: "Found"
            }
        ));
        let unnamed = resolve_reply(&[VALUE], &[None], None);
        assert_eq!(unnamed.problem, UNNAMED);
        let explicit = resolve_reply(&[VALUE], &[None], Some("list"));
        assert_eq!(explicit.problem, NAMED);
        let hidden = resolve_reply(&[FALLIBLE, HIDDEN], &[Some("Reply"), None], None);
        assert_eq!(hidden.problem, HIDDEN_REPLY);
        let unit = resolve_reply(&[FALLIBLE, NOTHING], &[None, None], None);
        assert!(matches!(unit.kind, ReplyKind::Nothing) && unit.fallible);
    }

    #[test]
    fn the_value_level_is_past_results_options_and_streams() {
        assert_eq!(value_level(&[VALUE, HIDDEN]), 0);
        assert_eq!(value_level(&[FALLIBLE, OPTIONAL, VALUE, HIDDEN]), 2);
        assert_eq!(value_level(&[STREAM, FALLIBLE, VALUE, HIDDEN]), 2);
        assert_eq!(value_level(&[FALLIBLE, NOTHING, HIDDEN]), usize::MAX);
        assert_eq!(value_level(&[ROOM_STREAM, HIDDEN]), usize::MAX);
        assert_eq!(value_level(&[FALLIBLE, HIDDEN]), usize::MAX);
    }
}
