use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

#[exws::message(type = " ping ")]
async fn ping(_request: Ping) {}

fn main() {}
