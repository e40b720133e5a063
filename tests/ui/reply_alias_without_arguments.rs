use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Lookup {}

#[derive(Serialize)]
struct Found {}

type LookupReply = Result<Found, String>;

#[exws::message(reply = "found")]
async fn lookup(_request: Lookup) -> LookupReply {
    Ok(Found {})
}

fn main() {}
