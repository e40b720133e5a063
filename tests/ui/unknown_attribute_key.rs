use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

#[exws::message(name = "ping")]
async fn ping(_request: Ping) {}

fn main() {}
