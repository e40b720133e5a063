use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

struct Pong {}

#[exws::message]
async fn ping(_request: Ping) -> Pong {
    Pong {}
}

fn main() {}
