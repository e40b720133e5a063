//! Checks the user's function and builds the [`Handler`] model, reporting every problem at once,
//! each on the user's own tokens.

use super::attr::MessageArgs;
use super::ctxt::Ctxt;
use super::model::{Handler, Level, Reply, Shape};
use exws_protocol::message_type;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, LitStr, PathArguments, ReturnType, Type};

/// Checks `function`; `None` when `ctxt` holds at least one error.
pub(crate) fn handler(ctxt: &mut Ctxt, function: &ItemFn, args: MessageArgs) -> Option<Handler> {
    let sig = &function.sig;

    if sig.asyncness.is_none() {
        ctxt.spanned(sig.fn_token, "exws handlers must be `async fn`");
    }
    if let Some(constness) = &sig.constness {
        ctxt.spanned(constness, "exws handlers cannot be `const fn`");
    }
    if let Some(unsafety) = &sig.unsafety {
        ctxt.spanned(unsafety, "exws handlers cannot be `unsafe fn`");
    }
    if let Some(abi) = &sig.abi {
        ctxt.spanned(abi, "exws handlers cannot declare an ABI");
    }
    if let Some(variadic) = &sig.variadic {
        ctxt.spanned(variadic, "exws handlers cannot be variadic");
    }
    if !sig.generics.params.is_empty() {
        ctxt.spanned(
            &sig.generics,
            "exws handlers cannot be generic: the request and extractor types must be concrete",
        );
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        ctxt.spanned(where_clause, "exws handlers cannot have a `where` clause");
    }

    // Each typed argument keeps its position: a rejected first argument is still the request.
    let mut argument_types = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => ctxt.spanned(
                receiver,
                "exws handlers cannot take `self`: write a free `async fn`",
            ),
            FnArg::Typed(typed) => {
                for attr in &typed.attrs {
                    if attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr") {
                        ctxt.spanned(
                            attr,
                            "`#[cfg]` on a handler argument is not supported: the request and \
                             extractors are fixed; put `#[cfg]` on the whole handler, or read the \
                             value inside it",
                        );
                    }
                }
                let usable = match argument_problem(&typed.ty) {
                    Some(problem) => {
                        ctxt.spanned(&typed.ty, problem);
                        false
                    }
                    None => true,
                };
                argument_types.push(((*typed.ty).clone(), usable));
            }
        }
    }

    let mut types = argument_types.into_iter();
    let request = types.next();
    let message_type = match (&request, args.message_type) {
        (_, Some(explicit)) => Some(explicit),
        (Some((request, true)), None) => match type_name(request) {
            Some(name) if AMBIGUOUS_NAMES.contains(&name.as_str()) => {
                ctxt.spanned(
                    request,
                    "this request type would name the message `Type` after a standard type \
                     (`Option`, `Vec`, `String`, ...): give the name with \
                     `#[message(type = \"...\")]`, or use a struct of your own",
                );
                None
            }
            Some(name) if message_type::is_reserved(&name) => {
                ctxt.spanned(
                    request,
                    &format!(
                        "this request type would name the message `Type` `{name}`, which exws \
                         reserves for its own messages: give another name with \
                         `#[message(type = \"...\")]`"
                    ),
                );
                None
            }
            Some(name) => Some(LitStr::new(&name, request.span())),
            None => {
                ctxt.spanned(
                    request,
                    "cannot name the message `Type` after this request type: use a named type \
                     (a struct or enum) or give the name with `#[message(type = \"...\")]`",
                );
                None
            }
        },
        // The argument was refused above; no second error for its name.
        (Some((_, false)), None) | (None, None) => None,
    };
    if request.is_none() && !sig.inputs.iter().any(|i| matches!(i, FnArg::Receiver(_))) {
        ctxt.push(syn::Error::new(
            sig.paren_token.span.join(),
            "exws handlers take the request as their first argument, \
             e.g. `async fn calculate(request: CalculateRequest)`",
        ));
    }

    let reply = reply(ctxt, &sig.output, &sig.ident);
    let extractors: Vec<Type> = types.map(|(ty, _)| ty).collect();

    if !ctxt.is_empty() {
        return None;
    }
    let (request, message_type) = match (request, message_type) {
        (Some((request, _)), Some(message_type)) => (request, message_type),
        // Every path that leaves these empty has pushed an error above.
        _ => return None,
    };
    Some(Handler {
        message_type,
        request,
        extractors,
        reply,
        reply_name: args.reply,
        name: sig.ident.clone(),
        krate: args.krate.unwrap_or_else(|| syn::parse_quote!(::exws)),
        doc: doc_comment(&function.attrs),
    })
}

