use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Ping {}

#[derive(Serialize)]
struct Pong {}

#[derive(Debug)]
struct PingError;

type PingResult<T> = Result<T, PingError>;

#[exws::message]
async fn ping(_request: Ping) -> PingResult<Pong> {
    Ok(Pong {})
}

fn main() {}
