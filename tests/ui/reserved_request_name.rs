use serde::Deserialize;

#[derive(Deserialize)]
struct StreamCancel {}

#[exws::message]
async fn cancel(_request: StreamCancel) {}

fn main() {}
