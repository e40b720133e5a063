#[exws::message]
async fn ping<T: serde::de::DeserializeOwned + Send + 'static>(_request: T) {}

fn main() {}
