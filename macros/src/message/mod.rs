//! `#[message]`: parse the attribute and the function, validate them, expand them.

mod attr;
mod expand;
mod model;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

/// Name of the hidden static that describes the handler generated for the function `name`.
pub(crate) fn definition_ident(name: &syn::Ident) -> syn::Ident {
    quote::format_ident!("__exws_handler_{}", name)
}

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
    let attributes = syn::parse2::<attr::MessageArgs>(args);
    let handler = attributes.and_then(|attributes| validate::handler(&function, attributes));
    match handler {
        Ok(handler) => expand::handler(&function, &handler),
        // Always emit the user's function so that IDEs keep completing it.
        Err(error) => {
            let error = error.to_compile_error();
            quote! { #error #function }
        }
    }
}
