use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

#[exws::message]
async fn ping(_request: Ping) -> impl serde::Serialize {
    1
}

fn main() {}
