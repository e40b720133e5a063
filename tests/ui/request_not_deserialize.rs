struct Ping {}

#[exws::message]
async fn ping(_request: Ping) {}

fn main() {}
