use serde::Deserialize;

#[derive(Deserialize)]
struct Ping {}

#[exws::message(reply = "pong")]
async fn ping(_request: Ping) -> Option<impl serde::Serialize> {
    Some(1)
}

fn main() {}
