#[exws::message]
struct Ping {}

fn main() {}
