use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

#[exws::message(crate = "my facade")]
async fn ping(_request: Ping) {}

fn main() {}
