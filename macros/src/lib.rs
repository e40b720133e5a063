//! Procedural macros of [exws](https://docs.rs/exws). Use them through the `exws` crate
//! (`exws::message`, `exws::handlers!`): the generated code refers to `::exws`.

mod handlers;
mod krate;
mod message;

use proc_macro::TokenStream;

/// Turns an `async fn` into a registered exws message handler.
///
/// See the `exws` crate documentation for the full description.
#[proc_macro_attribute]
pub fn message(args: TokenStream, item: TokenStream) -> TokenStream {
    message::expand(args.into(), item.into()).into()
}

/// Lists handlers explicitly, for servers that should not serve every registered handler.
///
/// See the `exws` crate documentation for the full description.
#[proc_macro]
pub fn handlers(input: TokenStream) -> TokenStream {
    handlers::expand(input.into()).into()
}
