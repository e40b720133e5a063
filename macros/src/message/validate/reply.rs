//! The reply model: the return type read as a chain of levels, each a type the compiler is
//! asked about, or a shape known from the syntax (`impl Trait`, `impl Stream`, no type).

use super::super::ctxt::Ctxt;
use super::super::model::{Level, Reply, Shape};
use super::super::pretty::type_text;
use super::naming::reply_message_type;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, ReturnType, Type};

/// Reads the return type as a chain of levels (see [`Reply`]).
pub(super) fn reply(ctxt: &mut Ctxt, output: &ReturnType, name: &syn::Ident) -> Reply {
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
            name: reply_message_type(ty),
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
