//! Stream handlers: items named after their type, `Result` items (aliases included), a named
//! item type, a channel fed elsewhere, a room subscription behind a `Result`.

use exws::{message, Connection, Hub, HubError, RoomSubscription};
use futures_util::Stream;

#[derive(serde::Deserialize)]
struct Watch {}

#[derive(serde::Serialize)]
struct Reading {
    value: f64,
}

type Fallible<T> = Result<T, String>;

#[message]
async fn watch(_request: Watch) -> impl Stream<Item = Reading> {
    futures_util::stream::iter([Reading { value: 1.0 }])
}

#[message(type = "watch.fallible")]
async fn watch_fallible(_request: Watch) -> impl Stream<Item = Fallible<Reading>> {
    futures_util::stream::iter([Ok(Reading { value: 1.0 }), Err("sensor lost".to_owned())])
}

#[message(type = "lines", reply = "Line")]
async fn lines(_request: Watch) -> impl Stream<Item = String> + Send {
    let (sender, items) = exws::stream::channel(4);
    tokio::spawn(async move {
        let _ = sender.send("one".to_owned()).await;
    });
    items
}

#[message(type = "subscribe")]
async fn subscribe(_request: Watch, connection: Connection, hub: Hub) -> Result<RoomSubscription, HubError> {
    hub.subscribe(&connection, "sensors").await
}

fn main() {
    let server = exws::Server::with_handlers(exws::handlers![watch, watch_fallible, lines, subscribe]);
    let kinds: Vec<_> = server.handlers().iter().map(|info| info.reply_kind()).collect();
    assert!(kinds.contains(&exws::ReplyKind::Stream { item_type: "Reading" }));
    assert!(kinds.contains(&exws::ReplyKind::Stream { item_type: "Line" }));
    assert!(kinds.contains(&exws::ReplyKind::RoomStream));
}
