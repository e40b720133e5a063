//! Checks the user's function and builds the [`Handler`] model, reporting every problem at once,
//! each on the user's own tokens: the signature ([`signature`]), the message `Type` named after
//! the request ([`naming`]), and the return type read as a [`Reply`](super::model::Reply)
//! ([`reply`]).

mod naming;
mod reply;
mod signature;

use super::attr::MessageArgs;
use super::ctxt::Ctxt;
use super::model::Handler;
use crate::krate::crate_path;
use syn::{ItemFn, Type};

/// Checks `function`; `None` when `ctxt` holds at least one error.
pub(crate) fn handler(ctxt: &mut Ctxt, function: &ItemFn, args: MessageArgs) -> Option<Handler> {
    let sig = &function.sig;
    signature::check_function(ctxt, sig);
    let mut types = signature::arguments(ctxt, sig).into_iter();
    let request = types.next();
    let message_type = match (&request, args.message_type) {
        (_, Some(explicit)) => Some(explicit),
        (Some((request, true)), None) => naming::request_message_type(ctxt, request),
        // The argument was refused above; no second error for its name.
        (Some((_, false)) | None, None) => None,
    };
    signature::require_request(ctxt, sig, request.is_some());

    let reply = reply::reply(ctxt, &sig.output, &sig.ident);
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
        krate: crate_path(args.krate),
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

#[cfg(test)]
mod tests {
    use super::super::model::Shape;
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
    fn keeps_the_doc_comment() {
        let handler = validate("/// Adds.\n///\n/// Twice.\nasync fn f(r: Req) {}").expect("valid");
        assert_eq!(handler.doc, "Adds.\n\nTwice.");
    }
}
