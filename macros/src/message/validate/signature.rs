//! Checks of the function's signature: an `async fn` without generics, `self` or ABI, whose
//! arguments are owned, sized and concrete, the first of them the request.

use super::super::ctxt::Ctxt;
use syn::{FnArg, GenericArgument, PathArguments, Signature, Type};

/// Refuses what no handler can be: not `async`, `const`, `unsafe`, an ABI, variadic, generic.
pub(super) fn check_function(ctxt: &mut Ctxt, sig: &Signature) {
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
}

/// The typed arguments in order, each with whether it is usable. Each keeps its position: a
/// rejected first argument is still the request.
pub(super) fn arguments(ctxt: &mut Ctxt, sig: &Signature) -> Vec<(Type, bool)> {
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
    argument_types
}

/// Refuses a function without a request argument (a method's `self` was refused already).
pub(super) fn require_request(ctxt: &mut Ctxt, sig: &Signature, has_request: bool) {
    if !has_request && !sig.inputs.iter().any(|i| matches!(i, FnArg::Receiver(_))) {
        ctxt.push(syn::Error::new(
            sig.paren_token.span.join(),
            "exws handlers take the request as their first argument, \
             e.g. `async fn calculate(request: CalculateRequest)`",
        ));
    }
}

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
