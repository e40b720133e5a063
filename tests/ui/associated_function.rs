use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

struct Service;

impl Service {
    #[exws::message]
    async fn ping(_request: Ping) {}
}

fn main() {}
