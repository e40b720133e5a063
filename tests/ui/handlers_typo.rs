use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

#[exws::message]
async fn ping(_request: Ping) {}

fn main() {
    let _server = exws::Server::with_handlers(exws::handlers![pnig]);
}
