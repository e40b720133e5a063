use serde::Deserialize;
use std::rc::Rc;

#[derive(Deserialize)]
struct Ping {}

#[exws::message]
async fn ping(_request: Ping) {
    let counter = Rc::new(1);
    tokio::task::yield_now().await;
    drop(counter);
}

fn main() {}
