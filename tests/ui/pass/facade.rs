//! `#[message(crate = "...")]` and `handlers![crate = "..."; ...]`: exws reached through a
//! facade module (as a facade crate or a renamed dependency would be).

mod facade {
    pub use exws;
}

#[derive(serde::Deserialize)]
struct Ping {}

#[derive(serde::Serialize)]
struct Pong {}

#[facade::exws::message(crate = "facade::exws")]
async fn ping(_request: Ping, _connection: facade::exws::Connection) -> Result<Pong, String> {
    Ok(Pong {})
}

#[exws::message(crate = "::exws", type = "explicit")]
async fn explicit(_request: Ping) {}

fn main() {
    let list = facade::exws::handlers![crate = "facade::exws"; ping, explicit];
    assert_eq!(list[0].info().reply_type(), Some("Pong"));
    assert_eq!(list[0].info().extractors(), ["facade::exws::Connection"]);
}
