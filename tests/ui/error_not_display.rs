use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Ping {}

#[derive(Serialize)]
struct Pong {}

#[derive(Debug)]
struct PingError;

#[exws::message]
async fn ping(_request: Ping) -> Result<Pong, PingError> {
    Err(PingError)
}

fn main() {}