/// The `#[doc = "..."]` lines, each without one leading space, joined with `\n`.
fn doc_comment(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }),
                ..
            }) => Some(text.value()),
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').map(str::to_owned).unwrap_or(line))
        .collect();
    lines.join("\n").trim().to_owned()
}

/// A type as written, in the usual spacing: `State<Config>`, `api::Calc<u8>`, `(A, B)`.
pub(crate) fn type_text(ty: &Type) -> String {
    let text = ty.to_token_stream().to_string();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let next = chars.peek().copied();
            let previous = out.chars().last();
            let glue_before = matches!(next, Some('<' | '>' | ',' | ':' | ')' | ']'));
            let glue_after = matches!(previous, Some('<' | ':' | '(' | '[' | '&'));
            if glue_before || glue_after {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Reads the return type as a chain of levels (see [`Reply`]).
fn reply(ctxt: &mut Ctxt, output: &ReturnType, name: &syn::Ident) -> Reply {
    let ty = match output {
        ReturnType::Default => {
            return Reply {
                levels: vec![Level {
                    ty: None,
                    shape: Some(Shape::Nothing),
                    name: None,
                    error_type: None,
                }],
                span: (name.span(), name.span()),
            }
        }
        ReturnType::Type(_, ty) => ty,
    };
    let mut levels = Vec::new();
    let mut current: Option<&Type> = Some(ty);
    while let Some(ty) = current.map(ungroup) {
        if let Type::ImplTrait(bounds) = ty {
            // `impl Stream<Item = T>`: a stream whose items are read like a reply.
            let item = stream_item(bounds);
            levels.push(Level {
                ty: None,
                shape: Some(if item.is_some() {
                    Shape::Stream
                } else {
                    Shape::Value
                }),
                name: None,
                error_type: None,
            });
            match item {
                Some(item) => {
                    current = Some(item);
                    continue;
                }
                None => break,
            }
        }
        if let Some(problem) = reply_problem(ty) {
            ctxt.spanned(ty, problem);
            break;
        }
        let arguments = type_arguments(ty);
        levels.push(Level {
            ty: Some(ty.clone()),
            shape: None,
            name: type_name(ty).filter(|name| {
                !AMBIGUOUS_NAMES.contains(&name.as_str()) && !message_type::is_reserved(name)
            }),
            error_type: arguments.get(1).map(|e| type_text(e)),
        });
        current = arguments.first().copied();
    }
    let mut tokens = ty.to_token_stream().into_iter();
    let start = tokens
        .next()
        .map_or_else(|| ty.span(), |token| token.span());
    let end = tokens.last().map_or(start, |token| token.span());
    Reply {
        levels,
        span: (start, end),
    }
}

/// The `T` of an `impl Stream<Item = T>` bound (any path ending in `Stream`: `futures::Stream`,
/// `tokio_stream::Stream`...).
fn stream_item(bounds: &syn::TypeImplTrait) -> Option<&Type> {
    bounds.bounds.iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let segment = bound.path.segments.last()?;
        if segment.ident != "Stream" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &segment.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Item" => Some(&assoc.ty),
            _ => None,
        })
    })
}

fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Paren(inner) => ungroup(&inner.elem),
        Type::Group(inner) => ungroup(&inner.elem),
        _ => ty,
    }
}

