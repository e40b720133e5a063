//! Parsing of the arguments of `#[message(...)]`: `type = "..."`, `reply = "..."`,
//! `crate = "..."`, each at most once, each value checked here rather than at start-up.

use super::ctxt::Ctxt;
use exws_protocol::message_type;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{LitStr, Token};

mod kw {
    syn::custom_keyword!(reply);
}

/// The arguments, each `None` when not given.
#[derive(Default)]
pub(crate) struct MessageArgs {
    pub message_type: Option<LitStr>,
    pub reply: Option<LitStr>,
    pub krate: Option<syn::Path>,
}

enum Key {
    Type(Token![type]),
    Reply(kw::reply),
    Crate(Token![crate]),
}

struct Arg {
    key: Key,
    value: LitStr,
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let lookahead = input.lookahead1();
        let key = if lookahead.peek(Token![type]) {
            Key::Type(input.parse()?)
        } else if lookahead.peek(kw::reply) {
            Key::Reply(input.parse()?)
        } else if lookahead.peek(Token![crate]) {
            Key::Crate(input.parse()?)
        } else {
            return Err(lookahead.error());
        };
        input.parse::<Token![=]>()?;
        Ok(Arg {
            key,
            value: input.parse()?,
        })
    }
}

/// Parses the arguments, recording every problem in `ctxt` and keeping what is usable.
pub(crate) fn parse(ctxt: &mut Ctxt, args: proc_macro2::TokenStream) -> MessageArgs {
    let mut parsed = MessageArgs::default();
    let list = match Punctuated::<Arg, Token![,]>::parse_terminated.parse2(args) {
        Ok(list) => list,
        Err(error) => {
            // syn's own message ("expected `type`, `reply` or `crate`") says what is expected.
            ctxt.push(error);
            return parsed;
        }
    };
    for arg in list {
        match arg.key {
            Key::Type(key) => {
                check_type_name(ctxt, &arg.value, "message `Type`");
                if parsed.message_type.replace(arg.value).is_some() {
                    ctxt.spanned(key, "`type` is given twice");
                }
            }
            Key::Reply(key) => {
                check_type_name(ctxt, &arg.value, "reply `Type`");
                if parsed.reply.replace(arg.value).is_some() {
                    ctxt.spanned(key, "`reply` is given twice");
                }
            }
            Key::Crate(key) => {
                let path = match arg.value.parse::<syn::Path>() {
                    Ok(path) => Some(path),
                    Err(error) => {
                        ctxt.push(syn::Error::new(
                            arg.value.span(),
                            format!("`crate` takes the path of the exws crate, e.g. `crate = \"my_facade::exws\"`: {error}"),
                        ));
                        None
                    }
                };
                if let Some(path) = path {
                    if parsed.krate.replace(path).is_some() {
                        ctxt.spanned(key, "`crate` is given twice");
                    }
                }
            }
        }
    }
    parsed
}

/// A `Type` name must be addressable by clients: non-empty, no whitespace or control
/// characters, not one of exws's own `Type`s.
fn check_type_name(ctxt: &mut Ctxt, value: &LitStr, what: &str) {
    let name = value.value();
    if name.is_empty() {
        ctxt.spanned(value, &format!("a {what} cannot be empty"));
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        ctxt.spanned(
            value,
            &format!("a {what} cannot contain whitespace or control characters: clients could not address it"),
        );
    } else if message_type::is_reserved(&name) {
        let reserved: Vec<String> = message_type::RESERVED
            .iter()
            .map(|reserved| format!("`{reserved}`"))
            .collect();
        ctxt.spanned(
            value,
            &format!(
                "`{name}` is a `Type` exws sends itself (reserved: {}): choose another {what}",
                reserved.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn messages(args: proc_macro2::TokenStream) -> Vec<String> {
        let mut ctxt = Ctxt::default();
        parse(&mut ctxt, args);
        ctxt.into_messages()
    }

    #[test]
    fn accepts_every_key_once() {
        let mut ctxt = Ctxt::default();
        let args = parse(
            &mut ctxt,
            quote!(type = "calc.add", reply = "calc.sum", crate = "facade::exws"),
        );
        assert!(ctxt.into_messages().is_empty());
        assert_eq!(
            args.message_type.map(|l| l.value()).as_deref(),
            Some("calc.add")
        );
        assert_eq!(args.reply.map(|l| l.value()).as_deref(), Some("calc.sum"));
        assert!(args.krate.is_some());
    }

    #[test]
    fn checks_values_and_repeats_together() {
        let found = messages(quote!(type = " ping ", reply = "Error", reply = "x", crate = "1x"));
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].contains("whitespace"));
        assert!(found[1].contains("reserved"));
        assert!(found[2].contains("twice"));
        assert!(found[3].contains("`crate` takes the path"));
    }

    #[test]
    fn keeps_syns_message_for_unknown_keys() {
        let found = messages(quote!(name = "x"));
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("expected"), "{found:?}");
    }
}
