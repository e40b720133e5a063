#[derive(serde::Deserialize)]
struct Ping {}

fn main() {
    let _server = exws::Server::with_handlers(exws::handlers![Ping]);
}
