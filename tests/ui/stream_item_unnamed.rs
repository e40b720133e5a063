use exws::message;
use futures_util::Stream;

#[derive(serde::Deserialize)]
struct Lines {}

#[message]
async fn lines(_request: Lines) -> impl Stream<Item = String> {
    futures_util::stream::empty()
}

fn main() {}
