use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

#[exws::message]
async fn ping(_request: Ping, #[cfg(any())] _connection: exws::Connection) {}

fn main() {}
