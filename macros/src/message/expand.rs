//! Code generation for `#[message]`.

use super::model::{Handler, ReplyKind};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::ItemFn;

pub(crate) fn handler(function: &ItemFn, handler: &Handler) -> TokenStream {
    let vis = &function.vis;
    let name = &handler.name;
    let name_string = name.to_string();
    let message_type = &handler.message_type;
    let request = &handler.request;
    let definition = super::definition_ident(name);

    let extractor_idents: Vec<_> = (0..handler.extractors.len())
        .map(|index| format_ident!("__exws_argument_{}", index))
        .collect();
    let extract = handler
        .extractors
        .iter()
        .zip(&extractor_idents)
        .map(|(ty, ident)| {
            quote_spanned! {ty.span()=>
                let #ident = match <#ty as ::exws::FromContext>::from_context(&__exws_context).await {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(rejection) => {
                        return ::exws::__private::Outcome::rejected(rejection);
                    }
                };
            }
        });

    // Without an explicit name, the reply type's name is worked out once per handler.
    let reply_name = match &handler.reply_name {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::Some({
            static __EXWS_REPLY_NAME: ::exws::__private::ReplyName =
                ::exws::__private::ReplyName::new();
            __EXWS_REPLY_NAME.of(&__exws_value)
        })),
    };
    // The output binding carries the return type's span, so that "not `Serialize`" points
    // at the user's return type.
    let output = match &handler.reply {
        ReplyKind::Value(ty) => syn::Ident::new("__exws_output", ty.span()),
        _ => format_ident!("__exws_output"),
    };
    let outcome = outcome(&handler.reply, quote!(#output), &reply_name, 0);

    let decode = quote_spanned! {request.span()=>
        __exws_call.decode::<#request>()?
    };

    // Never called: makes the compiler check, with errors on the user's tokens, that the
    // handler's future is `Send` (the server runs it on a multi-threaded runtime).
    let probe_params = std::iter::once(request)
        .chain(&handler.extractors)
        .enumerate()
        .map(|(index, ty)| {
            let ident = format_ident!("__exws_probe_{}", index);
            quote!(#ident: #ty)
        });
    let probe_args =
        (0..=handler.extractors.len()).map(|index| format_ident!("__exws_probe_{}", index));
    let send_check = quote_spanned! {name.span()=>
        ::exws::__private::assert_send_future(#name(#(#probe_args),*));
    };

    // Spanned at the function's name: if the handler's future is not `Send`, this error
    // (besides the probe's) also points at the user's function.
    let boxed_future = quote_spanned! {name.span()=>
        ::exws::__private::Outcome::future(async move {
            #(#extract)*
            let #output = #name(__exws_request #(, #extractor_idents)*).await;
            #outcome
        })
    };

    quote! {
        #function

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis static #definition: ::exws::__private::Handler = {
            #[allow(dead_code, unused_variables, clippy::too_many_arguments)]
            fn __exws_probe(#(#probe_params),*) {
                #send_check
            }

            fn __exws_call(
                __exws_call: ::exws::__private::Call<'_>,
            ) -> ::exws::__private::CallResult {
                let __exws_request = #decode;
                let __exws_context = __exws_call.context();
                let __exws_reply_to = __exws_call.reply_to();
                #boxed_future
            }

            ::exws::__private::Handler::new(
                #message_type,
                #name_string,
                ::core::module_path!(),
                ::core::file!(),
                ::core::line!(),
                __exws_call,
            )
        };

        ::exws::__private::inventory::submit! {
            ::exws::__private::Registered(&#definition)
        }
    }
}

/// Code turning the value `value` of a return type of shape `kind` into an `Outcome`.
fn outcome(
    kind: &ReplyKind,
    value: TokenStream,
    reply_name: &TokenStream,
    depth: usize,
) -> TokenStream {
    let inner = format_ident!("__exws_inner_{}", depth);
    match kind {
        ReplyKind::Nothing => quote! {{
            let () = #value;
            ::exws::__private::Outcome::nothing()
        }},
        ReplyKind::Value(ty) => {
            // Rebind with the type's span so the "not `Serialize`" error points at it.
            let spanned = syn::Ident::new("__exws_value", ty.span());
            quote_spanned! {ty.span()=>
                {
                    let #spanned = #value;
                    ::exws::__private::Outcome::reply(&__exws_reply_to, &#spanned, #reply_name)
                }
            }
        }
        ReplyKind::Optional(kind) => {
            let some = outcome(kind, quote!(#inner), reply_name, depth + 1);
            quote! {
                match #value {
                    ::core::option::Option::Some(#inner) => #some,
                    ::core::option::Option::None => ::exws::__private::Outcome::nothing(),
                }
            }
        }
        ReplyKind::Fallible(kind, error) => {
            let ok = outcome(kind, quote!(#inner), reply_name, depth + 1);
            // The error binding carries the error type's span: "not `Display`" points at it.
            let error_binding = syn::Ident::new(&format!("__exws_error_{depth}"), error.span());
            let failed = quote_spanned! {error.span()=>
                ::exws::__private::Outcome::failed(&#error_binding)
            };
            quote! {
                match #value {
                    ::core::result::Result::Ok(#inner) => #ok,
                    ::core::result::Result::Err(#error_binding) => #failed,
                }
            }
        }
    }
}