/// The type arguments of a path type's last segment.
fn type_arguments(ty: &Type) -> Vec<&Type> {
    let Type::Path(path) = ty else {
        return Vec::new();
    };
    match path.path.segments.last().map(|segment| &segment.arguments) {
        Some(PathArguments::AngleBracketed(args)) => args
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(inner) => Some(inner),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Why a return type cannot be used, if it cannot.
fn reply_problem(ty: &Type) -> Option<&'static str> {
    if contains_impl_trait(ty) {
        return Some(
            "`impl Trait` can only be the whole return type of an exws handler: name this type",
        );
    }
    match ty {
        Type::Never(_) => Some("exws handlers cannot return `!`: return `()` to send no reply"),
        _ => None,
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(_) => true,
        Type::Paren(inner) => contains_impl_trait(&inner.elem),
        Type::Group(inner) => contains_impl_trait(&inner.elem),
        Type::Reference(inner) => contains_impl_trait(&inner.elem),
        Type::Ptr(inner) => contains_impl_trait(&inner.elem),
        Type::Slice(inner) => contains_impl_trait(&inner.elem),
        Type::Array(inner) => contains_impl_trait(&inner.elem),
        Type::Tuple(tuple) => tuple.elems.iter().any(contains_impl_trait),
        Type::Path(path) => path
            .path
            .segments
            .iter()
            .any(|segment| match &segment.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().any(|arg| match arg {
                    GenericArgument::Type(inner) => contains_impl_trait(inner),
                    _ => false,
                }),
                _ => false,
            }),
        _ => false,
    }
}

/// Request type names too generic to be a message `Type` without an explicit `type = "..."`.
const AMBIGUOUS_NAMES: &[&str] = &[
    "Option", "Vec", "Box", "Arc", "Rc", "Result", "HashMap", "BTreeMap", "HashSet", "String",
    "Value", "bool", "char", "str", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32",
    "u64", "u128", "usize", "f32", "f64",
];

/// Why a handler argument of this type cannot work, if it cannot.
fn argument_problem(ty: &Type) -> Option<&'static str> {
    match ty {
        Type::Reference(_) => Some(
            "exws handler arguments must be owned: take the value (`T`), not a reference (`&T`)",
        ),
        Type::ImplTrait(_) => {
            Some("exws handler arguments cannot be `impl Trait`: name a concrete type")
        }
        Type::Infer(_) => Some("exws handler arguments need a concrete type"),
        Type::Never(_) => Some("exws handler arguments cannot be `!`"),
        Type::TraitObject(_) | Type::Slice(_) => {
            Some("exws handler arguments must be sized, owned types")
        }
        Type::Paren(syn::TypeParen { elem, .. }) | Type::Group(syn::TypeGroup { elem, .. }) => {
            argument_problem(elem)
        }
        _ if has_lifetime(ty) => {
            Some("exws handler arguments cannot borrow: use types without lifetime parameters")
        }
        _ => None,
    }
}

fn has_lifetime(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    path.path
        .segments
        .iter()
        .any(|segment| match &segment.arguments {
            PathArguments::AngleBracketed(args) => args.args.iter().any(|arg| match arg {
                GenericArgument::Lifetime(_) => true,
                GenericArgument::Type(inner) => has_lifetime(inner),
                _ => false,
            }),
            _ => false,
        })
}

