use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

#[exws::message]
fn ping(_request: Ping) {}

fn main() {}
