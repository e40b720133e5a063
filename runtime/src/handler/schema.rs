//! Which of a handler's types have a JSON Schema, decided at the expansion site by type.
//!
//! The code `#[message]` generates asks `(&Of::<T>::new()).__exws_schema()` for its request
//! type and for its reply (or stream item) type. With the `schema` feature, [`ViaJsonSchema`]
//! answers for every `T: schemars::JsonSchema` (a method on `Of<T>` is found before one on
//! `&Of<T>`); every other type falls through to [`WithoutJsonSchema`], which answers `None`.
//! Without the feature only the fallback exists: no user type is asked for any bound, so the
//! feature costs nothing to those who do not turn it on. The macro cannot see the runtime's
//! features; these items are what differ.

use std::marker::PhantomData;

/// Makes the schema of one type, into a generator (which keeps the definitions it refers to).
#[cfg(feature = "schema")]
pub type SchemaFn = fn(&mut schemars::SchemaGenerator) -> schemars::Schema;

/// Without the `schema` feature there is no schema to make: this type has no values.
#[cfg(not(feature = "schema"))]
#[derive(Debug, Clone, Copy)]
pub enum SchemaFn {}

/// Stands for the type `T` in the autoref probe. Never holds a `T`.
#[derive(Debug)]
pub struct Of<T: ?Sized>(PhantomData<fn() -> *const T>);

impl<T: ?Sized> Of<T> {
    /// The probe for `T`.
    pub const fn new() -> Self {
        Of(PhantomData)
    }
}

impl<T: ?Sized> Default for Of<T> {
    fn default() -> Self {
        Of::new()
    }
}

/// Answers for types that implement `schemars::JsonSchema` (with the `schema` feature).
pub trait ViaJsonSchema {
    /// The function that makes the type's schema.
    fn __exws_schema(&self) -> Option<SchemaFn>;
}

#[cfg(feature = "schema")]
fn schema_of<T: ?Sized + schemars::JsonSchema>(
    generator: &mut schemars::SchemaGenerator,
) -> schemars::Schema {
    generator.subschema_for::<T>()
}

#[cfg(feature = "schema")]
impl<T: ?Sized + schemars::JsonSchema> ViaJsonSchema for Of<T> {
    fn __exws_schema(&self) -> Option<SchemaFn> {
        Some(schema_of::<T>)
    }
}

/// Answers for every other type: no schema.
pub trait WithoutJsonSchema {
    /// `None`: the type has no schema.
    fn __exws_schema(&self) -> Option<SchemaFn> {
        None
    }
}

impl<T: ?Sized> WithoutJsonSchema for &Of<T> {}

/// What the generated code found out about a handler's types.
#[derive(Debug, Clone, Copy)]
pub struct HandlerSchemas {
    /// The request type's schema, if it has one.
    pub request: Option<SchemaFn>,
    /// The reply's (for a stream: the item's) schema, if the handler replies with a value of a
    /// type that has one.
    pub reply: Option<SchemaFn>,
}

/// The schemas of a handler that was described without any: a handler `#[message]` did not
/// compile, or a handler written by hand.
pub fn none() -> HandlerSchemas {
    HandlerSchemas {
        request: None,
        reply: None,
    }
}

#[cfg(all(test, feature = "schema"))]
// The borrow is the probe: it is what makes the method on `Of<T>` win over the one on `&Of<T>`.
#[allow(clippy::needless_borrow)]
mod tests {
    #[allow(unused_imports)]
    use super::{Of, ViaJsonSchema as _, WithoutJsonSchema as _};

    struct Plain;

    #[test]
    fn the_probe_tells_types_with_a_schema_from_the_others() {
        assert!((&Of::<u32>::new()).__exws_schema().is_some());
        assert!((&Of::<Plain>::new()).__exws_schema().is_none());
        assert!((&Of::<Vec<String>>::new()).__exws_schema().is_some());
    }
}
