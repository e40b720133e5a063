#[exws::message]
async fn add(_request: (i64, i64)) {}

fn main() {}
