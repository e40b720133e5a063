use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

// One mistake, one error: listing the handler adds none.
#[exws::message]
fn ping(_request: Ping) {}

fn main() {
    let _server = exws::Server::with_handlers(exws::handlers![ping]);
}
