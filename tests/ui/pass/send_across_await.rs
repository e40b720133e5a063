//! A `!Send` value dropped before the `.await` keeps the handler's future `Send`.

use serde::Deserialize;
use std::rc::Rc;

#[derive(Deserialize)]
struct Ping {}

#[exws::message]
async fn ping(_request: Ping) {
    let total = {
        let counter = Rc::new(1);
        *counter + 1
    };
    tokio::task::yield_now().await;
    let _ = total;
}

fn main() {
    let _server = exws::Server::with_handlers(exws::handlers![ping]);
}
