#[exws::message]
async fn ping() {}

fn main() {}
