//! Types written back as text, for the registry's descriptions and the runtime's messages.

use quote::ToTokens;
use syn::Type;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_types_in_the_usual_spacing() {
        let ty: Type = syn::parse_str("exws :: State < Vec < (u8 , & 'static str) > >").unwrap();
        assert_eq!(type_text(&ty), "exws::State<Vec<(u8, &'static str)>>");
    }
}
