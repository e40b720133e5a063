//! `handlers![a, module::b]`: the definitions of the listed handlers, for an explicit server.
//!
//! Each path names the hidden struct `#[message]` generates next to the function, in the type
//! namespace: visibility, `use` re-exports and renames apply to it as to the function, and
//! every error names the user's path.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{LitStr, Path, Token};

/// `crate = "path";` before the list, for a renamed exws or a facade crate.
struct CratePrefix(Option<Path>);

impl Parse for CratePrefix {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if !(input.peek(Token![crate]) && input.peek2(Token![=])) {
            return Ok(CratePrefix(None));
        }
        input.parse::<Token![crate]>()?;
        input.parse::<Token![=]>()?;
        let path: LitStr = input.parse()?;
        input.parse::<Token![;]>()?;
        Ok(CratePrefix(Some(path.parse()?)))
    }
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let parser = |input: ParseStream<'_>| {
        let prefix: CratePrefix = input.parse()?;
        let paths = Punctuated::<Path, Token![,]>::parse_terminated(input)?;
        Ok((prefix, paths))
    };
    let (prefix, paths) = match parser.parse2(input) {
        Ok(parsed) => parsed,
        Err(error) => {
            return syn::Error::new(
                error.span(),
                format!(
                "expected a comma-separated list of `#[exws::message]` handler functions: {error}"
            ),
            )
            .to_compile_error()
        }
    };
    let krate = crate::krate::crate_path(prefix.0);
    let definitions = paths.iter().map(|path| {
        quote_spanned! {path.span()=>
            <#path as #krate::__private::HandlerItem>::HANDLER
        }
    });
    quote! {
        <::std::vec::Vec<&'static #krate::Handler>>::from([#(#definitions),*])
    }
}
