use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

#[exws::message(type = "")]
async fn ping(_request: Ping) {}

fn main() {}
