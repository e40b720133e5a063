//! Replies are read from their types: aliases of `Result` and `Option` behave as the real
//! types, and the reply `Type` comes from the first type argument.

use exws::ReplyKind;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Lookup {}

#[derive(Serialize)]
struct Found {}

#[derive(Debug)]
struct LookupError;

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("lookup failed")
    }
}

type AppResult<T> = Result<T, LookupError>;
type Maybe<T> = Option<T>;
type Reply = Found;

#[exws::message(type = "alias")]
async fn alias(_request: Lookup) -> AppResult<Found> {
    Ok(Found {})
}

#[exws::message(type = "nested")]
async fn nested(_request: Lookup) -> AppResult<Maybe<Found>> {
    Ok(None)
}

#[exws::message(type = "unit")]
async fn unit(_request: Lookup) -> AppResult<()> {
    Ok(())
}

#[exws::message(type = "std")]
async fn std_result(_request: Lookup) -> std::io::Result<Found> {
    Ok(Found {})
}

#[exws::message(type = "plain.alias")]
async fn plain_alias(_request: Lookup) -> Reply {
    Found {}
}

#[exws::message(type = "list", reply = "rooms")]
async fn list(_request: Lookup) -> AppResult<Vec<Found>> {
    Ok(Vec::new())
}

#[exws::message(type = "opaque", reply = "opaque.reply")]
async fn opaque(_request: Lookup) -> impl Serialize {
    Found {}
}

fn main() {
    let server = exws::Server::with_handlers(exws::handlers![
        alias,
        nested,
        unit,
        std_result,
        plain_alias,
        list,
        opaque,
    ]);
    let by_type = |message_type: &str| {
        server
            .handlers()
            .into_iter()
            .find(|info| info.message_type() == message_type)
            .expect("listed")
    };
    assert_eq!(by_type("alias").reply_kind(), ReplyKind::Single { reply_type: "Found" });
    assert!(by_type("alias").is_fallible());
    assert_eq!(by_type("alias").error_type(), None);
    assert_eq!(by_type("nested").reply_kind(), ReplyKind::Optional { reply_type: "Found" });
    assert_eq!(by_type("unit").reply_kind(), ReplyKind::Nothing);
    assert!(by_type("unit").is_fallible());
    assert_eq!(by_type("std").reply_type(), Some("Found"));
    assert_eq!(by_type("plain.alias").reply_type(), Some("Reply"));
    assert!(!by_type("plain.alias").is_fallible());
    assert_eq!(by_type("list").reply_type(), Some("rooms"));
    assert_eq!(by_type("opaque").reply_type(), Some("opaque.reply"));
}