/// The default message type name: the protocol's naming rule on the path as written (the
/// last segment, without generics).
fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) if path.qself.is_none() && !path.path.segments.is_empty() => {
            let written: Vec<String> = path
                .path
                .segments
                .iter()
                .map(|segment| segment.ident.to_string())
                .collect();
            Some(exws_protocol::type_name(&written.join("::")).to_owned())
        }
        Type::Paren(inner) => type_name(&inner.elem),
        Type::Group(inner) => type_name(&inner.elem),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(source: &str) -> Result<Handler, Vec<String>> {
        let function: ItemFn = syn::parse_str(source).expect("test source parses");
        let mut ctxt = Ctxt::default();
        match handler(&mut ctxt, &function, MessageArgs::default()) {
            Some(handler) => Ok(handler),
            None => Err(ctxt.into_messages()),
        }
    }

    #[test]
    fn names_the_type_after_the_last_segment_without_generics() {
        let handler = validate("async fn f(r: api::v1::Calc<u8>) {}").expect("valid");
        assert_eq!(handler.message_type.value(), "Calc");
        assert!(handler.extractors.is_empty());
    }

    #[test]
    fn splits_request_and_extractors() {
        let handler =
            validate("async fn f(r: Req, c: Connection, s: State<u8>) {}").expect("valid");
        assert_eq!(handler.extractors.len(), 2);
        assert!(matches!(
            handler.reply.levels[0].shape,
            Some(Shape::Nothing)
        ));
    }

    #[test]
    fn reads_the_chain_of_first_type_arguments() {
        let handler = validate("async fn f(r: Req) -> Result<Option<api::Resp>, E> { todo() }")
            .expect("valid");
        let names: Vec<_> = handler
            .reply
            .levels
            .iter()
            .map(|l| l.name.clone())
            .collect();
        assert_eq!(names, [None, None, Some("Resp".to_owned())]);
        assert_eq!(handler.reply.levels[0].error_type.as_deref(), Some("E"));
        let alias = validate("async fn f(r: Req) -> AppResult<Vec<u8>> { todo() }").expect("valid");
        let names: Vec<_> = alias.reply.levels.iter().map(|l| l.name.clone()).collect();
        assert_eq!(names, [Some("AppResult".to_owned()), None, None]);
    }

    #[test]
    fn impl_trait_is_a_value_only_as_the_whole_type() {
        let handler = validate("async fn f(r: Req) -> impl Serialize { 1 }").expect("valid");
        assert!(matches!(handler.reply.levels[0].shape, Some(Shape::Value)));
        let error = validate("async fn f(r: Req) -> Option<impl Serialize> { None }")
            .err()
            .expect("refused");
        assert!(error[0].contains("impl Trait"), "{error:?}");
    }

    #[test]
    fn reports_every_problem_at_once() {
        let messages = match validate("fn f<T>(&self, r: &Req) {}") {
            Err(messages) => messages,
            Ok(_) => panic!("accepted an invalid handler"),
        };
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].contains("async fn"));
        assert!(messages.iter().any(|m| m.contains("generic")));
        assert!(messages.iter().any(|m| m.contains("self")));
        assert!(messages.iter().any(|m| m.contains("owned")));
    }

    #[test]
    fn a_refused_first_argument_stays_the_request() {
        let messages = validate("async fn f(r: &Req, c: Connection) {}")
            .err()
            .expect("refused");
        assert_eq!(messages.len(), 1, "{messages:?}");
    }

    #[test]
    fn requires_a_request_argument() {
        let messages = validate("async fn f() {}").err().expect("refused");
        assert!(messages[0].contains("first argument"));
    }

    #[test]
    fn refuses_cfg_on_arguments() {
        let messages = validate("async fn f(r: Req, #[cfg(test)] c: Connection) {}")
            .err()
            .expect("refused");
        assert!(messages[0].contains("`#[cfg]`"), "{messages:?}");
    }

    #[test]
    fn writes_types_in_the_usual_spacing() {
        let ty: Type = syn::parse_str("exws :: State < Vec < (u8 , & 'static str) > >").unwrap();
        assert_eq!(type_text(&ty), "exws::State<Vec<(u8, &'static str)>>");
    }

    #[test]
    fn keeps_the_doc_comment() {
        let handler = validate("/// Adds.\n///\n/// Twice.\nasync fn f(r: Req) {}").expect("valid");
        assert_eq!(handler.doc, "Adds.\n\nTwice.");
    }
}
