//! The path generated code reaches the runtime through.

use syn::Path;

/// The path of the exws crate: the user's `crate = "..."` when given, else `::exws`.
pub(crate) fn crate_path(explicit: Option<Path>) -> Path {
    explicit.unwrap_or_else(|| syn::parse_quote!(::exws))
}
