//! Checks the user's function and builds the [`Handler`] model, reporting every problem at once,
//! each on the user's own tokens.

use super::attr::MessageArgs;
use super::model::{Handler, ReplyKind};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, LitStr, PathArguments, ReturnType, Type};

/// Collects errors so that the user sees all of them in one build.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn spanned(&mut self, tokens: impl quote::ToTokens, message: &str) {
        self.push(syn::Error::new_spanned(tokens, message));
    }
}

pub(crate) fn handler(function: &ItemFn, args: MessageArgs) -> syn::Result<Handler> {
    let mut errors = Errors::default();
    let sig = &function.sig;

    if sig.asyncness.is_none() {
        errors.spanned(sig.fn_token, "exws handlers must be `async fn`");
    }
    if let Some(constness) = &sig.constness {
        errors.spanned(constness, "exws handlers cannot be `const fn`");
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.spanned(unsafety, "exws handlers cannot be `unsafe fn`");
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, "exws handlers cannot declare an ABI");
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, "exws handlers cannot be variadic");
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            "exws handlers cannot be generic: the request and extractor types must be concrete",
        );
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.spanned(where_clause, "exws handlers cannot have a `where` clause");
    }

    let mut argument_types = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.spanned(
                receiver,
                "exws handlers cannot take `self`: write a free `async fn`",
            ),
            FnArg::Typed(typed) => match argument_problem(&typed.ty) {
                Some(problem) => errors.spanned(&typed.ty, problem),
                None => argument_types.push((*typed.ty).clone()),
            },
        }
    }

    let mut types = argument_types.into_iter();
    let request = types.next();
    let message_type = match (&request, args.message_type) {
        (_, Some(explicit)) => Some(explicit),
        (Some(request), None) => match type_name(request) {
            Some(name) if AMBIGUOUS_NAMES.contains(&name.as_str()) => {
                errors.spanned(
                    request,
                    "this request type would name the message `Type` after a standard type \
                     (`Option`, `Vec`, `String`, ...): give the name with \
                     `#[message(type = \"...\")]`, or use a struct of your own",
                );
                None
            }
            Some(name) => Some(LitStr::new(&name, request.span())),
            None => {
                errors.spanned(
                    request,
                    "cannot name the message `Type` after this request type: use a named type \
                     (a struct or enum) or give the name with `#[message(type = \"...\")]`",
                );
                None
            }
        },
        (None, None) => None,
    };
    if request.is_none() && sig.inputs.is_empty() {
        errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            "exws handlers take the request as their first argument, \
             e.g. `async fn calculate(request: CalculateRequest)`",
        ));
    }

    let reply = match &sig.output {
        ReturnType::Default => ReplyKind::Nothing,
        ReturnType::Type(_, ty) => reply_kind(ty),
    };

    if let Some(error) = errors.0 {
        return Err(error);
    }
    match (request, message_type) {
        (Some(request), Some(message_type)) => Ok(Handler {
            message_type,
            request,
            extractors: types.collect(),
            reply,
            reply_name: args.reply,
            name: sig.ident.clone(),
        }),
        // Every path that leaves these empty has pushed an error above.
        _ => Err(syn::Error::new_spanned(&sig.ident, "invalid exws handler")),
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

/// The default message type name: the last path segment, without generics.
fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .map(|segment| segment.ident.to_string()),
        Type::Paren(inner) => type_name(&inner.elem),
        Type::Group(inner) => type_name(&inner.elem),
        _ => None,
    }
}

/// Reads the shape of a return type: `()`, `Option<T>`, `Result<T, E>` or a plain value.
fn reply_kind(ty: &Type) -> ReplyKind {
    match ty {
        Type::Tuple(tuple) if tuple.elems.is_empty() => ReplyKind::Nothing,
        Type::Paren(inner) => reply_kind(&inner.elem),
        Type::Group(inner) => reply_kind(&inner.elem),
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return ReplyKind::Value(ty.clone());
            };
            let type_arguments: Vec<&Type> = match &last.arguments {
                PathArguments::AngleBracketed(args) => args
                    .args
                    .iter()
                    .filter_map(|arg| match arg {
                        GenericArgument::Type(inner) => Some(inner),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            match (last.ident.to_string().as_str(), type_arguments.first()) {
                ("Option", Some(inner)) => ReplyKind::Optional(Box::new(reply_kind(inner))),
                ("Result", Some(inner)) => {
                    let error = type_arguments
                        .get(1)
                        .map_or_else(|| ty.clone(), |e| (*e).clone());
                    ReplyKind::Fallible(Box::new(reply_kind(inner)), error)
                }
                _ => ReplyKind::Value(ty.clone()),
            }
        }
        _ => ReplyKind::Value(ty.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(source: &str) -> syn::Result<Handler> {
        let function: ItemFn = syn::parse_str(source).expect("test source parses");
        handler(&function, MessageArgs::default())
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
        assert!(matches!(handler.reply, ReplyKind::Nothing));
    }

    #[test]
    fn reads_nested_reply_shapes() {
        let handler =
            validate("async fn f(r: Req) -> Result<Option<Resp>, E> { todo() }").expect("valid");
        let ReplyKind::Fallible(inner, _) = handler.reply else {
            panic!("not fallible")
        };
        assert!(matches!(*inner, ReplyKind::Optional(_)));
    }

    #[test]
    fn reports_every_problem_at_once() {
        let error = match validate("fn f<T>(&self, r: &Req) {}") {
            Err(error) => error,
            Ok(_) => panic!("accepted an invalid handler"),
        };
        let messages: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].contains("async fn"));
        assert!(messages.iter().any(|m| m.contains("generic")));
        assert!(messages.iter().any(|m| m.contains("self")));
        assert!(messages.iter().any(|m| m.contains("owned")));
    }

    #[test]
    fn requires_a_request_argument() {
        let Err(error) = validate("async fn f() {}") else {
            panic!("accepted a handler without a request")
        };
        assert!(error.to_string().contains("first argument"));
    }
}
