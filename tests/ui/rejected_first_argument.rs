use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

// The reference is the only mistake: `Connection` does not become the request.
#[exws::message]
async fn ping(_request: &Ping, _connection: exws::Connection) {}

fn main() {}
