#[exws::message]
async fn ping(_request: impl serde::de::DeserializeOwned) {}

fn main() {}
