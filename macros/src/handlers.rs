//! `handlers![a, module::b]`: the definitions of the listed handlers, for an explicit server.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Path, Token};

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let paths = match Punctuated::<Path, Token![,]>::parse_terminated.parse2(input) {
        Ok(paths) => paths,
        Err(error) => {
            return syn::Error::new(
                error.span(),
                "expected a comma-separated list of `#[exws::message]` handler functions",
            )
            .to_compile_error()
        }
    };
    let definitions = paths.into_iter().map(|mut path| {
        if let Some(last) = path.segments.last_mut() {
            last.ident = crate::message::definition_ident(&last.ident);
        }
        quote!(&#path)
    });
    quote! {
        ::std::vec![#(#definitions as &'static ::exws::__private::Handler),*]
    }
}
