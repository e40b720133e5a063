use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

// Both mistakes are reported in one build.
#[exws::message(type = "")]
fn ping(_request: Ping) {}

fn main() {}
