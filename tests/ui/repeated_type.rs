use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

#[exws::message(type = "ping", type = "pong")]
async fn ping(_request: Ping) {}

fn main() {}
