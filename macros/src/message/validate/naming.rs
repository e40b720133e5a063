//! The default message `Type` of a handler, named after its request type, and the reply
//! `Type` a return type would give.

use super::super::ctxt::Ctxt;
use exws_protocol::message_type;
use syn::spanned::Spanned;
use syn::{LitStr, Type};

/// Request type names too generic to be a message `Type` without an explicit `type = "..."`.
const AMBIGUOUS_NAMES: &[&str] = &[
    "Option", "Vec", "Box", "Arc", "Rc", "Result", "HashMap", "BTreeMap", "HashSet", "String",
    "Value", "bool", "char", "str", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32",
    "u64", "u128", "usize", "f32", "f64",
];

/// The naming rule of `Type`s, the one the runtime applies to a Rust type's name: the last
/// path segment, without generics (`api::v1::Calc<u8>` is `Calc`). `None` for a type without
/// a name (a tuple, a reference...).
pub(super) fn message_type_name(ty: &Type) -> Option<String> {
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
        Type::Paren(inner) => message_type_name(&inner.elem),
        Type::Group(inner) => message_type_name(&inner.elem),
        _ => None,
    }
}

/// The message `Type` named after `request`, or an error on it when that name is a standard
/// type's, one exws reserves, or missing.
pub(super) fn request_message_type(ctxt: &mut Ctxt, request: &Type) -> Option<LitStr> {
    match message_type_name(request) {
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
    }
}

/// The reply `Type` a return type would give, when its name is a good one.
pub(super) fn reply_message_type(ty: &Type) -> Option<String> {
    message_type_name(ty).filter(|name| {
        !AMBIGUOUS_NAMES.contains(&name.as_str()) && !message_type::is_reserved(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of(source: &str) -> Option<String> {
        message_type_name(&syn::parse_str(source).expect("test type parses"))
    }

    #[test]
    fn names_a_type_after_its_last_segment_without_generics() {
        assert_eq!(name_of("api::v1::Calc<u8>").as_deref(), Some("Calc"));
        assert_eq!(name_of("(Calc)").as_deref(), Some("Calc"));
        assert_eq!(name_of("(A, B)"), None);
        assert_eq!(name_of("<T as Trait>::Assoc"), None);
    }

    #[test]
    fn a_reply_is_not_named_after_a_standard_or_reserved_type() {
        let reply = |source: &str| reply_message_type(&syn::parse_str(source).unwrap());
        assert_eq!(reply("api::Sum").as_deref(), Some("Sum"));
        assert_eq!(reply("Vec<Sum>"), None);
        assert_eq!(reply("StreamEnd"), None);
    }
}
