use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

#[exws::message(type = "Error")]
async fn ping(_request: Ping) {}

fn main() {}
