//! Code generation for `#[message]`.
//!
//! Next to the user's function, one item: a hidden struct named like the function, in the type
//! namespace (Rocket's route proxy), so that `handlers![path::f]` resolves through it with the
//! function's visibility, re-exports and renames. Everything else (the handler's static, its
//! `inventory` registration, the compile-time checks) sits inside that struct's definition, in
//! the constant of a zero-sized field: one item, valid wherever the function is.

use super::model::{Handler, Shape};
use super::pretty::type_text;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{ItemFn, Path};

/// The attributes of the function that the hidden item must share: `#[cfg]` (so that it
/// exists exactly when the function does) and `#[deprecated]` (so that `handlers![f]` warns as
/// a call of `f` would).
fn shared_attributes(function: &ItemFn) -> TokenStream {
    let attrs = function
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg") || attr.path().is_ident("deprecated"));
    quote!(#(#attrs)*)
}

/// The hidden struct named like the function, holding `items` in its definition.
fn proxy(function: &ItemFn, items: TokenStream) -> TokenStream {
    let vis = &function.vis;
    let name = &function.sig.ident;
    let attrs = shared_attributes(function);
    quote! {
        #attrs
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {
            __exws_handler: [(); {
                #items
                0
            }],
        }
    }
}

/// What is emitted next to an invalid function: the function itself (IDEs keep completing it)
/// and its hidden struct, bound to a handler that cannot run, so that `handlers![f]` adds no
/// error of its own. The program does not compile, so that handler never runs.
pub(crate) fn invalid(function: &ItemFn, krate: &Path) -> TokenStream {
    let name = &function.sig.ident;
    let name_string = name.to_string();
    let items = quote! {
        #[allow(deprecated, non_local_definitions)]
        impl #krate::__private::HandlerItem for #name {
            const HANDLER: &'static #krate::__private::Handler = {
                static __EXWS_HANDLER: #krate::__private::Handler =
                    #krate::__private::Handler::not_compiled(#name_string);
                &__EXWS_HANDLER
            };
        }
    };
    let proxy = proxy(function, items);
    quote! {
        #function
        #proxy
    }
}

