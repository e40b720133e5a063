//! Every supported handler shape compiles.

use exws::{Connection, Context, FromContext, Rejection, State};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Ping {}

#[derive(Serialize)]
struct Pong {}

#[derive(Clone)]
struct Config;

struct Admin;

impl FromContext for Admin {
    async fn from_context(_context: &Context) -> Result<Self, Rejection> {
        Err(Rejection::unauthorized("no"))
    }
}

mod api {
    #[derive(serde::Deserialize)]
    pub struct Request<T> {
        pub value: T,
    }
}

#[exws::message]
async fn unit(_request: Ping) {}

#[exws::message(type = "reply")]
async fn reply(_request: Ping) -> Pong {
    Pong {}
}

#[exws::message(type = "optional", reply = "maybe.pong")]
async fn optional(_request: Option<Ping>) -> Option<Pong> {
    None
}

#[exws::message(type = "fallible")]
async fn fallible(_request: Ping) -> Result<Option<Pong>, String> {
    Ok(None)
}

#[exws::message(type = "fallible.unit")]
async fn fallible_unit(_request: Ping) -> Result<(), std::io::Error> {
    Ok(())
}

#[exws::message(type = "extractors")]
async fn extractors(
    _request: api::Request<u32>,
    _connection: Connection,
    _context: Context,
    State(_config): State<Config>,
    _admin: Option<Admin>,
    _result: Result<Admin, Rejection>,
) -> Pong {
    Pong {}
}

#[exws::message(type = "json", reply = "json")]
async fn json(request: serde_json::Value) -> serde_json::Value {
    request
}

pub mod public {
    #[derive(serde::Deserialize)]
    pub struct Tick;

    #[exws::message]
    pub async fn tick(_request: Tick) {}
}

fn main() {
    let _server = exws::Server::with_handlers(exws::handlers![
        unit,
        reply,
        optional,
        fallible,
        fallible_unit,
        extractors,
        json,
        public::tick,
    ])
    .with_state(Config);
}
