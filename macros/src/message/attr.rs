//! Parsing of the arguments of `#[message(...)]`.

use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

mod kw {
    syn::custom_keyword!(reply);
}

/// `#[message(type = "...", reply = "...")]`, both optional, each at most once.
#[derive(Default)]
pub(crate) struct MessageArgs {
    pub message_type: Option<LitStr>,
    pub reply: Option<LitStr>,
}

impl Parse for MessageArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = MessageArgs::default();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(Token![type]) {
                let key: Token![type] = input.parse()?;
                input.parse::<Token![=]>()?;
                let value = name_value(input)?;
                if args.message_type.replace(value).is_some() {
                    return Err(syn::Error::new_spanned(key, "`type` is given twice"));
                }
            } else if lookahead.peek(kw::reply) {
                let key: kw::reply = input.parse()?;
                input.parse::<Token![=]>()?;
                let value = name_value(input)?;
                if args.reply.replace(value).is_some() {
                    return Err(syn::Error::new_spanned(key, "`reply` is given twice"));
                }
            } else {
                return Err(lookahead.error());
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

/// A message type name: a non-empty string literal.
fn name_value(input: ParseStream<'_>) -> syn::Result<LitStr> {
    let value: LitStr = input.parse()?;
    if value.value().trim().is_empty() {
        return Err(syn::Error::new_spanned(
            &value,
            "a message type name cannot be empty",
        ));
    }
    Ok(value)
}