pub(crate) fn handler(function: &ItemFn, handler: &Handler) -> TokenStream {
    let krate = &handler.krate;
    let private = quote!(#krate::__private);
    let reply_mod = quote!(#private::reply);
    let name = &handler.name;
    let name_string = name.to_string();
    let message_type = &handler.message_type;
    let request = &handler.request;
    let request_text = type_text(request);
    let extractor_texts: Vec<String> = handler.extractors.iter().map(type_text).collect();
    let doc = &handler.doc;

    // The reply: the shape of each level of the written return type, asked of the compiler,
    // and the name each level would give.
    let levels = &handler.reply.levels;
    let count = levels.len() + 1;
    let kinds = levels
        .iter()
        .map(|level| match (&level.shape, &level.ty) {
            (Some(Shape::Value), _) => quote!(#reply_mod::VALUE),
            (Some(Shape::Nothing), _) => quote!(#reply_mod::NOTHING),
            (Some(Shape::Stream), _) => quote!(#reply_mod::STREAM),
            (None, Some(ty)) => quote_spanned!(ty.span()=> <#reply_mod::Probe<#ty>>::KIND),
            (None, None) => quote!(#reply_mod::HIDDEN),
        })
        .chain(std::iter::once(quote!(#reply_mod::HIDDEN)));
    let names = levels
        .iter()
        .map(|level| option_str(level.name.as_deref()))
        .chain(std::iter::once(quote!(::core::option::Option::None)));
    let error_types = levels
        .iter()
        .map(|level| option_str(level.error_type.as_deref()))
        .chain(std::iter::once(quote!(::core::option::Option::None)));
    let explicit = match &handler.reply_name {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    // The `IntoOutcome` marker, from the innermost level out.
    let mut marker = quote!(#reply_mod::Value);
    for index in (0..levels.len()).rev() {
        let inner = match levels.get(index + 1).and_then(|level| level.ty.as_ref()) {
            Some(ty) => ty.to_token_stream(),
            None => quote!(#reply_mod::AliasWithoutTypeArguments),
        };
        marker = quote! {
            <#reply_mod::Shape<{ __EXWS_KINDS[#index] }> as #reply_mod::Select<#inner, #marker>>::Marker
        };
    }
    let (reply_start, reply_end) = handler.reply.span;
    let flag = quote!(#reply_mod::Flag<{ __EXWS_REPLY.problem == #reply_mod::UNNAMED }>);
    let name_check_path = respan_range(
        quote!(#reply_mod::assert_reply_named::<#flag>),
        reply_start,
        reply_end,
    );
    let name_check = quote! {
        const _: () = #name_check_path();
    };
    // With the written return type as the self type, an unsatisfied bound underlines it
    // whole; `impl Trait` cannot be written there and is inferred.
    let written = match levels.first().and_then(|level| level.ty.as_ref()) {
        Some(ty) => ty.to_token_stream(),
        None => respan(quote!(_), reply_start),
    };
    let into_outcome = respan(
        quote!(#reply_mod::IntoOutcome<__ExwsMarker>>::into_outcome),
        reply_start,
    );
    let lt = respan(quote!(<), reply_start);
    let finish = quote!(#lt #written as #into_outcome);
    let run_path = respan(quote!(#private::run), name.span());

    // The schemas: asked of each type by autoref (`schema` feature of the runtime), so that a
    // type without `JsonSchema` still compiles and is reported when a contract is asked for.
    let schema_mod = quote!(#private::schema);
    let value_arms = levels.iter().enumerate().filter_map(|(index, level)| {
        level.ty.as_ref().map(|ty| {
            quote! {
                #index => (&#schema_mod::Of::<#ty>::new()).__exws_schema(),
            }
        })
    });

    let extractor_types = &handler.extractors;
    let extractor_idents: Vec<_> = (0..handler.extractors.len())
        .map(|index| format_ident!("__exws_argument_{}", index))
        .collect();
    let extract = handler
        .extractors
        .iter()
        .zip(&extractor_idents)
        .map(|(ty, ident)| {
            quote_spanned! {ty.span()=>
                let #ident = <#ty as #krate::FromContext>::from_context(&__exws_context).await?;
            }
        });
    let decode = quote_spanned! {request.span()=>
        __exws_call.decode::<#request>()?
    };
    // Spanned at the function's name: if the handler's future is not `Send`, the error says
    // "future returned by `name` is not `Send`" there.
    let run = quote_spanned! {name.span()=>
        #run_path(
            async move {
                #(#extract)*
                ::core::result::Result::Ok(#name(__exws_request #(, #extractor_idents)*))
            },
            #finish,
            __exws_reply_to,
            __EXWS_REPLY_TYPE,
        )
    };

    let items = quote! {
        #[allow(unused_imports)]
        use #reply_mod::ProbeValue as _;

        const __EXWS_KINDS: [u8; #count] = [#(#kinds),*];
        const __EXWS_REPLY: #reply_mod::Resolved = #reply_mod::resolve_reply(
            &__EXWS_KINDS,
            &[#(#names),*],
            #explicit,
        );
        const __EXWS_REPLY_TYPE: &str = match __EXWS_REPLY.kind.reply_type() {
            ::core::option::Option::Some(name) => name,
            ::core::option::Option::None => "",
        };
        #name_check
        type __ExwsMarker = #marker;

        #[allow(deprecated)]
        fn __exws_call(__exws_call: #private::Call<'_>) -> #private::CallResult {
            let __exws_request = #decode;
            let __exws_context = __exws_call.context();
            let __exws_reply_to = __exws_call.reply_to();
            #run
        }

        #[allow(unused_imports)]
        fn __exws_schemas() -> #schema_mod::HandlerSchemas {
            use #schema_mod::{ViaJsonSchema as _, WithoutJsonSchema as _};
            #schema_mod::HandlerSchemas {
                request: (&#schema_mod::Of::<#request>::new()).__exws_schema(),
                reply: match #reply_mod::value_level(&__EXWS_KINDS) {
                    #(#value_arms)*
                    _ => ::core::option::Option::None,
                },
            }
        }

        fn __exws_requires(__exws_requirements: &mut #krate::extract::Requirements) {
            #(<#extractor_types as #krate::FromContext>::requirements(__exws_requirements);)*
        }

        static __EXWS_HANDLER: #private::Handler = #private::Handler::new(
            #private::HandlerInfo::new(
                #private::Signature {
                    message_type: #message_type,
                    request_type: #request_text,
                    reply: __EXWS_REPLY.kind,
                    fallible: __EXWS_REPLY.fallible,
                    error_type: #reply_mod::error_type(&__EXWS_KINDS, &[#(#error_types),*]),
                    extractors: &[#(#extractor_texts),*],
                    doc: #doc,
                },
                #private::Origin {
                    function: #name_string,
                    module_path: ::core::module_path!(),
                    file: ::core::file!(),
                    line: ::core::line!(),
                },
            )
            .describing(__exws_schemas),
            __exws_call,
        )
        .requiring(__exws_requires);

        // Inside the struct's own definition, which is what keeps the whole expansion one item;
        // the struct is the impl's only subject.
        #[allow(deprecated, non_local_definitions)]
        impl #private::HandlerItem for #name {
            const HANDLER: &'static #private::Handler = &__EXWS_HANDLER;
        }

        #private::inventory::submit! {
            #private::Registered(&__EXWS_HANDLER)
        }
    };
    let proxy = proxy(function, items);
    quote! {
        #function
        #proxy
    }
}

/// `tokens` spanning `start..end`: every span set to `start`, the last token's to `end`, so that
/// an error about them underlines the whole user type they stand for.
fn respan_range(
    tokens: TokenStream,
    start: proc_macro2::Span,
    end: proc_macro2::Span,
) -> TokenStream {
    let mut trees: Vec<proc_macro2::TokenTree> = respan(tokens, start).into_iter().collect();
    if let Some(last) = trees.last_mut() {
        last.set_span(end);
    }
    trees.into_iter().collect()
}

/// `tokens` with every span set to `span`, so that an error about them points at the user's
/// token the span comes from (tokens interpolated into `quote_spanned!` keep their own spans).
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

fn option_str(value: Option<&str>) -> TokenStream {
    match value {
        Some(text) => quote!(::core::option::Option::Some(#text)),
        None => quote!(::core::option::Option::None),
    }
}
