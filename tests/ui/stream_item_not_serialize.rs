use exws::message;
use futures_util::Stream;

#[derive(serde::Deserialize)]
struct Watch {}

struct Reading {
    value: f64,
}

#[message]
async fn watch(_request: Watch) -> impl Stream<Item = Reading> {
    futures_util::stream::iter([Reading { value: 1.0 }])
}

fn main() {}
