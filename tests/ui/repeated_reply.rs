use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Ping {}

#[derive(Serialize)]
struct Pong {}

#[exws::message(reply = "pong", reply = "pong2")]
async fn ping(_request: Ping) -> Pong {
    Pong {}
}

fn main() {}
