//! `#[message]`: parse the attribute and the function, validate them, expand them.

mod attr;
mod ctxt;
mod expand;
mod model;
mod pretty;
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
    let krate = crate::krate::crate_path(args.krate.clone());
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

#[cfg(test)]
mod tests {
    use quote::quote;

    /// With `crate = "..."`, the expansion reaches exws only through that path: a renamed
    /// dependency or a facade crate works without `::exws` in scope.
    #[test]
    fn the_crate_option_replaces_every_path_to_exws() {
        let output = super::expand(
            quote!(crate = "facade::exws"),
            quote! {
                async fn ping(request: Ping, connection: Connection) -> Result<Pong, String> {
                    Ok(Pong {})
                }
            },
        )
        .to_string();
        assert!(!output.contains("compile_error"), "{output}");
        let uses = output.matches("exws ::").count();
        let through_facade = output.matches("facade :: exws ::").count();
        assert!(uses > 0);
        assert_eq!(uses, through_facade, "{output}");
    }

    /// The only item named by the user's function name is the hidden struct; no other
    /// generated name is visible outside the expansion.
    #[test]
    fn emits_the_function_and_one_hidden_item() {
        let output: syn::File = syn::parse2(super::expand(
            quote!(),
            quote!(
                pub(crate) async fn ping(request: Ping) {}
            ),
        ))
        .expect("the expansion is a list of items");
        assert_eq!(output.items.len(), 2);
        let syn::Item::Struct(proxy) = &output.items[1] else {
            panic!("not a struct")
        };
        assert_eq!(proxy.ident, "ping");
        assert!(matches!(proxy.vis, syn::Visibility::Restricted(_)));
    }
}
