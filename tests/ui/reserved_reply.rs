use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

#[exws::message(reply = "StreamEnd")]
async fn ping(_request: Ping) -> u8 {
    1
}

fn main() {}
