//! `#[message]`: parse the attribute and the function, validate them, expand them.

mod attr;
mod ctxt;
mod expand;
mod model;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(error) => {
            let error = syn::Error::new(
                error.span(),
                "`#[exws::message]` goes on an `async fn` handler",
            )
            .to_compile_error();
            return quote! { #error #item };
        }
    };
    // One error context for the attribute and the signature: every problem in one build.
    let mut ctxt = ctxt::Ctxt::default();
    let args = attr::parse(&mut ctxt, args);
    let krate = args
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::exws));
    match validate::handler(&mut ctxt, &function, args) {
        Some(handler) if ctxt.is_empty() => expand::handler(&function, &handler),
        // Always emit the user's function (IDEs keep completing it) and its hidden item (so
        // that `handlers![f]` adds no second error).
        _ => {
            let errors = ctxt.to_compile_errors();
            // A method is inside an `impl` or a trait, where the hidden item could not go.
            if function.sig.receiver().is_some() {
                return quote! { #errors #function };
            }
            let items = expand::invalid(&function, &krate);
            quote! { #errors #items }
        }
    }
}
